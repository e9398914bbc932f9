package discover_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/pkg/discover"
)

func TestAutoconfigFromTheDomainWithSubstitution(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "corp.test. MX 10 mx.corp.test.")
	w.dns.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 srv-imap.corp.test.") // must not be reached
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", autoconfigXML)

	res := w.discover("Alice.Smith@Corp.Test")
	if res.Source != discover.SourceAutoconfig || res.Domain != "corp.test" || res.Email != "Alice.Smith@corp.test" {
		t.Errorf("source %q domain %q email %q", res.Source, res.Domain, res.Email)
	}
	want := "imap imap.corp.test:993 (ssl, basic) login=Alice.Smith@corp.test from autoconfig\n" +
		"pop3 pop.corp.test:995 (ssl, basic) login=Alice.Smith@corp.test from autoconfig"
	if got := cands(res.Inbound); got != want {
		t.Errorf("inbound:\n%s\nwant (IMAP first, %%EMAILDOMAIN%% and %%EMAILADDRESS%% substituted, password for a host that is not an OAuth provider):\n%s", got, want)
	}
	if got := cands(res.Outbound); got != "smtp smtp.corp.test:587 (starttls, basic) login=Alice.Smith from autoconfig" {
		t.Errorf("outbound: %s", got)
	}
	wantTried := "mx corp.test: mail exchanger mx.corp.test: no known provider\n" +
		"autoconfig https://autoconfig.corp.test/mail/config-v1.1.xml?emailaddress=Alice.Smith%40corp.test: 3 servers (2 inbound, 1 outbound)\n"
	if got := tried(res); got != wantTried {
		t.Errorf("tried:\n%s\nwant:\n%s", got, wantTried)
	}
	if w.dns.Asked("SRV", "_imaps._tcp.corp.test") {
		t.Error("SRV was looked up although autoconfig gave a complete set")
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestPOP3PreferredWhenAsked(t *testing.T) {
	w := newWorld(t)
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", autoconfigXML)
	res := w.discover("bob@corp.test", func(o *discover.Options) { o.Protocol = "pop3" })
	if len(res.Inbound) != 2 || res.Inbound[0].Protocol != "pop3" {
		t.Errorf("inbound:\n%s\nwant POP3 first", cands(res.Inbound))
	}
}

func TestWellKnownAfterNoAutoconfigHost(t *testing.T) {
	w := newWorld(t)
	w.page("corp.test/.well-known/autoconfig/mail/config-v1.1.xml", autoconfigXML)
	res := w.discover("bob@corp.test")
	if res.Source != discover.SourceAutoconfigWellKnown {
		t.Fatalf("source %q, tried:\n%s", res.Source, tried(res))
	}
	want := "mx corp.test: no MX records\n" +
		"autoconfig https://autoconfig.corp.test/mail/config-v1.1.xml?emailaddress=bob%40corp.test: not found (404)\n" +
		"autoconfig-wellknown https://corp.test/.well-known/autoconfig/mail/config-v1.1.xml: 3 servers (2 inbound, 1 outbound)\n"
	if got := tried(res); got != want {
		t.Errorf("tried:\n%s\nwant:\n%s", got, want)
	}
}

func TestISPDBForTheMXDomainAndOutsideWarning(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "shop.test. MX 10 mx1.mail.hoster.test.")
	w.page("autoconfig.thunderbird.net/v1.1/hoster.test", `<clientConfig version="1.1"><emailProvider id="hoster.test">
<incomingServer type="imap"><hostname>imap.hoster.test</hostname><port>143</port><socketType>STARTTLS</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.outside.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`)
	res := w.discover("carol@shop.test")
	if res.Source != discover.SourceISPDB {
		t.Fatalf("source %q, tried:\n%s", res.Source, tried(res))
	}
	got := tried(res)
	for _, line := range []string{
		"ispdb https://autoconfig.thunderbird.net/v1.1/shop.test: not found (404)\n",
		"ispdb https://autoconfig.thunderbird.net/v1.1/hoster.test: 2 servers (1 inbound, 1 outbound)\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("tried:\n%s\nwant a line %q", got, line)
		}
	}
	if res.Inbound[0].OutsideDomain || !res.Outbound[0].OutsideDomain {
		t.Errorf("inbound %s outbound %s: want imap.hoster.test inside (the MX's domain) and smtp.outside.test outside", cands(res.Inbound), cands(res.Outbound))
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0].Text, "smtp.outside.test is outside shop.test and its mail exchanger's domain (from ispdb)") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestSRVOnlyDomain(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t,
		"_imaps._tcp.corp.test. SRV 20 0 993 backup.corp.test.",
		"_imaps._tcp.corp.test. SRV 10 10 993 light.corp.test.",
		"_imaps._tcp.corp.test. SRV 10 90 993 heavy.corp.test.",
		"_imap._tcp.corp.test. SRV 0 0 143 imap.corp.test.",
		"_pop3s._tcp.corp.test. SRV 0 0 0 .",
		"_submissions._tcp.corp.test. SRV 0 0 0 .",
		"_submission._tcp.corp.test. SRV 0 1 587 smtp.corp.test.",
	)
	res := w.discover("dan@corp.test")
	if res.Source != discover.SourceSRV {
		t.Fatalf("source %q, tried:\n%s", res.Source, tried(res))
	}
	want := "imap heavy.corp.test:993 (ssl, basic) login=dan@corp.test from srv\n" +
		"imap light.corp.test:993 (ssl, basic) login=dan@corp.test from srv\n" +
		"imap backup.corp.test:993 (ssl, basic) login=dan@corp.test from srv\n" +
		"imap imap.corp.test:143 (starttls, basic) login=dan@corp.test from srv"
	if got := cands(res.Inbound); got != want {
		t.Errorf("inbound:\n%s\nwant implicit TLS first (RFC 8314), then priority, then weight:\n%s", got, want)
	}
	if got := cands(res.Outbound); got != "smtp smtp.corp.test:587 (starttls, basic) login=dan@corp.test from srv" {
		t.Errorf("outbound: %s (a \".\" _submissions target is not offered)", got)
	}
	got := tried(res)
	for _, line := range []string{
		"srv _pop3s._tcp.corp.test: not offered (target \".\")\n",
		"srv _submissions._tcp.corp.test: not offered (target \".\")\n",
		"srv _pop3._tcp.corp.test: no such record\n",
		"srv _imaps._tcp.corp.test: heavy.corp.test:993, light.corp.test:993, backup.corp.test:993\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("tried:\n%s\nwant a line %q", got, line)
		}
	}
	for _, src := range []string{"autoconfig", "autoconfig-wellknown", "ispdb"} {
		if !strings.Contains(got, src+" ") {
			t.Errorf("tried:\n%s\nwant every source before SRV reported, %s missing", got, src)
		}
	}
}

const tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func openID(issuerHost string) string {
	return fmt.Sprintf(`{"token_endpoint":"https://%[1]s/%[2]s/oauth2/v2.0/token","issuer":"https://%[1]s/%[2]s/v2.0","tenant_region_scope":"NA"}`, issuerHost, tenantID)
}

func TestMicrosoftDomainWithItsTenant(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration", openID("login.microsoftonline.com"))
	res := w.discover("support@contoso.test")
	if res.Provider != "microsoft" || res.Preset != "office365" || res.Tenant != tenantID || res.Cloud != "global" || res.Source != "mx" {
		t.Fatalf("provider %q preset %q tenant %q cloud %q source %q\n%s", res.Provider, res.Preset, res.Tenant, res.Cloud, res.Source, tried(res))
	}
	// Microsoft's hosts are outside the domain (the field says so), but
	// they come from mailport's own table, so no warning follows.
	want := "microsoft graph.microsoft.com:443 (ssl, oauth2) login=support@contoso.test from mx outside\n" +
		"imap outlook.office365.com:993 (ssl, oauth2) login=support@contoso.test from mx outside\n" +
		"pop3 outlook.office365.com:995 (ssl, oauth2) login=support@contoso.test from mx outside"
	if got := cands(res.Inbound); got != want {
		t.Errorf("inbound:\n%s\nwant:\n%s", got, want)
	}
	if got := cands(res.Outbound); got != "smtp smtp.office365.com:587 (starttls, oauth2) login=support@contoso.test from mx outside" {
		t.Errorf("outbound: %s", got)
	}
	wantTried := "mx contoso.test: mail exchanger contoso-test.mail.protection.outlook.com: Microsoft 365\n" +
		"microsoft-openid https://login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration: tenant " + tenantID + " in Microsoft's global cloud\n"
	if got := tried(res); got != wantTried {
		t.Errorf("tried:\n%s\nwant:\n%s", got, wantTried)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q: Microsoft's own hosts are not warned about", res.Warnings)
	}
	for _, r := range w.requests() {
		if strings.HasPrefix(r, "autoconfig.") {
			t.Errorf("asked %s after the provider was known", r)
		}
	}
}

