package cmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// -update (as in pkg/diagnose) or MAILPORT_UPDATE_GOLDEN=1 rewrites the
// golden files instead of comparing with them.
var updateFlag = flag.Bool("update", false, "rewrite the golden files in pkg/diagnose/testdata")

func updateGolden() bool { return *updateFlag || os.Getenv("MAILPORT_UPDATE_GOLDEN") == "1" }

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return p
}

// normalise drops what changes between runs: durations and ports.
func normalise(s, port string) string {
	s = regexp.MustCompile(`\(\d+(\.\d+)?m?s\)`).ReplaceAllString(s, "(T)")
	return strings.ReplaceAll(s, port, "PORT")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "pkg", "diagnose", "testdata", name)
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// reportSchema is the JSON shape `mailport test --help` documents for one
// account; decoding with DisallowUnknownFields catches an undocumented key.
// Pointers mark the keys that must be present even when false or empty.
type reportSchema struct {
	Account  string        `json:"account"`
	Type     string        `json:"type"`
	Protocol string        `json:"protocol"`
	Auth     string        `json:"auth"`
	Login    string        `json:"login"`
	Server   string        `json:"server"`
	Result   string        `json:"result"`
	Reauth   *bool         `json:"reauth_required"`
	Checks   []checkSchema `json:"checks"`
}

type checkSchema struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Status     string          `json:"status"`
	Saw        *string         `json:"saw"`
	DurationMS *int64          `json:"duration_ms"`
	Findings   []findingSchema `json:"findings"`
}

type findingSchema struct {
	Status string `json:"status"`
	Entry  string `json:"entry"`
	Said   string `json:"server_said"`
	Error  string `json:"error"`
	Cause  string `json:"cause"`
	Fix    string `json:"fix"`
}

// requireKeys fails the test for a report that lacks a key every report
// carries, or a warn/fail finding without its status, cause and fix.
func (rep *reportSchema) requireKeys(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{"account": rep.Account, "type": rep.Type, "protocol": rep.Protocol, "auth": rep.Auth,
		"login": rep.Login, "server": rep.Server, "result": rep.Result} {
		if v == "" {
			t.Errorf("report of %q lacks %s", rep.Account, k)
		}
	}
	if rep.Reauth == nil || len(rep.Checks) == 0 {
		t.Errorf("report of %q lacks reauth_required or checks", rep.Account)
	}
	for _, c := range rep.Checks {
		if c.ID == "" || c.Name == "" || c.Status == "" || c.Saw == nil || c.DurationMS == nil {
			t.Errorf("%s: check %q lacks id/name/status/saw/duration_ms", rep.Account, c.ID)
		}
		for _, f := range c.Findings {
			if (f.Status != "warn" && f.Status != "fail") || f.Cause == "" || f.Fix == "" {
				t.Errorf("%s: check %s has a finding without status/cause/fix: %+v", rep.Account, c.ID, f)
			}
		}
	}
}

func TestTestCommandRefusedGoldenAndJSON(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", port, "--encryption", "ssl", "--login", "a@example.test", "--password-stdin")
	r := e.run("", "test", "box", "--timeout", "2s")
	if r.code != 1 || r.err != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	golden(t, "refused.golden", normalise(r.out, port))
	if strings.Contains(r.out, "\x1b[") {
		t.Error("colour when piped")
	}

	r = e.run("", "test", "box", "--json")
	if r.code != 1 {
		t.Fatalf("--json exit %d", r.code)
	}
	var rep reportSchema
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("--json shape: %v\n%s", err, r.out)
	}
	rep.requireKeys(t)
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID+"="+c.Status)
	}
	want := "config=ok secrets=ok dns=ok tcp=fail tls=skip greeting=skip capabilities=skip auth=skip folder=skip"
	if strings.Join(ids, " ") != want || rep.Result != "fail" || rep.Reauth == nil || *rep.Reauth {
		t.Fatalf("checks %v result %s", ids, rep.Result)
	}
	if f := rep.Checks[3].Findings; len(f) != 1 || f[0].Entry != "tcp-refused" || f[0].Status != "fail" || f[0].Cause == "" || f[0].Fix == "" {
		t.Fatalf("tcp findings %+v", f)
	}
}

