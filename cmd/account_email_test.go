package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
	"github.com/mailport/mailport/pkg/resolver"
	"github.com/mailport/mailport/pkg/secret"
)

// The tests of `account add --email` answer discovery's DNS questions from
// internal/dnstest (MAILPORT_RESOLVER) and its HTTPS requests from
// fakeWeb, so nothing leaves the machine.

// fakeWeb is one HTTPS server standing in for every web host discovery
// asks (autoconfig.<domain>, <domain>/.well-known, Thunderbird's ISP
// database, login.microsoftonline.com): files are keyed by host and path,
// anything else is a 404. Its client dials the server whatever the host,
// over real TLS.
type fakeWeb struct {
	srv    *httptest.Server
	mu     sync.Mutex
	files  map[string]string // "host/path" -> body
	asked  []string
	client *http.Client
}

var spaces = regexp.MustCompile(` +`)

func newFakeWeb(t *testing.T) *fakeWeb {
	w := &fakeWeb{files: map[string]string{}}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		key := r.Host + r.URL.Path
		w.asked = append(w.asked, "https://"+r.Host+r.URL.RequestURI())
		body, ok := w.files[key]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Write([]byte(body))
	}))
	t.Cleanup(w.srv.Close)
	tr := w.srv.Client().Transport.(*http.Transport).Clone()
	addr := w.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // the name in httptest's certificate
	w.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return w
}

func (w *fakeWeb) serve(hostPath, body string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files[hostPath] = body
}

// withDNS starts a fake DNS server and points MAILPORT_RESOLVER at it
// until the test ends.
func withDNS(t *testing.T) *dnstest.Server {
	dns := dnstest.Start(t)
	t.Setenv(resolver.EnvVar, dns.Addr)
	return dns
}

// runWeb runs mailport like env.run (or, with tty, as on a terminal) with
// hc as the factory's HTTP client.
func (e *env) runWeb(hc *http.Client, tty bool, stdin string, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty, tty, tty)
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO: ios, Getenv: func(k string) string { return e.vars[k] }, Now: time.Now, HTTPClient: hc,
		OpenStore: func(string, string) (secret.Store, error) { return e.store, nil },
	}
	code := Run(f, append([]string{"--config", e.config}, args...))
	return result{out.String(), errOut.String(), code}
}

// account reads one account back from the config file.
func (e *env) account(name string) *config.Account {
	e.t.Helper()
	cfg, err := config.Load(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	a := cfg.Accounts[name]
	if a == nil {
		e.t.Fatalf("no account %q in\n%s", name, e.configText())
	}
	return a
}

// wantLines checks that text holds each of lines, runs of spaces counting
// as one (the printout aligns its columns).
func wantLines(t *testing.T, what, text string, lines ...string) {
	t.Helper()
	squeeze := func(s string) string { return spaces.ReplaceAllString(s, " ") }
	for _, l := range lines {
		if !strings.Contains(squeeze(text), squeeze(l)) {
			t.Errorf("%s: no %q in\n%s", what, l, text)
		}
	}
}

func TestAddEmailFromSRVFillsEveryField(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t,
		"_imaps._tcp.example.test. SRV 0 1 993 mail.example.test.",
		"_submission._tcp.example.test. SRV 0 1 587 mail.example.test.",
		"mail.example.test. A 127.0.0.1",
	)
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "account", "add", "support", "--email", "support@example.test", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("account add --email: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "account add --email", r.out,
		"Discovered for support@example.test:",
		"type          inbound            (the default)",
		"protocol      imap               (from srv _imaps._tcp.example.test)",
		"host          mail.example.test  (from srv _imaps._tcp.example.test)",
		"port          993                (from srv _imaps._tcp.example.test)",
		"encryption    ssl                (from srv _imaps._tcp.example.test)",
		"login         support@example.test (the address)",
		`Added inbound account "support": imap on mail.example.test:993 (ssl, basic)`)
	a := e.account("support")
	if a.Type != "inbound" || a.Protocol != "imap" || a.Host != "mail.example.test" || a.Port != 0 || a.Encryption != "ssl" || a.Auth != "basic" || a.Login != "support@example.test" {
		t.Errorf("stored account = %+v", a)
	}
	if !dns.Asked("SRV", "_imaps._tcp.example.test.") {
		t.Errorf("discovery did not ask the fake DNS; it was asked %v", dns.Queries())
	}
	// The autoconfig sources were asked first, on HTTPS.
	wantLines(t, "autoconfig requests", strings.Join(web.asked, "\n"),
		"https://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=support%40example.test",
		"https://example.test/.well-known/autoconfig/mail/config-v1.1.xml")

	// Outbound: the submission record, STARTTLS on 587 (the default).
	r = e.runWeb(web.client, false, "pw", "account", "add", "support-out", "--email", "support@example.test", "--type", "outbound", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("account add --email --type outbound: exit %d\n%s", r.code, r.err)
	}
	if r.err != "" {
		t.Errorf("an inbound-only domain's outbound add printed on stderr:\n%s", r.err)
	}
	wantLines(t, "outbound", r.out, "host          mail.example.test  (from srv _submission._tcp.example.test)",
		`Added outbound account "support-out": smtp on mail.example.test:587 (starttls, basic)`)
	if a := e.account("support-out"); a.Protocol != "smtp" || a.Encryption != "starttls" || a.Port != 0 {
		t.Errorf("stored outbound account = %+v", a)
	}
}