func TestMicrosoftGovernmentCloudFromTheIssuer(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration", openID("login.microsoftonline.us"))
	res := w.discover("support@contoso.test", func(o *discover.Options) { o.Protocol = "imap" })
	if res.Cloud != "usgov" || res.Tenant != tenantID {
		t.Fatalf("cloud %q tenant %q", res.Cloud, res.Tenant)
	}
	if c := res.Inbound[0]; c.Protocol != "imap" || c.Host != "outlook.office365.us" {
		t.Errorf("first inbound %s, want IMAP at outlook.office365.us", c)
	}
	if c := res.Outbound[0]; c.Host != "smtp.office365.us" {
		t.Errorf("outbound %s, want smtp.office365.us", c)
	}
}

func TestMicrosoftWithoutOpenIDStillGivesThePreset(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration", `{"error":"invalid_tenant"`)
	res := w.discover("support@contoso.test")
	if res.Preset != "office365" || res.Tenant != "" || !res.Complete() {
		t.Fatalf("preset %q tenant %q complete %v", res.Preset, res.Tenant, res.Complete())
	}
	if got := tried(res); !strings.Contains(got, "openid-configuration: not an OpenID configuration: ") {
		t.Errorf("tried:\n%s", got)
	}
}

func TestGoogleByMX(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "shop.test. MX 1 aspmx.l.google.com.", "shop.test. MX 5 alt1.aspmx.l.google.com.")
	res := w.discover("eve@shop.test")
	if res.Provider != "google" || res.Preset != "gmail" || res.Source != "mx" {
		t.Fatalf("provider %q preset %q source %q", res.Provider, res.Preset, res.Source)
	}
	if got := cands(res.Inbound); !strings.HasPrefix(got, "imap imap.gmail.com:993 (ssl, oauth2) login=eve@shop.test from mx") {
		t.Errorf("inbound:\n%s", got)
	}
	if got := cands(res.Outbound); !strings.HasPrefix(got, "smtp smtp.gmail.com:587 (starttls, oauth2)") {
		t.Errorf("outbound:\n%s", got)
	}
	// gmail.com itself needs no lookup to be Google's.
	res = w.discover("someone@gmail.com")
	if res.Preset != "gmail" {
		t.Errorf("gmail.com: preset %q, tried:\n%s", res.Preset, tried(res))
	}
}