func TestTestCommandExitCodes(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL})
	s.AddUser("bob", "pw")
	host, port, _ := net.SplitHostPort(s.Addr())
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "good", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--login", "bob", "--password-stdin", "--property", "tls_ca_file="+s.CAFile())
	e.mustRun("", "account", "add", "nopw", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--login", "bob", "--property", "tls_ca_file="+s.CAFile())
	trace := filepath.Join(e.dir, "trace.txt")
	r := e.run("", "--trace", trace, "test", "good")
	if r.code != 0 || !strings.Contains(r.out, "All checks passed") {
		t.Fatalf("good: exit %d\n%s%s", r.code, r.out, r.err)
	}
	tr, _ := os.ReadFile(trace)
	if !strings.Contains(string(tr), "imap ") || strings.Contains(string(tr), " pw") {
		t.Errorf("trace:\n%s", tr)
	}
	r = e.run("", "test", "nopw")
	if r.code != 3 || r.err != "error: account nopw has no password: store it with mailport account edit nopw --password-stdin\n" {
		t.Fatalf("no password: exit %d stderr %q", r.code, r.err)
	}
	r = e.run("", "test", "--all")
	if r.code != 3 || !regexp.MustCompile(`(?m)^good\t(ok|warn)\t`).MatchString(r.out) || !strings.Contains(r.out, "nopw\tFAIL\tsecrets: No password") || strings.Count(r.out, "\n") != 2 {
		t.Fatalf("--all: exit %d\n%s", r.code, r.out)
	}
	for _, bad := range [][]string{{"test"}, {"test", "good", "--all"}, {"test", "nope"}, {"test", "good", "--timeout", "0s"}, {"test", "good", "--send-to", "x@y"}} {
		if r := e.run("", bad...); r.code != 2 || strings.Count(r.err, "\n") != 1 {
			t.Errorf("%v: exit %d stderr %q", bad, r.code, r.err)
		}
	}
	if r := e.mustRun("", "test", "--help"); !strings.Contains(r.out, "Example") && !strings.Contains(r.out, "Examples") {
		t.Error("no example in --help")
	}
}

// A config that does not validate is still diagnosed, naming the problem.
func TestTestCommandOnInvalidConfig(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(e.config, []byte(`version: 1
token_configs:
  ms:
    provider: microsoft
    client_id: `+clientID+`
    base_url: https://login.microsoftonline.com/contoso.com/
    scopes: [https://outlook.office.com/IMAP.AccessAsUser.All, offline_access]
    inbound: false
    outbound: true
accounts:
  box:
    enabled: true
    type: inbound
    protocol: imap
    host: outlook.office365.com
    encryption: ssl
    auth: oauth2
    login: a@contoso.com
    token_config: ms
`), 0o600)
	r := e.run("", "test", "box")
	// Exit 2: a configuration error, as authenticate's for the same file.
	if r.code != 2 || !strings.Contains(r.out, "see:   mailport explain token-config-direction") || !strings.Contains(r.out, "skip  DNS") {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// runTerminal runs mailport with stdout and stderr on a terminal that
// allows colour, as a support person at a shell would.
func (e *env) runTerminal(args ...string) result {
	e.t.Helper()
	var in, out, errOut bytes.Buffer
	ios := &iostreams.IOStreams{In: &in, Out: &out, ErrOut: &errOut}
	ios.SetTTY(false, true, true)
	f := &cmdutil.Factory{
		IO: ios, Getenv: func(k string) string { return e.vars[k] }, Now: time.Now,
		OpenStore: func(string, string) (secret.Store, error) { return e.store, nil },
	}
	code := Run(f, append([]string{"--config", e.config}, args...))
	return result{out.String(), errOut.String(), code}
}

// On a terminal the marks are coloured; NO_COLOR turns that off.
func TestTestCommandTerminalColourGolden(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", port, "--encryption", "ssl", "--login", "a@example.test", "--password-stdin")
	r := e.runTerminal("test", "box", "--timeout", "2s")
	if r.code != 1 || r.err != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	golden(t, "refused-color.golden", normalise(r.out, port))
	for _, want := range []string{"\x1b[32mok  \x1b[0m", "\x1b[31mFAIL\x1b[0m", "\x1b[2mskip\x1b[0m"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("no %q on a terminal:\n%s", want, r.out)
		}
	}
	e.vars["NO_COLOR"] = "1"
	if r := e.runTerminal("test", "box", "--timeout", "2s"); r.code != 1 || strings.Contains(r.out, "\x1b[") {
		t.Errorf("NO_COLOR: exit %d, colour in\n%q", r.code, r.out)
	}
	delete(e.vars, "NO_COLOR")
	if r := e.runTerminal("test", "box", "--timeout", "2s", "--json"); r.code != 1 || strings.Contains(r.out, "\x1b[") {
		t.Errorf("--json: exit %d, colour in\n%q", r.code, r.out)
	}
}

// graphEnv is a Graph account (protocol microsoft) on graphtest, signed in
// at the fake Microsoft; tenant contoso.com is one of the placeholders the
// configuration check warns about.
func graphEnv(t *testing.T, tenant, folder string) (*env, *graphtest.Server) {
	t.Helper()
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: tenant})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	g.AddFolder("support@contoso.com", "Inbox/Endpoint")
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL(tenant), "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--folder", folder, "--property", "graph_url="+g.URL)
	return e, g
}

