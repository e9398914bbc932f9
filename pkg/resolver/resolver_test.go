package resolver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/pkg/resolver"
)

func TestParseRefusesWhatIsNotAnAddressAndPort(t *testing.T) {
	for in, want := range map[string]string{
		"dns.example.com:53": `"dns.example.com" is not an IP address`,
		"127.0.0.1:0":        `"0" is not a port number from 1 to 65535`,
		"127.0.0.1:99999":    `"99999" is not a port number`,
		"127.0.0.1:x":        `"x" is not a port number`,
		"nonsense":           "not an IP address and port such as 127.0.0.1:53",
	} {
		_, err := resolver.Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, want)
		}
	}
	for in, want := range map[string]string{"127.0.0.1:5353": "127.0.0.1:5353", "192.0.2.1": "192.0.2.1:53", "[::1]:53": "[::1]:53"} {
		r, err := resolver.Parse(in)
		if err != nil || r.Server != want {
			t.Errorf("Parse(%q) = %+v, %v, want server %s", in, r, err, want)
		}
	}
}

func TestFromEnvNamesTheVariable(t *testing.T) {
	t.Setenv(resolver.EnvVar, "resolver.example:53")
	_, err := resolver.FromEnv()
	if err == nil || !strings.HasPrefix(err.Error(), `MAILPORT_RESOLVER="resolver.example:53": `) {
		t.Fatalf("FromEnv = %v, want an error naming MAILPORT_RESOLVER", err)
	}
	t.Setenv(resolver.EnvVar, "")
	r, err := resolver.FromEnv()
	if err != nil || r.Custom() {
		t.Fatalf("FromEnv with it empty = %+v, %v, want the system's resolver", r, err)
	}
}

func TestLookupsGoToTheNamedServer(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Add(t,
		"mail.corp.test. A 192.0.2.10",
		"mail.corp.test. AAAA 2001:db8::10",
		"alias.corp.test. CNAME mail.corp.test.",
		"corp.test. MX 20 mx2.corp.test.",
		"corp.test. MX 10 mx1.corp.test.",
		`corp.test. TXT "v=spf1 -all"`,
		"_imaps._tcp.corp.test. SRV 10 10 993 imap-b.corp.test.",
		"_imaps._tcp.corp.test. SRV 0 5 993 imap-c.corp.test.",
		"_imaps._tcp.corp.test. SRV 0 50 993 imap-a.corp.test.",
		"_pop3._tcp.corp.test. SRV 0 0 0 .",
	)
	r := &resolver.Resolver{Server: dns.Addr, Timeout: time.Second}
	ctx := context.Background()

	addrs, err := r.LookupHost(ctx, "mail.corp.test")
	if err != nil || strings.Join(addrs, " ") != "192.0.2.10 2001:db8::10" {
		t.Fatalf("LookupHost = %v, %v", addrs, err)
	}
	addrs, err = r.LookupHost(ctx, "alias.corp.test")
	if err != nil || len(addrs) != 2 || addrs[0] != "192.0.2.10" {
		t.Fatalf("LookupHost through a CNAME = %v, %v", addrs, err)
	}
	mxs, err := r.LookupMX(ctx, "corp.test")
	if err != nil || len(mxs) != 2 || mxs[0].Host != "mx1.corp.test." || mxs[1].Pref != 20 {
		t.Fatalf("LookupMX = %v, %v", mxs, err)
	}
	txt, err := r.LookupTXT(ctx, "corp.test")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Fatalf("LookupTXT = %v, %v", txt, err)
	}
	srvs, err := r.LookupSRV(ctx, "imaps", "tcp", "corp.test")
	if err != nil || len(srvs) != 3 {
		t.Fatalf("LookupSRV = %v, %v", srvs, err)
	}
	var order []string
	for _, s := range srvs {
		order = append(order, s.Target)
	}
	if got := strings.Join(order, " "); got != "imap-a.corp.test. imap-c.corp.test. imap-b.corp.test." {
		t.Errorf("SRV order = %s, want priority first, then the heavier weight", got)
	}
	srvs, err = r.LookupSRV(ctx, "pop3", "tcp", "corp.test")
	if err != nil || len(srvs) != 1 || srvs[0].Target != "." {
		t.Errorf("a \".\" SRV target = %v, %v, want it returned as it is", srvs, err)
	}
	_, err = r.LookupHost(ctx, "nowhere.corp.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound || !strings.Contains(err.Error(), "nowhere.corp.test") {
		t.Errorf("an unknown name = %v, want a not-found DNSError naming it", err)
	}
	if !dns.Asked("AAAA", "mail.corp.test") || !dns.Asked("SRV", "_imaps._tcp.corp.test") {
		t.Errorf("queries %v", dns.Queries())
	}
}

