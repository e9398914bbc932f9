package resolver

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzAnswer feeds a DNS server's bytes through what the resolver does
// with them: unpack, follow the CNAME chain, take the records asked for.
func FuzzAnswer(f *testing.F) {
	seed := func(records ...string) []byte {
		m := new(dns.Msg)
		m.SetQuestion("corp.test.", dns.TypeA)
		for _, r := range records {
			rr, err := dns.NewRR(r)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed("corp.test. 60 IN A 192.0.2.1"))
	f.Add(seed("corp.test. 60 IN CNAME a.corp.test.", "a.corp.test. 60 IN CNAME corp.test."))
	f.Add(seed("corp.test. 60 IN SRV 0 0 0 ."))
	f.Add(seed("corp.test. 60 IN MX 10 ."))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := new(dns.Msg)
		if err := in.Unpack(b); err != nil {
			return
		}
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeSRV, dns.TypeTXT} {
			out, target := answerRecords(in, "corp.test.", qt)
			if len(out) > maxRecords {
				t.Fatalf("%d records taken, more than %d", len(out), maxRecords)
			}
			if target == "" {
				t.Fatal("empty target")
			}
		}
	})
}
