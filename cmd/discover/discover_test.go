package discover_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/cmd/discover"
)

const tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func TestDiscoverFlags(t *testing.T) {
	f := &cmdutil.Factory{}
	var got *discover.Options
	c := discover.NewCmdDiscover(f, func(o *discover.Options) error { got = o; return nil })
	c.SetArgs([]string{"a@corp.test", "--probe", "--protocol", "POP", "--timeout", "3s"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Email != "a@corp.test" || !got.Probe || got.Protocol != "pop3" || got.Timeout.String() != "3s" {
		t.Errorf("options %+v", got)
	}
}

func TestDiscoverUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"discover"}, "error: missing an email address; see `mailport discover --help`"},
		{[]string{"discover", "not-an-address"}, `error: "not-an-address" is not an email address such as support@example.com`},
		{[]string{"discover", "a@corp.test", "--protocol", "smtp"}, `--protocol: "smtp" is not one of imap, pop3`},
		{[]string{"discover", "a@corp.test", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		r := mailport(t, nil, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("mailport %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
	}
}

func TestInvalidResolverIsAConfigurationError(t *testing.T) {
	t.Setenv("MAILPORT_RESOLVER", "dns.corp.test")
	r := mailport(t, nil, nil, "discover", "a@corp.test")
	want := `error: MAILPORT_RESOLVER="dns.corp.test": not an IP address and port such as 127.0.0.1:53; unset it to use the system's resolver` + "\n"
	if r.code != 2 || r.err != want || r.out != "" {
		t.Errorf("exit %d\nstderr %q\nwant 2 and %q", r.code, r.err, want)
	}
	// The same for every command that could look a name up.
	if r := mailport(t, nil, nil, "test", "box"); r.code != 2 || !strings.Contains(r.err, "MAILPORT_RESOLVER") {
		t.Errorf("test: exit %d, stderr %q", r.code, r.err)
	}
	// Commands that look nothing up still run.
	for _, args := range [][]string{{"version"}, {"explain", "wrong-protocol"}, {"completion", "bash"}} {
		if r := mailport(t, nil, nil, args...); r.code != 0 || r.err != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
	}
}

func TestNothingFoundExitsOne(t *testing.T) {
	startDNS(t)
	w := newWeb(t)
	r := mailport(t, w, nil, "discover", "a@corp.test", "--timeout", "2s")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	mustContain(t, "output", r.out, "No servers found for a@corp.test.", "Sources tried:",
		"  mx                    corp.test", "  srv                   _submission._tcp.corp.test", "No source named a server for corp.test.")
	if strings.Contains(r.out, "Next:") {
		t.Errorf("next steps printed for nothing found:\n%s", r.out)
	}
}

func TestMicrosoftDomainNamesTheTokenConfigCommand(t *testing.T) {
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration",
		`{"issuer":"https://login.microsoftonline.com/`+tenantID+`/v2.0","token_endpoint":"https://login.microsoftonline.com/`+tenantID+`/oauth2/v2.0/token"}`)
	r := mailport(t, w, nil, "discover", "support@contoso.test")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	mustContain(t, "output", r.out,
		"Servers for support@contoso.test (from the domain's MX records):\n",
		"Provider: Microsoft 365 (preset office365), tenant "+tenantID+"\n",
		"  microsoft  graph.microsoft.com:443    ssl       oauth2  login support@contoso.test\n",
		"  smtp       smtp.office365.com:587     starttls  oauth2  login support@contoso.test\n",
		"mailport token-config add ms365 --provider microsoft --tenant "+tenantID+" --client-id <application id>\n",
		"mailport account add NAME --preset office365 --type inbound --protocol microsoft --login support@contoso.test --token-config ms365\n")
	r = mailport(t, w, nil, "discover", "support@contoso.test", "--protocol", "imap")
	mustContain(t, "output with --protocol imap", r.out, "--for imap\n", "--protocol imap --login")
}

func TestJSONIsTheResult(t *testing.T) {
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 mail.corp.test.", "_submission._tcp.corp.test. SRV 0 0 587 mail.corp.test.")
	r := mailport(t, w, nil, "discover", "a@corp.test", "--json")
	if r.code != 0 || r.err != "" {
		t.Fatalf("exit %d stderr %q", r.code, r.err)
	}
	var got struct {
		Email, Source string
		Inbound       []map[string]any
		Tried         []map[string]string
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if got.Email != "a@corp.test" || got.Source != "srv" || len(got.Inbound) != 1 || got.Inbound[0]["host"] != "mail.corp.test" || got.Inbound[0]["outside_domain"] != false {
		t.Errorf("%s", r.out)
	}
	if _, ok := got.Inbound[0]["probe"]; ok {
		t.Errorf("probe present without --probe: %v", got.Inbound[0])
	}
}

// autoconfigFor is an autoconfig file naming the bed's ports under host.
func autoconfigFor(host string, imaps, pop3, submission int) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="corp.test">
<incomingServer type="imap"><hostname>%[1]s</hostname><port>%[2]d</port><socketType>SSL</socketType><username>%%EMAILADDRESS%%</username><authentication>password-cleartext</authentication></incomingServer>
<incomingServer type="pop3"><hostname>%[1]s</hostname><port>%[3]d</port><socketType>STARTTLS</socketType><username>%%EMAILADDRESS%%</username><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>%[1]s</hostname><port>%[4]d</port><socketType>STARTTLS</socketType><username>%%EMAILADDRESS%%</username><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>`, host, imaps, pop3, submission)
}

func TestProbeAutoconfigDomainAgainstDovecotAndPostfix(t *testing.T) {
	b := needBed(t)
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "corp.test. MX 10 mail.corp.test.", "mail.corp.test. A "+b.Host)
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", autoconfigFor("mail.corp.test", b.IMAPSPort, b.POP3Port, b.SubmissionPort))
	r := mailport(t, w, nil, "discover", "alice@corp.test", "--probe", "--timeout", "5s")
	t.Logf("mailport discover alice@corp.test --probe (exit %d):\n%s", r.code, r.out)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.err)
	}
	mustContain(t, "output", r.out, "Servers for alice@corp.test (from the domain's autoconfig file):")
	verified(t, r.out, fmt.Sprintf("imap  mail.corp.test:%d  ssl       basic  login alice@corp.test  [verified: TLS ok, IMAP greeting, AUTH=", b.IMAPSPort))
	verified(t, r.out, fmt.Sprintf("pop3  mail.corp.test:%d  starttls  basic  login alice@corp.test  [verified: STARTTLS ok, POP3 greeting, AUTH=", b.POP3Port))
	verified(t, r.out, fmt.Sprintf("smtp  mail.corp.test:%d  starttls  basic  login alice@corp.test  [verified: STARTTLS ok, SMTP greeting, AUTH=", b.SubmissionPort))
}

func TestProbeSRVOnlyDomainAgainstDovecotAndPostfix(t *testing.T) {
	b := needBed(t)
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "mail.example.test. A "+b.Host,
		"_imaps._tcp.example.test. SRV 0 0 "+strconv.Itoa(b.IMAPSPort)+" mail.example.test.",
		"_imap._tcp.example.test. SRV 0 0 "+strconv.Itoa(b.IMAPPort)+" mail.example.test.",
		"_pop3s._tcp.example.test. SRV 0 0 0 .",
		"_submissions._tcp.example.test. SRV 0 0 "+strconv.Itoa(b.SMTPSPort)+" mail.example.test.",
		"_submission._tcp.example.test. SRV 10 0 "+strconv.Itoa(b.SubmissionPort)+" mail.example.test.",
	)
	r := mailport(t, w, nil, "discover", "bob@example.test", "--probe", "--timeout", "5s")
	t.Logf("mailport discover bob@example.test --probe (exit %d):\n%s", r.code, r.out)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.err)
	}
	mustContain(t, "output", r.out, "Servers for bob@example.test (from the domain's SRV records):", "not offered (target \".\")")
	verified(t, r.out, fmt.Sprintf("imap  mail.example.test:%d  ssl       basic  login bob@example.test  [verified: TLS ok, IMAP greeting, AUTH=", b.IMAPSPort))
	verified(t, r.out, fmt.Sprintf("imap  mail.example.test:%d  starttls  basic  login bob@example.test  [verified: STARTTLS ok, IMAP greeting, AUTH=", b.IMAPPort))
	verified(t, r.out, fmt.Sprintf("smtp  mail.example.test:%d  ssl       basic  login bob@example.test  [verified: TLS ok, SMTP greeting, AUTH=", b.SMTPSPort))
	verified(t, r.out, fmt.Sprintf("smtp  mail.example.test:%d  starttls  basic  login bob@example.test  [verified: STARTTLS ok, SMTP greeting, AUTH=", b.SubmissionPort))
	if strings.Index(r.out, fmt.Sprintf(":%d ", b.SMTPSPort)) > strings.Index(r.out, fmt.Sprintf(":%d ", b.SubmissionPort)) {
		t.Errorf("implicit TLS submission is not listed first (RFC 8314)")
	}
}

func TestProbeMicrosoftDomain(t *testing.T) {
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "contoso.test. MX 0 contoso-test.mail.protection.outlook.com.")
	w.page("login.microsoftonline.com/contoso.test/v2.0/.well-known/openid-configuration",
		`{"issuer":"https://login.microsoftonline.com/`+tenantID+`/v2.0"}`)
	r := mailport(t, w, nil, "discover", "support@contoso.test", "--probe", "--timeout", "2s")
	t.Logf("mailport discover support@contoso.test --probe (exit %d; Microsoft's hosts are unknown to the test's DNS):\n%s", r.code, r.out)
	if r.code != 0 {
		t.Fatalf("exit %d: a complete set was found, whatever the probe says\n%s", r.code, r.err)
	}
	mustContain(t, "output", r.out, "tenant "+tenantID, "[failed: DNS failed: ", "--tenant "+tenantID)
}

// An account whose host only the fake DNS knows: `mailport test` passes
// with MAILPORT_RESOLVER and fails at DNS without it.
func TestMailportTestUsesMAILPORT_RESOLVER(t *testing.T) {
	b := needBed(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(`version: 1
accounts:
  box:
    type: inbound
    protocol: imap
    host: mail.corp.test
    port: %d
    encryption: ssl
    auth: basic
    login: alice@example.test
`, b.IMAPSPort)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"config": cfg, "MAILPORT_PASSWORD_BOX": "alice-password"}
	d := startDNS(t)
	d.Add(t, "mail.corp.test. A "+b.Host)
	r := mailport(t, nil, env, "test", "box", "--timeout", "5s")
	if r.code != 0 {
		t.Fatalf("mailport test box with MAILPORT_RESOLVER: exit %d\n%s%s", r.code, r.out, r.err)
	}
	mustContain(t, "test output", r.out, "mail.corp.test → 127.0.0.1 (asked the DNS server "+d.Addr+" (MAILPORT_RESOLVER))")
	if !d.Asked("A", "mail.corp.test") {
		t.Errorf("the fake DNS was not asked: %v", d.Queries())
	}
	t.Logf("mailport test box with MAILPORT_RESOLVER:\n%s", r.out)

	d.Silent() // the name now resolves nowhere
	r = mailport(t, nil, env, "test", "box", "--timeout", "1s")
	if r.code != 1 {
		t.Fatalf("with a silent DNS server: exit %d\n%s%s", r.code, r.out, r.err)
	}
	mustContain(t, "test output", r.out, "no address for mail.corp.test")
}

// verified finds the line starting with prefix (after the indent) and
// checks that the server offered PLAIN, the password's mechanism.
func verified(t *testing.T, out, prefix string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			if !strings.Contains(line, "PLAIN") || !strings.HasSuffix(line, "]") {
				t.Errorf("line %q: want PLAIN among the mechanisms", line)
			}
			return
		}
	}
	t.Errorf("no line starting %q in:\n%s", prefix, out)
}

func TestTextNamesSourcesWarningsAndNextSteps(t *testing.T) {
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "corp.test. MX 10 mx.corp.test.")
	w.page("autoconfig.corp.test/mail/config-v1.1.xml", `<clientConfig version="1.1"><emailProvider id="corp.test">
<incomingServer type="imap"><hostname>imap.elsewhere.test</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.corp.test</hostname><port>465</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>`)
	r := mailport(t, w, nil, "discover", "kim@corp.test")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	want := `Servers for kim@corp.test (from the domain's autoconfig file):

Inbound:
  imap  imap.elsewhere.test:993  ssl  basic  login kim            (outside corp.test)

Outbound:
  smtp  smtp.corp.test:465       ssl  basic  login kim@corp.test

Sources tried:
  mx          corp.test  mail exchanger mx.corp.test: no known provider
  autoconfig  https://autoconfig.corp.test/mail/config-v1.1.xml?emailaddress=kim%40corp.test  2 servers (1 inbound, 1 outbound)

Warnings:
  imap.elsewhere.test is outside corp.test and its mail exchanger's domain (from autoconfig): make sure you trust it before giving it your password.

Next:
  mailport account add NAME --type inbound --protocol imap --host imap.elsewhere.test --port 993 --encryption ssl --auth basic --login kim --password-stdin
  mailport account add NAME-out --type outbound --protocol smtp --host smtp.corp.test --port 465 --encryption ssl --auth basic --login kim@corp.test --password-stdin
`
	if r.out != want {
		t.Errorf("output:\n%s\nwant:\n%s", r.out, want)
	}
}

// TestDocsSRVOnlyExample runs the SRV-only example of docs/discovery.md
// against a fake DNS that serves what the example describes, and checks
// the printout is the one the page shows (up to its "…").
func TestDocsSRVOnlyExample(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "discovery.md"))
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "$ MAILPORT_RESOLVER=127.0.0.1:5353 mailport discover support@example.org\n"
	_, block, ok := strings.Cut(string(page), prompt)
	if !ok {
		t.Fatalf("docs/discovery.md no longer shows %q", prompt)
	}
	block, _, ok = strings.Cut(block, "  …\n")
	if !ok {
		t.Fatal("the example in docs/discovery.md no longer ends with \"  …\"")
	}
	d := startDNS(t)
	d.Add(t, "example.org. MX 10 mx1.example.org.")
	d.Add(t, "_imaps._tcp.example.org. SRV 0 0 993 mail.example.org.")
	d.Add(t, "_imap._tcp.example.org. SRV 0 0 0 .")
	d.Add(t, "_submissions._tcp.example.org. SRV 0 0 465 mail.example.org.")
	w := newWeb(t)
	r := mailport(t, w, nil, "discover", "support@example.org", "--timeout", "2s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	if !strings.HasPrefix(r.out, block) {
		t.Errorf("output:\n%s\ndocs/discovery.md shows:\n%s", r.out, block)
	}
}

// TestPartialSetNamesTheSideFound: only an inbound server is found, so
// discover exits 1 but still gives the command for that side.
func TestPartialSetNamesTheSideFound(t *testing.T) {
	d := startDNS(t)
	w := newWeb(t)
	d.Add(t, "_imaps._tcp.corp.test. SRV 0 0 993 mail.corp.test.")
	r := mailport(t, w, nil, "discover", "a@corp.test", "--timeout", "2s")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	mustContain(t, "output", r.out, "Next:\n  mailport account add NAME --type inbound --protocol imap --host mail.corp.test --port 993 --encryption ssl --auth basic --login a@corp.test --password-stdin\n")
	if strings.Contains(r.out, "NAME-out") {
		t.Errorf("an outbound command without an outbound server:\n%s", r.out)
	}
}
