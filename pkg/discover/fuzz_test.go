package discover_test

import (
	"net"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/discover"
)

// FuzzParseAutoconfig: whatever a web server sends as an autoconfig file,
// the parser returns servers it can vouch for, or an error; never a panic,
// never a server without a host, port or auth.
func FuzzParseAutoconfig(f *testing.F) {
	f.Add([]byte(autoconfigXML))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><clientConfig/>`))
	f.Add([]byte(`<clientConfig><emailProvider><incomingServer type="imap"><hostname>h</hostname><port>99999</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>`))
	f.Add([]byte(`<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>%EMAILLOCALPART%.x</hostname><port>25</port><socketType>plain</socketType><authentication>none</authentication></outgoingServer></emailProvider></clientConfig>`))
	f.Add([]byte(strings.Repeat("<a>", 100)))
	f.Add([]byte("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><clientConfig/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		servers, _, err := discover.ParseAutoconfig(data)
		if err != nil {
			if servers != nil {
				t.Fatal("servers with an error")
			}
			return
		}
		for _, s := range servers {
			if s.Host == "" || s.Port < 1 || s.Port > 65535 || len(s.Auths) == 0 || s.Encryption == "" {
				t.Fatalf("unusable server %+v", s)
			}
		}
		if len(servers) > 32 {
			t.Fatalf("%d servers", len(servers))
		}
	})
}

// FuzzSRVAndMXNames: odd names in SRV and MX answers (empty, ".", spaces,
// control bytes, huge labels) give candidates with valid host names or
// none, and never a panic.
func FuzzSRVAndMXNames(f *testing.F) {
	f.Add(".", uint16(0), uint16(0), uint16(0), "mx.example.com.")
	f.Add("imap.example.com.", uint16(993), uint16(10), uint16(5), ".")
	f.Add("a..b", uint16(1), uint16(0), uint16(0), "x.mail.protection.outlook.com")
	f.Add(strings.Repeat("a", 300), uint16(143), uint16(1), uint16(1), "ASPMX.L.GOOGLE.COM.")
	f.Add("bad host\x00.", uint16(25), uint16(0), uint16(0), "co.uk")
	f.Fuzz(func(t *testing.T, target string, port, prio, weight uint16, mx string) {
		recs := []*net.SRV{{Target: target, Port: port, Priority: prio, Weight: weight}, {Target: "backup.example.com.", Port: 993, Priority: prio + 1}}
		cands, outcome := discover.SRVCandidates(recs, "imap", "ssl")
		if outcome == "" {
			t.Fatal("no outcome")
		}
		for _, c := range cands {
			if c.Host == "" || strings.ContainsAny(c.Host, " \x00/:") || c.Port == 0 || strings.HasSuffix(c.Host, ".") {
				t.Fatalf("candidate %+v from %q", c, target)
			}
		}
		rd := discover.RegisteredDomain(mx)
		if rd != "" && !strings.HasSuffix(strings.TrimSuffix(strings.ToLower(mx), "."), rd) {
			t.Fatalf("RegisteredDomain(%q) = %q", mx, rd)
		}
	})
}
