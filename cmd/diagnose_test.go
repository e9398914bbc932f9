package cmd

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

var updateGolden = os.Getenv("MAILPORT_UPDATE_GOLDEN") == "1"

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
	if updateGolden {
		os.WriteFile(path, []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (MAILPORT_UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
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
	var rep struct {
		Account  string `json:"account"`
		Type     string `json:"type"`
		Protocol string `json:"protocol"`
		Auth     string `json:"auth"`
		Login    string `json:"login"`
		Server   string `json:"server"`
		Result   string `json:"result"`
		Reauth   *bool  `json:"reauth_required"`
		Checks   []struct {
			ID         string  `json:"id"`
			Name       string  `json:"name"`
			Status     string  `json:"status"`
			Saw        *string `json:"saw"`
			DurationMS *int64  `json:"duration_ms"`
			Findings   []struct {
				Status string `json:"status"`
				Entry  string `json:"entry"`
				Said   string `json:"server_said"`
				Error  string `json:"error"`
				Cause  string `json:"cause"`
				Fix    string `json:"fix"`
			} `json:"findings"`
		} `json:"checks"`
	}
	dec := json.NewDecoder(strings.NewReader(r.out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("--json shape: %v\n%s", err, r.out)
	}
	var ids []string
	for _, c := range rep.Checks {
		ids = append(ids, c.ID+"="+c.Status)
		if c.Saw == nil || c.DurationMS == nil || c.Name == "" {
			t.Errorf("check %s lacks saw/duration_ms/name", c.ID)
		}
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
	if r.code != 1 || !strings.Contains(r.out, "docs/troubleshooting.md#token-config-direction") || !strings.Contains(r.out, "skip  DNS") {
		t.Fatalf("exit %d\n%s%s", r.code, r.out, r.err)
	}
}