func TestOAuth2ChosenForAProviderHostOnly(t *testing.T) {
	w := newWorld(t)
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", `<clientConfig version="1.1"><emailProvider id="corp.test">
<incomingServer type="imap"><hostname>outlook.office365.com</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication><authentication>OAuth2</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.corp.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>OAuth2</authentication><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>`)
	res := w.discover("x@corp.test")
	if res.Inbound[0].Auth != "oauth2" || res.Outbound[0].Auth != "basic" {
		t.Errorf("inbound %s outbound %s: want OAuth2 at Microsoft's host, the password elsewhere", res.Inbound[0], res.Outbound[0])
	}
	if !res.Inbound[0].OutsideDomain || len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0].Text, "outlook.office365.com is outside corp.test") {
		t.Errorf("an autoconfig file naming another domain's host is warned about: %q", res.Warnings)
	}
}

// hostile autoconfig files: each is refused with its reason, and discovery
// goes on to the next source.
func TestHostileAutoconfigRefused(t *testing.T) {
	deep := strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000)
	cases := []struct {
		name, body, outcome string
	}{
		{"broken", `<clientConfig><emailProvider><incomingServer type="imap"></emailProvider></clientConfig>`, "refused: broken XML: line 1: element <incomingServer> closed by </emailProvider>"},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE clientConfig [<!ENTITY x SYSTEM "file:///etc/passwd">]><clientConfig><emailProvider><incomingServer type="imap"><hostname>&x;</hostname></incomingServer></emailProvider></clientConfig>`, "refused: the file has a DOCTYPE declaration, which an autoconfig file never needs"},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><clientConfig>&lol2;</clientConfig>`, "refused: the file has a DOCTYPE declaration"},
		{"deep", `<clientConfig>` + deep + `</clientConfig>`, "refused: the file nests deeper than 32 elements"},
		{"huge", `<clientConfig><emailProvider><displayName>` + strings.Repeat("x", 2<<20) + `</displayName></emailProvider></clientConfig>`, "refused: larger than 1024 KiB"},
		{"not autoconfig", `<html><body>Welcome</body></html>`, "refused: not an autoconfig file: expected element type <clientConfig> but have <html>"},
		{"many servers", `<clientConfig version="1.1"><emailProvider id="corp.test">` + strings.Repeat(`<incomingServer type="imap"><hostname>i.corp.test</hostname><port>993</port><socketType>SSL</socketType><authentication>OAuth2</authentication><authentication>password-cleartext</authentication></incomingServer>`, 4000) + `</emailProvider></clientConfig>`, "32 inbound servers, no outbound"},
		{"no servers", `<clientConfig version="1.1"><emailProvider id="corp.test"><incomingServer type="exchange"><hostname>ews.corp.test</hostname></incomingServer></emailProvider></clientConfig>`, `no usable server; skipped a "exchange" server (mailport speaks imap, pop3 and smtp)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.page("autoconfig.corp.test/mail/config-v1.1.xml", tc.body)
			w.dns.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 imap.corp.test.", "_submissions._tcp.corp.test. SRV 0 0 465 smtp.corp.test.")
			var res *discover.Result
			peak := heapmeter.Peak(func() { res = w.discover("x@corp.test") })
			if len(res.Tried) < 2 || !strings.HasPrefix(res.Tried[1].Outcome, tc.outcome) {
				t.Fatalf("tried:\n%s\nwant the autoconfig outcome to start %q", tried(res), tc.outcome)
			}
			if res.Source != "srv" {
				t.Errorf("source %q: want discovery to go on to SRV", res.Source)
			}
			if peak > 16<<20 {
				t.Errorf("heap grew %d MB", peak>>20)
			}
			t.Logf("%s: %s (heap +%d KB)", tc.name, res.Tried[1].Outcome, peak>>10)
		})
	}
}