func graphPort(t *testing.T, g *graphtest.Server) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(g.URL, "/v1.0"), "http://"))
	if err != nil {
		t.Fatalf("graphtest URL %q: %v", g.URL, err)
	}
	return port
}

// Warnings and a failure, each with its troubleshooting entry; the
// failure keeps Graph's own words.
func TestTestCommandWarnAndFailFindingsGolden(t *testing.T) {
	e, g := graphEnv(t, "contoso.com", `Inbox\Endpoint`)
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	r := e.run("", "test", "support")
	if r.code != 1 || r.err != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.err, r.out)
	}
	out := normalise(r.out, graphPort(t, g))
	golden(t, "findings.golden", out)
	for _, want := range []string{
		"  warn  configuration ", "        see:   mailport explain tenant-placeholder\n",
		"  warn  token fits ", "        see:   mailport explain token-missing-scope\n",
		"  FAIL  folder         no folder path \"Inbox\\Endpoint\"", "        server said: ErrorInvalidIdMalformed", "        see:   mailport explain graph-id-malformed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// Exit 3 names what the account lacks by its auth type: a token for
// OAuth2 (authenticate), a password for basic (account edit).
func TestTestCommandReauthWords(t *testing.T) {
	e, g := graphEnv(t, "fabrikam.onmicrosoft.com", "Inbox")
	r := e.run("", "test", "support")
	if r.code != 3 || r.err != "error: account support is not authenticated: run mailport authenticate support\n" {
		t.Fatalf("OAuth2 without a token: exit %d, stderr %q", r.code, r.err)
	}
	golden(t, "reauth.golden", normalise(r.out, graphPort(t, g)))
	if !strings.HasSuffix(r.out, "\n1 check failed: the account is not authenticated; run mailport authenticate support.\n") {
		t.Errorf("OAuth2 verdict:\n%s", r.out)
	}

	e.mustRun("", "account", "add", "nopw", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", freePort(t), "--encryption", "ssl", "--login", "bob")
	r = e.run("", "test", "nopw")
	if r.code != 3 || r.err != "error: account nopw has no password: store it with mailport account edit nopw --password-stdin\n" {
		t.Fatalf("basic without a password: exit %d, stderr %q", r.code, r.err)
	}
	// Two checks: the secrets, and TCP on a port where nothing listens.
	if !strings.HasSuffix(r.out, "\n2 checks failed: the account has no password; store it with mailport account edit nopw --password-stdin.\n") {
		t.Errorf("basic verdict:\n%s", r.out)
	}

	r = e.run("", "test", "--all")
	want := "error: account nopw has no password: store it with mailport account edit nopw --password-stdin; " +
		"account support is not authenticated: run mailport authenticate support\n"
	if r.code != 3 || r.err != want {
		t.Fatalf("--all: exit %d, stderr %q", r.code, r.err)
	}
}

// allEnv has one account of each outcome for --all: passing, refused,
// without a password, not authenticated, and a disabled one --all skips.
func allEnv(t *testing.T) (*env, []string) {
	t.Helper()
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL})
	s.AddUser("bob", "pw")
	host, port, _ := net.SplitHostPort(s.Addr())
	refused := freePort(t)
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "good", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--login", "bob", "--password-stdin", "--property", "tls_ca_file="+s.CAFile())
	e.mustRun("pw", "account", "add", "refused", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", refused, "--encryption", "ssl", "--login", "bob", "--password-stdin")
	e.mustRun("", "account", "add", "nopw", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--login", "bob", "--property", "tls_ca_file="+s.CAFile())
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--tenant", "fabrikam.onmicrosoft.com", "--client-id", clientID, "--for", "imap")
	e.mustRun("", "account", "add", "oauth", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--auth", "oauth2", "--token-config", "ms", "--login", "bob", "--property", "tls_ca_file="+s.CAFile())
	e.mustRun("pw", "account", "add", "off", "--type", "inbound", "--protocol", "imap", "--host", host, "--port", port, "--encryption", "ssl", "--login", "bob", "--password-stdin", "--disabled")
	return e, []string{port, refused}
}

func TestTestAllSummaryGoldenAndJSON(t *testing.T) {
	e, ports := allEnv(t)
	r := e.run("", "test", "--all")
	if r.code != 3 || r.err != "error: account nopw has no password: store it with mailport account edit nopw --password-stdin; account oauth is not authenticated: run mailport authenticate oauth\n" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.err, r.out)
	}
	out := r.out
	for _, p := range ports {
		out = normalise(out, p)
	}
	golden(t, "all.golden", out)

	r = e.run("", "test", "--all", "--json")
	if r.code != 3 {
		t.Fatalf("--json: exit %d, stderr %q", r.code, r.err)
	}
	var all struct {
		Accounts []reportSchema `json:"accounts"`
	}
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&all); err != nil {
		t.Fatalf("--all --json shape: %v\n%s", err, r.out)
	}
	var got []string
	for _, rep := range all.Accounts {
		rep.requireKeys(t)
		got = append(got, rep.Account+"="+rep.Result+"/"+strconvBool(*rep.Reauth))
	}
	if want := "good=ok/false nopw=fail/true oauth=fail/true refused=fail/false"; strings.Join(got, " ") != want {
		t.Fatalf("accounts %v, want %s", got, want)
	}
}

func strconvBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// jsonKeys collects every object key in a JSON document.
func jsonKeys(t *testing.T, doc string, into map[string]bool) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				into[k] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
}

// `mailport test --help` documents every key the JSON output carries.
func TestTestHelpDocumentsEveryJSONKey(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "nodns", "--type", "inbound", "--protocol", "imap", "--host", "no-such-host.invalid", "--encryption", "ssl", "--login", "a@example.test", "--password-stdin")
	e.mustRun("pw", "account", "add", "refused", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", freePort(t), "--encryption", "ssl", "--login", "a@example.test", "--password-stdin")
	keys := map[string]bool{}
	for _, args := range [][]string{{"test", "nodns", "--json", "--timeout", "3s"}, {"test", "refused", "--json"}, {"test", "--all", "--json", "--timeout", "3s"}} {
		r := e.run("", args...)
		if r.code != 1 {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
		jsonKeys(t, r.out, keys)
	}
	if !keys["error"] || !keys["findings"] || !keys["accounts"] {
		t.Fatalf("the outputs lack the keys this test is about: %v", keys)
	}
	help := e.mustRun("", "test", "--help").out
	for k := range keys {
		if !strings.Contains(help, `"`+k+`"`) {
			t.Errorf("--json key %q is not in `mailport test --help`", k)
		}
	}
}

// For a Graph account DNS looks up graph_url's host: the fix names
// graph_url, not --host and Exchange's hosts.
func TestTestGraphDNSFailureNamesGraphURL(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--tenant", "fabrikam.onmicrosoft.com", "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@fabrikam.onmicrosoft.com", "--property", "graph_url=https://x.invalid/v1.0")
	r := e.run("", "test", "support", "--json", "--timeout", "3s")
	if r.code != 3 {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	var rep reportSchema
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	var dns *checkSchema
	for i := range rep.Checks {
		if rep.Checks[i].ID == "dns" {
			dns = &rep.Checks[i]
		}
	}
	if dns == nil || dns.Status != "fail" || len(dns.Findings) != 1 {
		t.Fatalf("dns check: %+v", dns)
	}
	f := dns.Findings[0]
	if f.Entry != "graph-dns-failure" || !strings.Contains(f.Cause, "x.invalid") || !strings.Contains(f.Cause, "graph_url") {
		t.Errorf("finding %+v", f)
	}
	if !strings.Contains(f.Fix, "mailport account edit support --property graph_url=") || strings.Contains(f.Fix, "--host") || strings.Contains(f.Fix, "office365") {
		t.Errorf("fix: %s", f.Fix)
	}
}

// TestTestAllRunsAccountsSideBySide: four accounts whose servers never
// greet take about one timeout together, not four; and the lines come in
// name order even when the first account finishes last.
func TestTestAllRunsAccountsSideBySide(t *testing.T) {
	const timeout = 500 * time.Millisecond
	var silent *hostile.Server
	silent = hostile.Start(t, func(c net.Conn) { hostile.Stall(silent, c) })
	addPOP3 := func(e *env, name, port string) {
		e.mustRun("pw", "account", "add", name, "--type", "inbound", "--protocol", "pop3", "--host", "127.0.0.1", "--port", port,
			"--encryption", "none", "--login", "bob", "--password-stdin", "--property", "allow_plaintext_auth=true")
	}
	e := newEnv(t)
	for _, n := range []string{"d", "c", "b", "a"} {
		addPOP3(e, n, itoa(silent.Port))
	}
	start := time.Now()
	e.run("", "test", "a", "--timeout", timeout.String())
	one := time.Since(start)
	start = time.Now()
	r := e.run("", "test", "--all", "--timeout", timeout.String())
	took := time.Since(start)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
	if took > one*3/2 {
		t.Errorf("four silent servers took %v, one took %v: the accounts were not checked side by side", took, one)
	}
	t.Logf("silent servers, --timeout %v: one account %v, four with --all %v", timeout, one, took)
	var first []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		first = append(first, strings.SplitN(line, "\t", 2)[0])
	}
	if strings.Join(first, " ") != "a b c d" {
		t.Errorf("lines in order %v, want a b c d:\n%s", first, r.out)
	}

	// a waits for a silent server; b, c and d are refused at once and
	// finish first. The output is still a, b, c, d, in text and JSON.
	e = newEnv(t)
	addPOP3(e, "a", itoa(silent.Port))
	for _, n := range []string{"b", "c", "d"} {
		addPOP3(e, n, freePort(t))
	}
	r = e.run("", "test", "--all", "--timeout", timeout.String())
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		lines = append(lines, strings.SplitN(line, "\t", 3)[0]+" "+strings.SplitN(line, "\t", 3)[2])
	}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "a TLS:") || !strings.HasPrefix(lines[1], "b TCP connect:") ||
		!strings.HasPrefix(lines[2], "c TCP") || !strings.HasPrefix(lines[3], "d TCP") {
		t.Errorf("text order:\n%s", r.out)
	}
	r = e.run("", "test", "--all", "--json", "--timeout", timeout.String())
	var all struct {
		Accounts []struct {
			Account string `json:"account"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(r.out), &all); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	var got []string
	for _, a := range all.Accounts {
		got = append(got, a.Account)
	}
	if strings.Join(got, " ") != "a b c d" {
		t.Errorf("--json order %v, want a b c d", got)
	}
}