func TestAddEmailFlagsWinOverDiscovery(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t, "_imaps._tcp.example.test. SRV 0 1 10993 mail.example.test.")
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "account", "add", "box", "--email", "support@example.test",
		"--port", "143", "--encryption", "starttls", "--login", "support", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "flags win", r.out,
		"host          mail.example.test  (from srv _imaps._tcp.example.test)",
		"port          143                (given)",
		"encryption    starttls           (given)",
		"login         support            (given)")
	a := e.account("box")
	if a.Host != "mail.example.test" || a.Port != 143 || a.Encryption != "starttls" || a.Login != "support" {
		t.Errorf("stored account = %+v", a)
	}
	// A discovered port that is not the default is stored as such.
	r = e.runWeb(web.client, false, "pw", "account", "add", "box2", "--email", "support@example.test", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if a := e.account("box2"); a.Port != 10993 {
		t.Errorf("discovered port 10993 stored as %d", a.Port)
	}
	// --encryption picks the server found for it, with its port; a
	// server found only for the other encryption lends no port.
	dns.Add(t, "_imap._tcp.example.test. SRV 0 1 1143 mail2.example.test.")
	r = e.runWeb(web.client, false, "pw", "account", "add", "box4", "--email", "support@example.test", "--encryption", "starttls", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("--encryption starttls: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("box4"); a.Host != "mail2.example.test" || a.Port != 1143 || a.Encryption != "starttls" {
		t.Errorf("--encryption starttls with an _imap record stored %+v", a)
	}
	r = e.runWeb(web.client, false, "pw", "account", "add", "box5", "--email", "support@example.test", "--encryption", "none", "--password-stdin",
		"--property", "allow_plaintext_auth=true")
	if r.code != 0 {
		t.Fatalf("--encryption none: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("box5"); a.Host != "mail.example.test" || a.Port != 0 || a.Encryption != "none" {
		t.Errorf("--encryption none stored %+v (a port found for ssl must not be kept)", a)
	}
	// --preset wins over the servers discovery found.
	e.mustRun("", "token-config", "add", "g", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com")
	r = e.runWeb(web.client, false, "", "account", "add", "box3", "--email", "support@example.test", "--preset", "gmail", "--token-config", "g")
	if r.code != 0 {
		t.Fatalf("--preset gmail: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "--preset", r.out, "preset gmail (given)", "host imap.gmail.com (from the gmail preset)")
	if a := e.account("box3"); a.Host != "imap.gmail.com" || a.Port != 0 || a.Auth != "oauth2" {
		t.Errorf("--preset gmail stored %+v", a)
	}
}

func TestAddEmailAutoconfigSubstitutesTheLogin(t *testing.T) {
	withDNS(t)
	web := newFakeWeb(t)
	web.serve("autoconfig.auto.test/mail/config-v1.1.xml", `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="auto.test"><domain>auto.test</domain>
<incomingServer type="imap"><hostname>imap.auto.test</hostname><port>993</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.auto.test</hostname><port>465</port><socketType>SSL</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "account", "add", "jo", "--email", "jo@auto.test", "--password-stdin", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	var d struct {
		Host, Login string
		Discovery   struct {
			Email, Source string
			Fields        map[string]string
		}
	}
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	const src = "autoconfig https://autoconfig.auto.test/mail/config-v1.1.xml?emailaddress=jo%40auto.test"
	if d.Host != "imap.auto.test" || d.Login != "jo" || d.Discovery.Source != "autoconfig" || d.Discovery.Email != "jo@auto.test" ||
		d.Discovery.Fields["host"] != src || d.Discovery.Fields["login"] != src || d.Discovery.Fields["type"] != "the default" {
		t.Errorf("--json = %s", r.out)
	}
	// A server that takes OAuth2 only needs a token config, and says so.
	web.serve("autoconfig.oauth.test/mail/config-v1.1.xml", `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="oauth.test"><domain>oauth.test</domain>
<incomingServer type="imap"><hostname>imap.oauth.test</hostname><port>993</port><socketType>SSL</socketType>
<authentication>OAuth2</authentication><username>%EMAILADDRESS%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.oauth.test</hostname><port>465</port><socketType>SSL</socketType>
<authentication>OAuth2</authentication><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>`)
	r = e.runWeb(web.client, false, "", "--no-input", "account", "add", "o", "--email", "jo@oauth.test")
	if r.code != 2 {
		t.Fatalf("an OAuth2 server without --token-config: exit %d, want 2\n%s", r.code, r.err)
	}
	wantLines(t, "OAuth2", r.err, "error: the imap server imap.oauth.test signs in with OAuth2 (from autoconfig https://autoconfig.oauth.test/mail/config-v1.1.xml?emailaddress=jo%40oauth.test): pass --token-config NAME")
}

func TestAddEmailImapOrPop3IsAskedOrNamed(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t,
		"_imaps._tcp.example.test. SRV 0 1 993 mail.example.test.",
		"_pop3s._tcp.example.test. SRV 0 1 995 pop.example.test.",
	)
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "box", "--email", "support@example.test", "--password-stdin")
	if r.code != 2 {
		t.Fatalf("both IMAP and POP3 under --no-input: exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "--no-input", r.err, "example.test offers imap (mail.example.test:993, ssl) and pop3 (pop.example.test:995, ssl) and discovery cannot decide the protocol: pass --protocol imap or --protocol pop3")
	if strings.Contains(e.configText(), "box") {
		t.Errorf("the account was saved:\n%s", e.configText())
	}
	// --protocol settles it.
	r = e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "box", "--email", "support@example.test", "--protocol", "pop3", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("--protocol pop3: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("box"); a.Protocol != "pop3" || a.Host != "pop.example.test" {
		t.Errorf("--protocol pop3 stored %+v", a)
	}
	if strings.Contains(r.err, "outbound") {
		t.Errorf("an inbound add warned about the missing outbound server:\n%s", r.err)
	}
	// On a terminal the servers are offered, IMAP first; "2" picks POP3.
	e.vars["PW"] = "pw"
	r = e.runWeb(web.client, true, "2\n", "account", "add", "tty", "--email", "support@example.test", "--password-env", "PW")
	if r.code != 0 {
		t.Fatalf("on a terminal: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "the offer", r.err, "example.test offers 2 servers:",
		"  1. imap mail.example.test:993 (ssl, basic), from srv _imaps._tcp.example.test",
		"  2. pop3 pop.example.test:995 (ssl, basic), from srv _pop3s._tcp.example.test",
		"? Server (1-2) (1): ")
	if a := e.account("tty"); a.Protocol != "pop3" || a.Host != "pop.example.test" {
		t.Errorf("answer 2 stored %+v", a)
	}
}

func TestAddEmailNothingFoundUnderNoInputListsWhatIsUndecided(t *testing.T) {
	withDNS(t) // knows no name at all
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "", "--no-input", "account", "add", "box", "--email", "support@nothing.test")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "nothing found", r.err,
		"discovery found no inbound server for nothing.test (tried mx, autoconfig, autoconfig-wellknown, ispdb and srv in ",
		"`mailport discover support@nothing.test` lists them), so it cannot decide the protocol and host: pass --protocol imap|pop3|microsoft and --host HOST")
	if _, err := config.Load(e.config); err == nil && strings.Contains(e.configText(), "box") {
		t.Errorf("the account was saved:\n%s", e.configText())
	}
	// With --protocol and --host nothing is left to decide.
	r = e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "box", "--email", "support@nothing.test",
		"--protocol", "imap", "--host", "imap.nothing.test", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("with --protocol and --host: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("box"); a.Host != "imap.nothing.test" || a.Login != "support@nothing.test" {
		t.Errorf("stored %+v", a)
	}
	// On a terminal it says so and asks for what is missing, as a plain add does.
	e.vars["PW"] = "pw"
	r = e.runWeb(web.client, true, "pop3\npop.nothing.test\n", "account", "add", "tty", "--email", "support@nothing.test", "--password-env", "PW")
	if r.code != 0 {
		t.Fatalf("on a terminal: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "on a terminal", r.err, "discovery found no inbound server for nothing.test (tried mx,", "; asking instead.",
		"? Protocol (imap, pop3, microsoft, smtp) (imap): ", "? Host: ")
	if strings.Contains(r.err, "No source named") {
		t.Errorf("discovery's own 'nothing found' warning was repeated:\n%s", r.err)
	}
	if strings.Contains(r.err, "? Type") || strings.Contains(r.err, "? Login") {
		t.Errorf("asked for what --email settles:\n%s", r.err)
	}
	if a := e.account("tty"); a.Protocol != "pop3" || a.Host != "pop.nothing.test" || a.Login != "support@nothing.test" {
		t.Errorf("on a terminal stored %+v", a)
	}
}

func TestAddEmailOutsideTheDomainNeedsConfirmation(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t, "_imaps._tcp.example.test. SRV 0 1 993 imap.hoster.test.")
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "box", "--email", "support@example.test", "--password-stdin")
	if r.code != 2 {
		t.Fatalf("outside the domain under --no-input: exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "--no-input", r.err,
		"warning: imap.hoster.test is outside example.test and its mail exchanger's domain (from srv)",
		"refusing to use imap.hoster.test, outside example.test, without confirmation: pass --yes to accept it, or --host to choose the server")
	// --yes: the warning stays, the account is added.
	r = e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "box", "--email", "support@example.test", "--password-stdin", "--yes")
	if r.code != 0 {
		t.Fatalf("--yes: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "--yes", r.err, "warning: imap.hoster.test is outside example.test")
	// On a terminal it asks; "n" changes nothing.
	r = e.runWeb(web.client, true, "n\n", "account", "add", "tty", "--email", "support@example.test", "--password-env", "PW")
	if r.code != 1 || !strings.Contains(r.err, "? Use imap.hoster.test for support@example.test? [y/N] ") {
		t.Fatalf("declined on a terminal: exit %d\n%s", r.code, r.err)
	}
	if strings.Contains(e.configText(), "tty:") {
		t.Errorf("a declined account was saved:\n%s", e.configText())
	}
	// A --host typed by the user is the user's choice: no question.
	r = e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "mine", "--email", "support@example.test", "--host", "imap.example.test", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("--host given: exit %d\n%s", r.code, r.err)
	}
}

// microsoftDomain serves contoso.test as a Microsoft 365 domain: its MX
// at Exchange Online Protection and its tenant's OpenID configuration.
func microsoftDomain(t *testing.T, dns *dnstest.Server, web *fakeWeb, tenant string) {
	dns.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	web.serve("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration",
		`{"issuer":"https://login.microsoftonline.com/`+tenant+`/v2.0","token_endpoint":"https://login.microsoftonline.com/`+tenant+`/oauth2/v2.0/token"}`)
}

func TestAddEmailMicrosoftDomainGetsThePresetAndTheTenant(t *testing.T) {
	const tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	dns := withDNS(t)
	web := newFakeWeb(t)
	microsoftDomain(t, dns, web, tenant)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "", "--no-input", "account", "add", "work", "--email", "work@contoso.test")
	if r.code != 2 {
		t.Fatalf("without a token config: exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "without a token config", r.err,
		"error: contoso.test is Microsoft 365, by MX contoso-test.mail.protection.outlook.com, tenant "+tenant+"; the office365 preset signs in with OAuth2 and needs --token-config.",
		"next: mailport token-config add work --provider microsoft --tenant "+tenant+" --client-id <application id>",
		"then: mailport account add work --email work@contoso.test --token-config work")
	// The named command works as printed (with a client id), then so does add.
	e.mustRun("", "token-config", "add", "work", "--provider", "microsoft", "--tenant", tenant, "--client-id", clientID)
	r = e.runWeb(web.client, false, "", "--no-input", "account", "add", "work", "--email", "work@contoso.test", "--token-config", "work")
	if r.code != 0 {
		t.Fatalf("with --token-config: exit %d\n%s", r.code, r.err)
	}
	wantLines(t, "office365", r.out,
		"preset        office365",
		"(from Microsoft 365, by MX contoso-test.mail.protection.outlook.com)",
		"protocol      microsoft",
		"token-config  work",
		`Added inbound account "work": microsoft on`,
		"Next: mailport authenticate work")
	a := e.account("work")
	if a.Protocol != "microsoft" || a.Host != "outlook.office365.com" || a.Auth != "oauth2" || a.TokenConfig != "work" || a.Login != "work@contoso.test" {
		t.Errorf("stored %+v", a)
	}
	r = e.runWeb(web.client, false, "", "--no-input", "account", "add", "work-imap", "--email", "work@contoso.test", "--protocol", "imap", "--json")
	if r.code != 2 || !strings.Contains(r.err, "--tenant "+tenant+" --client-id <application id> --for imap") || !strings.Contains(r.err, "(or use an existing one: --token-config work)") {
		t.Errorf("--protocol imap without --token-config: exit %d\n%s", r.code, r.err)
	}
	if r.out != "" {
		t.Errorf("a failed add --json printed %q", r.out)
	}
	// On a terminal with a Microsoft token config at hand, add asks for it.
	r = e.runWeb(web.client, true, "work\n", "account", "add", "work-tty", "--email", "work@contoso.test")
	if r.code != 0 || !strings.Contains(r.err, "? Token config (work): ") {
		t.Fatalf("on a terminal: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("work-tty"); a.TokenConfig != "work" || a.Protocol != "microsoft" {
		t.Errorf("on a terminal stored %+v", a)
	}
}

func TestAddEmailMicrosoftNationalCloudNamesItsAuthority(t *testing.T) {
	const tenant = "2a3b4c5d-0000-4000-8000-000000000001"
	dns := withDNS(t)
	web := newFakeWeb(t)
	dns.Add(t, "agency.test. MX 0 agency-test.mail.protection.outlook.com.")
	web.serve("login.microsoftonline.com/agency.test/v2.0/.well-known/openid-configuration",
		`{"issuer":"https://login.microsoftonline.us/`+tenant+`/v2.0","token_endpoint":"https://login.microsoftonline.us/`+tenant+`/oauth2/v2.0/token"}`)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "", "--no-input", "account", "add", "gov", "--email", "gov@agency.test", "--type", "outbound", "--protocol", "smtp")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "national cloud", r.err,
		"next: mailport token-config add gov --provider microsoft --base-url https://login.microsoftonline.us/"+tenant+"/ --client-id <application id> --for smtp")
}

func TestAddEmailGoogleDomainNamesTheGoogleTokenConfig(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t, "hosted.test. MX 1 aspmx.l.google.com.")
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "", "--no-input", "account", "add", "sales", "--email", "sales@hosted.test", "--type", "outbound")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "google", r.err, "hosted.test is Google, by MX aspmx.l.google.com; the gmail preset signs in with OAuth2 and needs --token-config.",
		"next: mailport token-config add sales --provider google --client-id <OAuth client id> --client-secret-stdin")
	e.mustRun("", "token-config", "add", "g", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com")
	r = e.runWeb(web.client, false, "", "--no-input", "account", "add", "sales", "--email", "sales@hosted.test", "--type", "outbound", "--token-config", "g")
	if r.code != 0 {
		t.Fatalf("with --token-config: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("sales"); a.Protocol != "smtp" || a.Host != "smtp.gmail.com" || a.Encryption != "starttls" || a.Auth != "oauth2" {
		t.Errorf("stored %+v", a)
	}
}

// TestAddEmailAccountPassesTestAgainstDovecotAndPostfix is the issue's
// promise: from the address alone (SRV records in the fake DNS naming the
// bed's ports on mail.example.test, which the bed's certificate holds),
// accounts that `mailport test` passes against a real Dovecot and
// Postfix, with no host, port or encryption typed. mailport test finds
// mail.example.test through MAILPORT_RESOLVER too.
func TestAddEmailAccountPassesTestAgainstDovecotAndPostfix(t *testing.T) {
	b, err := testbed.Start(testbed.Options{CertNames: []string{"mail.example.test"}})
	testbed.Require(t, err)
	t.Cleanup(b.Stop)
	b.LogOnFailure(t)
	dns := withDNS(t)
	dns.Add(t,
		fmt.Sprintf("_imaps._tcp.example.test. SRV 0 1 %d mail.example.test.", b.IMAPSPort),
		fmt.Sprintf("_submissions._tcp.example.test. SRV 0 1 %d mail.example.test.", b.SMTPSPort),
		"mail.example.test. A 127.0.0.1",
	)
	web := newFakeWeb(t)
	e := newEnv(t)
	alice := testbed.DefaultUsers[0]
	for _, c := range []struct{ name, typ, proto string }{{"support", "inbound", "imap"}, {"support-out", "outbound", "smtp"}} {
		r := e.runWeb(web.client, false, alice.Password, "--no-input", "account", "add", c.name, "--email", alice.Name, "--type", c.typ,
			"--password-stdin", "--property", "tls_ca_file="+b.CAFile)
		if r.code != 0 {
			t.Fatalf("account add %s --email: exit %d\n%s", c.name, r.code, r.err)
		}
		if strings.Contains(r.err, "warning") {
			t.Errorf("account add %s --email warned:\n%s", c.name, r.err)
		}
		a := e.account(c.name)
		if a.Protocol != c.proto || a.Host != "mail.example.test" || a.Encryption != "ssl" || a.Login != alice.Name {
			t.Fatalf("account add %s --email stored %+v", c.name, a)
		}
		r = e.runWeb(nil, false, "", "test", c.name, "--timeout", "10s")
		if r.code != 0 || !strings.Contains(r.out, "All checks passed.") {
			t.Errorf("mailport test %s: exit %d\n%s\n%s", c.name, r.code, r.out, r.err)
		}
	}
}

func TestAddEmailProbePrefersTheServerThatAnswers(t *testing.T) {
	withDNS(t)
	pop := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"jo@probe.test": "pw"}})
	host, port, _ := strings.Cut(pop.Addr(), ":")
	closed := freePort(t)
	web := newFakeWeb(t)
	server := func(port string) string {
		return `<incomingServer type="pop3"><hostname>` + host + `</hostname><port>` + port + `</port><socketType>plain</socketType>
<authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>`
	}
	web.serve("autoconfig.probe.test/mail/config-v1.1.xml", `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="probe.test"><domain>probe.test</domain>`+server(closed)+server(port)+`
</emailProvider></clientConfig>`)
	e := newEnv(t)
	// Without --probe the file's first server is taken, dead or not.
	r := e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "blind", "--email", "jo@probe.test", "--password-stdin", "--yes")
	if r.code != 0 {
		t.Fatalf("without --probe: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("blind"); a.Port != atoi(t, closed) {
		t.Errorf("without --probe: port %d, want the file's first, %s", a.Port, closed)
	}
	r = e.runWeb(web.client, false, "pw", "--no-input", "account", "add", "probed", "--email", "jo@probe.test", "--password-stdin", "--yes", "--probe")
	if r.code != 0 {
		t.Fatalf("--probe: exit %d\n%s", r.code, r.err)
	}
	if a := e.account("probed"); a.Port != atoi(t, port) {
		t.Errorf("--probe: port %d, want the live server's %s\n%s", a.Port, port, r.out)
	}
	wantLines(t, "--probe", r.out, "host "+host+" (from autoconfig https://autoconfig.probe.test/mail/config-v1.1.xml?emailaddress=jo%40probe.test, verified live)")
	// --probe without --email is a usage error.
	if r := e.run("", "account", "add", "x", "--probe", "--type", "inbound"); r.code != 2 || !strings.Contains(r.err, "--probe checks the servers --email discovers") {
		t.Errorf("--probe alone: exit %d %q", r.code, r.err)
	}
	if r := e.run("", "account", "add", "x", "--yes", "--type", "inbound"); r.code != 2 || !strings.Contains(r.err, "--yes accepts a server --email discovers") {
		t.Errorf("--yes alone: exit %d %q", r.code, r.err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAddEmailNamesTheFileThatNamedTheServer: the ISP database entry of
// the domain names the IMAP server, the entry of its mail exchanger's
// domain names nothing mailport can use; the host is from the first, and
// the printout says so.
func TestAddEmailNamesTheFileThatNamedTheServer(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t, "example.test. MX 10 mx.hoster.test.")
	web := newFakeWeb(t)
	web.serve("autoconfig.thunderbird.net/v1.1/example.test", `<clientConfig version="1.1"><emailProvider id="example.test">
<incomingServer type="imap"><hostname>imap.example.test</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>
</emailProvider></clientConfig>`)
	web.serve("autoconfig.thunderbird.net/v1.1/hoster.test", `<clientConfig version="1.1"><emailProvider id="hoster.test">
<incomingServer type="exchange"><hostname>ews.hoster.test</hostname><port>443</port><socketType>SSL</socketType></incomingServer>
</emailProvider></clientConfig>`)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "account", "add", "box", "--email", "kim@example.test", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "account add --email", r.out,
		"host          imap.example.test  (from ispdb https://autoconfig.thunderbird.net/v1.1/example.test)")
	if strings.Contains(r.out, "v1.1/hoster.test") {
		t.Errorf("a field is credited to the mail exchanger's entry, which named nothing usable:\n%s", r.out)
	}
}

// TestAddEmailWarnsOnlyAboutItsOwnDirection: a warning about the inbound
// server is not printed when the outbound account is added, and the
// reverse.
func TestAddEmailWarnsOnlyAboutItsOwnDirection(t *testing.T) {
	dns := withDNS(t)
	dns.Add(t, "_imaps._tcp.example.test. SRV 0 1 993 imap.hoster.test.",
		"_submissions._tcp.example.test. SRV 0 1 465 smtp.example.test.")
	web := newFakeWeb(t)
	e := newEnv(t)
	r := e.runWeb(web.client, false, "pw", "account", "add", "out", "--email", "kim@example.test", "--type", "outbound", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r.err != "" {
		t.Errorf("the outbound account printed a warning about the inbound server:\n%s", r.err)
	}
	r = e.runWeb(web.client, false, "pw", "account", "add", "in", "--email", "kim@example.test", "--yes", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	wantLines(t, "inbound", r.err, "warning: imap.hoster.test is outside example.test")
}