func TestEndlessAutoconfigStopsAtTheLimit(t *testing.T) {
	w := newWorld(t)
	w.handle("autoconfig.corp.test/mail/config-v1.1.xml", func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte("<clientConfig>"))
		chunk := []byte(strings.Repeat("<x/>", 16<<10))
		for i := 0; i < 64<<20/len(chunk); i++ { // 64 MB, unless the client stops
			if _, err := rw.Write(chunk); err != nil {
				return
			}
		}
	})
	var res *discover.Result
	peak := heapmeter.Peak(func() { res = w.discover("x@corp.test") })
	if got := res.Tried[1].Outcome; got != "refused: larger than 1024 KiB" {
		t.Errorf("outcome %q", got)
	}
	if peak > 16<<20 {
		t.Errorf("heap grew %d MB reading an endless file", peak>>20)
	}
	t.Logf("endless autoconfig: heap +%d KB", peak>>10)
}

func TestRedirectToHTTPRefused(t *testing.T) {
	w := newWorld(t)
	w.handle("autoconfig.corp.test/mail/config-v1.1.xml", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://autoconfig.corp.test/plain.xml", http.StatusFound)
	})
	w.handle("corp.test/.well-known/autoconfig/mail/config-v1.1.xml", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://autoconfig.corp.test/moved.xml", http.StatusMovedPermanently)
	})
	w.page("autoconfig.corp.test/moved.xml", autoconfigXML)
	res := w.discover("x@corp.test")
	if got := res.Tried[1].Outcome; got != "refused: redirect to http://autoconfig.corp.test/plain.xml (only https is trusted)" {
		t.Errorf("autoconfig outcome %q", got)
	}
	if res.Source != discover.SourceAutoconfigWellKnown {
		t.Errorf("source %q: an https redirect is followed", res.Source)
	}
	for _, r := range w.requests() {
		if strings.Contains(r, "plain.xml") {
			t.Errorf("the http:// target was fetched: %s", r)
		}
	}
}

