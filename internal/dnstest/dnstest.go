// Package dnstest is a fake DNS server for tests: an in-process
// github.com/miekg/dns server on 127.0.0.1, UDP and TCP on the same port,
// answering from records each test sets. Names it has no record of get
// NXDOMAIN; nothing is forwarded anywhere.
package dnstest

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running fake DNS server.
type Server struct {
	// Addr is host:port, for MAILPORT_RESOLVER.
	Addr string

	mu      sync.Mutex
	records map[key][]dns.RR
	names   map[string]bool
	queries []string
	// Truncate makes UDP answers with more than this many records
	// truncated (TC bit, no records), as a server does for a large answer;
	// 0 never truncates.
	truncate int
	silent   bool
}

type key struct {
	name string
	qt   uint16
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[key][]dns.RR{}, names: map[string]bool{}}
	// UDP and TCP on one port: the TCP port may be taken, so try again.
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("dnstest: tcp on the UDP port: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve(true))}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serve(false))}
	var wg sync.WaitGroup
	wg.Add(2)
	udpUp, tcpUp := make(chan struct{}), make(chan struct{})
	udp.NotifyStartedFunc = func() { close(udpUp) }
	tcp.NotifyStartedFunc = func() { close(tcpUp) }
	go func() { defer wg.Done(); _ = udp.ActivateAndServe() }()
	go func() { defer wg.Done(); _ = tcp.ActivateAndServe() }()
	<-udpUp
	<-tcpUp
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		wg.Wait()
	})
	return s
}

// Add adds records in zone-file syntax, one per string, e.g.
// "example.test. MX 10 mx.example.test." (a TTL of 60 and class IN are
// filled in when missing). It fails the test on a record it cannot parse.
func (s *Server) Add(t testing.TB, records ...string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, text := range records {
		rr, err := dns.NewRR("$TTL 60\n" + text)
		if err != nil || rr == nil {
			t.Fatalf("dnstest: record %q: %v", text, err)
		}
		h := rr.Header()
		k := key{strings.ToLower(h.Name), h.Rrtype}
		s.records[k] = append(s.records[k], rr)
		s.names[strings.ToLower(h.Name)] = true
	}
}

// Truncate makes UDP answers of more than n records come back truncated,
// so the client must ask again over TCP.
func (s *Server) Truncate(n int) {
	s.mu.Lock()
	s.truncate = n
	s.mu.Unlock()
}

// Silent makes the server read queries and never answer.
func (s *Server) Silent() {
	s.mu.Lock()
	s.silent = true
	s.mu.Unlock()
}

// Queries are the questions asked so far, as "udp MX example.test.".
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// Asked reports whether a question of type qtype ("A", "MX", "SRV") for
// name was asked.
func (s *Server) Asked(qtype, name string) bool {
	want := " " + qtype + " " + dns.Fqdn(strings.ToLower(name))
	for _, q := range s.Queries() {
		if strings.HasSuffix(q, want) {
			return true
		}
	}
	return false
}

func (s *Server) serve(udp bool) func(w dns.ResponseWriter, r *dns.Msg) {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		s.mu.Lock()
		silent, trunc := s.silent, s.truncate
		for _, q := range r.Question {
			proto := "tcp"
			if udp {
				proto = "udp"
			}
			name := strings.ToLower(q.Name)
			s.queries = append(s.queries, proto+" "+dns.TypeToString[q.Qtype]+" "+name)
			// Follow CNAMEs as a recursive server would.
			for i := 0; i < 8; i++ {
				if c, ok := s.records[key{name, dns.TypeCNAME}]; ok && q.Qtype != dns.TypeCNAME {
					m.Answer = append(m.Answer, c...)
					name = strings.ToLower(c[0].(*dns.CNAME).Target)
					continue
				}
				break
			}
			m.Answer = append(m.Answer, s.records[key{name, q.Qtype}]...)
			if len(m.Answer) == 0 && !s.names[name] {
				m.Rcode = dns.RcodeNameError
			}
		}
		s.mu.Unlock()
		if silent {
			return
		}
		if udp && trunc > 0 && len(m.Answer) > trunc {
			m.Answer = nil
			m.Truncated = true
		}
		_ = w.WriteMsg(m)
	}
}