func TestTruncatedAnswerIsAskedAgainOverTCP(t *testing.T) {
	dns := dnstest.Start(t)
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		dns.Add(t, "many.corp.test. A "+ip)
	}
	dns.Truncate(2)
	r := &resolver.Resolver{Server: dns.Addr, Timeout: time.Second}
	addrs, err := r.LookupHost(context.Background(), "many.corp.test")
	if err != nil || len(addrs) != 3 {
		t.Fatalf("LookupHost = %v, %v, want the 3 addresses over TCP", addrs, err)
	}
	if q := strings.Join(dns.Queries(), "\n"); !strings.Contains(q, "udp A many.corp.test.") || !strings.Contains(q, "tcp A many.corp.test.") {
		t.Errorf("queries:\n%s\nwant the A question over UDP, then over TCP", q)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Silent()
	r := &resolver.Resolver{Server: dns.Addr, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := r.LookupMX(context.Background(), "corp.test")
	elapsed := time.Since(start)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("LookupMX = %v, want a timeout naming 300ms", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("the lookup took %s, want about 300ms", elapsed)
	}
	t.Logf("silent DNS server: gave up after %s", elapsed.Round(time.Millisecond))
}

func TestDialerAndTransportUseMAILPORT_RESOLVER(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from "+r.Host) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := dnstest.Start(t)
	dns.Add(t, "intranet.corp.test. A 127.0.0.1")
	t.Setenv(resolver.EnvVar, dns.Addr)

	tr := resolver.Transport(nil, 2*time.Second)
	tr.Proxy = nil
	resp, err := (&http.Client{Transport: tr}).Get("http://intranet.corp.test:" + port + "/")
	if err != nil {
		t.Fatalf("GET through the fake DNS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from intranet.corp.test:"+port {
		t.Errorf("body %q", body)
	}
	if !dns.Asked("A", "intranet.corp.test") {
		t.Errorf("the fake DNS was not asked: %v", dns.Queries())
	}

	d := &resolver.Dialer{Timeout: time.Second}
	_, err = d.DialContext(context.Background(), "tcp", "absent.corp.test:"+port)
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("dial of a name the fake DNS does not know = %v, want not found", err)
	}

	t.Setenv(resolver.EnvVar, "not-an-address")
	_, err = d.DialContext(context.Background(), "tcp", "intranet.corp.test:"+port)
	if err == nil || !strings.Contains(err.Error(), "MAILPORT_RESOLVER") {
		t.Errorf("dial with an invalid MAILPORT_RESOLVER = %v, want the variable named", err)
	}
}

func TestCNAMELoopEnds(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Add(t, "a.corp.test. CNAME b.corp.test.", "b.corp.test. CNAME c.corp.test.", "c.corp.test. CNAME a.corp.test.")
	r := &resolver.Resolver{Server: dns.Addr, Timeout: time.Second}
	start := time.Now()
	addrs, err := r.LookupHost(context.Background(), "a.corp.test")
	if err == nil {
		t.Fatalf("LookupHost of a CNAME loop = %v, want an error", addrs)
	}
	if n := len(dns.Queries()); n > 2*10 {
		t.Errorf("%d queries for a CNAME loop", n)
	}
	t.Logf("CNAME loop: %v after %d queries in %s", err, len(dns.Queries()), time.Since(start).Round(time.Millisecond))
}

// TestSilentServerCostsOneTimeoutForAnAddress: the A and AAAA questions
// of a host are asked side by side, so a silent server fails a dial after
// one timeout, not two.
func TestSilentServerCostsOneTimeoutForAnAddress(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Silent()
	r := &resolver.Resolver{Server: dns.Addr, Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err := r.LookupHost(context.Background(), "mail.corp.test")
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer within 500ms") {
		t.Fatalf("LookupHost = %v, want a timeout naming 500ms", err)
	}
	if elapsed > 900*time.Millisecond {
		t.Errorf("the lookup took %s, want about 500ms (one timeout)", elapsed)
	}
	t.Logf("silent DNS server, A and AAAA: gave up after %s", elapsed.Round(time.Millisecond))
}