func TestStalledAutoconfigIsBoundedByTheTimeout(t *testing.T) {
	w := newWorld(t)
	release := make(chan struct{})
	defer close(release)
	w.handle("autoconfig.corp.test/mail/config-v1.1.xml", func(rw http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	w.dns.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 imap.corp.test.", "_submission._tcp.corp.test. SRV 0 0 587 smtp.corp.test.")
	start := time.Now()
	res := w.discover("x@corp.test", func(o *discover.Options) { o.Timeout = 300 * time.Millisecond })
	elapsed := time.Since(start)
	if got := res.Tried[1].Outcome; got != "no answer within 300ms" {
		t.Errorf("outcome %q", got)
	}
	if res.Source != "srv" {
		t.Errorf("source %q", res.Source)
	}
	if elapsed > 3*time.Second {
		t.Errorf("took %s", elapsed)
	}
	t.Logf("stalled autoconfig: discovery done in %s", elapsed.Round(time.Millisecond))
}

func TestNothingFound(t *testing.T) {
	w := newWorld(t)
	res := w.discover("x@corp.test")
	if res.Complete() || res.Source != "" {
		t.Fatalf("complete %v source %q", res.Complete(), res.Source)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Text != "No source named a server for corp.test." {
		t.Errorf("warnings %q", res.Warnings)
	}
	if n := len(res.Tried); n != 1+1+1+1+6 {
		t.Errorf("%d attempts, want MX, two autoconfig files, the ISP database and six SRV names:\n%s", n, tried(res))
	}
}

func TestBadAddress(t *testing.T) {
	for _, in := range []string{"", "alice", "alice@", "@corp.test", "Alice <alice@corp.test>", "alice@localhost", "alice@corp..test", "alice@-corp.test"} {
		_, err := discover.Discover(context.Background(), in, discover.Options{})
		if !errors.Is(err, discover.ErrAddress) {
			t.Errorf("Discover(%q) = %v, want ErrAddress", in, err)
		}
	}
	_, err := discover.Discover(context.Background(), "a@corp.test", discover.Options{Protocol: "smtp"})
	if err == nil || !strings.Contains(err.Error(), `protocol "smtp" is not imap or pop3`) {
		t.Errorf("protocol smtp: %v", err)
	}
}

func TestInvalidResolverEnvironment(t *testing.T) {
	t.Setenv("MAILPORT_RESOLVER", "dns.example:53")
	_, err := discover.Discover(context.Background(), "a@corp.test", discover.Options{})
	if err == nil || !strings.Contains(err.Error(), "MAILPORT_RESOLVER") {
		t.Errorf("err = %v", err)
	}
}

func TestProbeMarksAServerThatDoesNotAnswer(t *testing.T) {
	w := newWorld(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a closed port: connection refused
	w.dns.Add(t, "imap.corp.test. A 127.0.0.1", "smtp.corp.test. A 127.0.0.1",
		"_imaps._tcp.corp.test. SRV 0 0 "+strconv.Itoa(port)+" imap.corp.test.",
		"_submissions._tcp.corp.test. SRV 0 0 "+strconv.Itoa(port)+" smtp.corp.test.")
	t.Setenv("MAILPORT_RESOLVER", w.dns.Addr) // the probe dials as `mailport test` does
	res := w.discover("x@corp.test", func(o *discover.Options) { o.Probe = true; o.Timeout = time.Second })
	p := res.Inbound[0].Probe
	if p == nil || p.OK || !strings.HasPrefix(p.Summary, "TCP connect failed: ") || !strings.Contains(p.Summary, "refused") {
		t.Fatalf("probe %+v, want a refused TCP connection", p)
	}
	if res.Outbound[0].Probe == nil || res.Outbound[0].Probe.OK {
		t.Errorf("outbound probe %+v", res.Outbound[0].Probe)
	}
}

func TestCancelledContext(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := w.opts()
	_, err := discover.Discover(ctx, "x@corp.test", o)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// Without an HTTPClient, the autoconfig hosts are looked up where every
// other name is: in the resolver's DNS server.
func TestDefaultClientLooksUpWebHostsInTheResolver(t *testing.T) {
	w := newWorld(t)
	res, err := discover.Discover(context.Background(), "x@corp.test", discover.Options{Resolver: w.opts().Resolver, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"autoconfig.corp.test", "corp.test", "autoconfig.thunderbird.net"} {
		if !w.dns.Asked("A", name) {
			t.Errorf("%s was not looked up in the resolver's server: %v", name, w.dns.Queries())
		}
	}
	if got := res.Tried[1].Outcome; got != "no such host autoconfig.corp.test" {
		t.Errorf("outcome %q", got)
	}
}

// A DNS server that never answers costs one timeout for the MX lookup and
// one for all six SRV names together, not one per name.
func TestSilentDNSIsBounded(t *testing.T) {
	w := newWorld(t)
	w.dns.Silent()
	start := time.Now()
	res := w.discover("x@corp.test", func(o *discover.Options) { o.Timeout = 300 * time.Millisecond })
	elapsed := time.Since(start)
	if got := res.Tried[0].Outcome; got != "no MX records: no answer from the DNS server" {
		t.Errorf("MX outcome %q", got)
	}
	if got := res.Tried[len(res.Tried)-1].Outcome; got != "no answer from the DNS server" {
		t.Errorf("last SRV outcome %q", got)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("discovery against a silent DNS server took %s, want about 600ms", elapsed)
	}
	t.Logf("silent DNS server: discovery done in %s", elapsed.Round(time.Millisecond))
}

// TestMissingIsTyped: what the set lacks is a field and a warning kind, so
// callers (account add --email) pick warnings without matching their
// words, while the JSON keeps warnings a list of sentences.
func TestMissingIsTyped(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "corp.test. MX 10 mx.corp.test.")
	w.dns.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 imap.elsewhere.test.")
	res := w.discover("kim@corp.test")
	if strings.Join(res.Missing, ",") != "outbound" {
		t.Errorf("missing %q, want [outbound]", res.Missing)
	}
	var kinds []string
	for _, x := range res.Warnings {
		kinds = append(kinds, string(x.Kind)+": "+x.Text)
	}
	want := "outside: imap.elsewhere.test is outside corp.test and its mail exchanger's domain (from srv): make sure you trust it before giving it your password.\n" +
		"missing: No source named an outbound (SMTP) server for corp.test."
	if got := strings.Join(kinds, "\n"); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"missing":["outbound"],"warnings":["imap.elsewhere.test is outside`) {
		t.Errorf("JSON %s\nwant missing as names and warnings as sentences", b)
	}

	w = newWorld(t)
	res = w.discover("kim@corp.test")
	if strings.Join(res.Missing, ",") != "inbound,outbound" || len(res.Warnings) != 1 || res.Warnings[0].Kind != discover.WarnMissing {
		t.Errorf("nothing found: missing %q, warnings %+v", res.Missing, res.Warnings)
	}

	w = newWorld(t)
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", autoconfigXML)
	res = w.discover("kim@corp.test")
	b, _ = json.Marshal(res)
	if res.Missing == nil || len(res.Missing) != 0 || !strings.Contains(string(b), `"missing":[],"warnings":[]`) {
		t.Errorf("complete set: missing %q, JSON %s", res.Missing, b)
	}
}

// TestRedirectToAnotherHostIsReported: an https redirect is followed, as
// Thunderbird follows it, but the report names where the file came from,
// since that host now decides where the password goes.
func TestRedirectToAnotherHostIsReported(t *testing.T) {
	w := newWorld(t)
	w.handle("autoconfig.corp.test/mail/config-v1.1.xml", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://config.hoster.test/corp.xml", http.StatusFound)
	})
	w.page("config.hoster.test/corp.xml", autoconfigXML)
	res := w.discover("x@corp.test")
	if res.Source != discover.SourceAutoconfig {
		t.Fatalf("source %q\n%s", res.Source, tried(res))
	}
	if got := res.Tried[1].Outcome; got != "3 servers (2 inbound, 1 outbound) (redirected to https://config.hoster.test/corp.xml)" {
		t.Errorf("autoconfig outcome %q", got)
	}
}

// TestOpenIDRedirectedElsewhereIsNotTaken: the tenant comes from
// Microsoft's own host; a configuration served after a redirect to another
// host names no tenant.
func TestOpenIDRedirectedElsewhereIsNotTaken(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.handle("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://evil.outside.test/openid", http.StatusFound)
	})
	w.page("evil.outside.test/openid", openID("login.microsoftonline.com"))
	res := w.discover("support@contoso.test")
	if res.Tenant != "" || res.Preset != "office365" {
		t.Errorf("tenant %q preset %q: want the preset and no tenant", res.Tenant, res.Preset)
	}
	if got := tried(res); !strings.Contains(got, "openid-configuration: refused: redirected to https://evil.outside.test/openid (the tenant is read from Microsoft's own host only)") {
		t.Errorf("tried:\n%s", got)
	}
}

// TestUnusableSRVRecordsSayWhy: a port of 0, a target that is no host name
// and a "." beside real records are skipped, and the outcome says why.
func TestUnusableSRVRecordsSayWhy(t *testing.T) {
	for _, tc := range []struct {
		recs []*net.SRV
		want string
	}{
		{[]*net.SRV{{Target: "mail.corp.test.", Port: 0}}, `no usable record: mail.corp.test on port 0`},
		{[]*net.SRV{{Target: "mail corp/test.", Port: 993}, {Target: "mail.corp.test.", Port: 0}},
			`no usable record: target "mail corp/test" is not a host name; mail.corp.test on port 0`},
		{[]*net.SRV{{Target: "mail.corp.test.", Port: 993}, {Target: ".", Port: 0}},
			`mail.corp.test:993; skipped 1 unusable record: target "." beside other records`},
		{[]*net.SRV{{Target: ".", Port: 0}}, `not offered (target ".")`},
	} {
		_, got := discover.SRVCandidates(tc.recs, "imap", "ssl")
		if got != tc.want {
			t.Errorf("outcome %q, want %q", got, tc.want)
		}
	}
	w := newWorld(t)
	w.dns.Add(t, "_imaps._tcp.corp.test. SRV 0 0 0 mail.corp.test.")
	res := w.discover("x@corp.test")
	if got := tried(res); !strings.Contains(got, "srv _imaps._tcp.corp.test: no usable record: mail.corp.test on port 0\n") {
		t.Errorf("tried:\n%s", got)
	}
}

// TestPlaintextPasswordIsWarnedAbout: a file offering a server without
// encryption and with a password is taken (last), with a warning, as
// Thunderbird warns before it sends a password in the clear.
func TestPlaintextPasswordIsWarnedAbout(t *testing.T) {
	w := newWorld(t)
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", `<clientConfig version="1.1"><emailProvider id="corp.test">
<incomingServer type="imap"><hostname>mail.corp.test</hostname><port>143</port><socketType>plain</socketType><authentication>password-cleartext</authentication></incomingServer>
<incomingServer type="imap"><hostname>mail.corp.test</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>mail.corp.test</hostname><port>587</port><socketType>STARTTLS</socketType><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>`)
	res := w.discover("kim@corp.test")
	if len(res.Inbound) != 2 || res.Inbound[0].Port != 993 {
		t.Errorf("inbound:\n%s\nwant the SSL server first", cands(res.Inbound))
	}
	want := "imap mail.corp.test:143 takes the password without encryption (from autoconfig): anyone on the network path can read it; prefer a server with ssl or starttls."
	if len(res.Warnings) != 1 || res.Warnings[0].Kind != discover.WarnPlaintext || res.Warnings[0].Text != want || res.Warnings[0].Host != "mail.corp.test" {
		t.Errorf("warnings %+v\nwant one: %s", res.Warnings, want)
	}
}

// TestCandidatesAreBounded: SRV answers naming 64 inbound servers give the
// best MaxCandidates, so neither the printout nor --probe grows with them.
func TestCandidatesAreBounded(t *testing.T) {
	w := newWorld(t)
	for _, svc := range []string{"imaps", "imap", "pop3s", "pop3"} {
		for i := 0; i < 16; i++ {
			w.dns.Add(t, fmt.Sprintf("_%s._tcp.corp.test. SRV %d 0 993 %s%d.corp.test.", svc, i, svc, i))
		}
	}
	w.dns.Add(t, "_submissions._tcp.corp.test. SRV 0 0 465 smtp.corp.test.")
	res := w.discover("x@corp.test")
	if len(res.Inbound) != discover.MaxCandidates || res.Inbound[0].Host != "imaps0.corp.test" || res.Inbound[discover.MaxCandidates-1].Host != "imaps15.corp.test" {
		t.Errorf("%d inbound servers, want the best %d (the _imaps ones):\n%s", len(res.Inbound), discover.MaxCandidates, cands(res.Inbound))
	}
}

// TestMicrosoftDomainByItsDNSSECMX: Exchange Online gives newer domains an
// MX under mx.microsoft; they are Microsoft 365 all the same.
func TestMicrosoftDomainByItsDNSSECMX(t *testing.T) {
	w := newWorld(t)
	w.dns.Add(t, "contoso.test. MX 0 contoso-test.j-v1.mx.microsoft.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration", openID("login.microsoftonline.com"))
	res := w.discover("support@contoso.test")
	if res.Provider != "microsoft" || res.Preset != "office365" || res.Tenant != tenantID || res.Source != "mx" {
		t.Fatalf("provider %q preset %q tenant %q source %q\n%s", res.Provider, res.Preset, res.Tenant, res.Source, tried(res))
	}
	if got := res.Tried[0].Outcome; got != "mail exchanger contoso-test.j-v1.mx.microsoft: Microsoft 365" {
		t.Errorf("mx outcome %q", got)
	}
}
