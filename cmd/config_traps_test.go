package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A property key mailport does not read would silently do nothing: add
// and edit refuse it naming the closest known key; one in the file fails
// config validate and is a warning for other commands.
func TestUnknownPropertyIsRefused(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "ci", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin")
	before := e.configText()
	for _, args := range [][]string{
		{"account", "edit", "ci", "--property", "tls_ca=/etc/ca.pem"},
		{"account", "add", "ci2", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com", "--property", "tls_ca=/etc/ca.pem"},
	} {
		r := e.run("", args...)
		if r.code != 2 || !strings.Contains(r.err, "error: --property tls_ca=/etc/ca.pem: unknown property; did you mean tls_ca_file? (known: ") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.err)
		}
	}
	if e.configText() != before {
		t.Fatal("a refused --property changed the config")
	}
	// A file that has one: validate fails naming it; other commands warn
	// and go on (the file worked before), and KEY= removes it.
	if err := os.WriteFile(e.config, []byte(strings.Replace(before, "    login: ci@example.com\n", "    login: ci@example.com\n    properties:\n      tls_ca: /etc/ca.pem\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "config", "validate")
	if r.code != 2 || !strings.Contains(r.err, "accounts.ci.properties.tls_ca: unknown property; did you mean tls_ca_file?") {
		t.Fatalf("config validate: exit %d, stderr %q", r.code, r.err)
	}
	r = e.run("", "config", "validate", "--json")
	if r.code != 2 || !strings.Contains(r.out, `"valid": false`) || !strings.Contains(r.out, `"field": "accounts.ci.properties.tls_ca"`) {
		t.Fatalf("config validate --json: exit %d, stdout %q", r.code, r.out)
	}
	r = e.mustRun("", "account", "list")
	if !strings.HasPrefix(r.err, "warning: config.yaml:") || !strings.Contains(r.err, "accounts.ci.properties.tls_ca: unknown property; did you mean tls_ca_file?") {
		t.Fatalf("account list: stderr %q", r.err)
	}
	e.mustRun("", "account", "edit", "ci", "--property", "tls_ca=")
	if strings.Contains(e.configText(), "tls_ca") {
		t.Fatalf("tls_ca= did not remove it:\n%s", e.configText())
	}
	e.mustRun("", "config", "validate")
}

// --host takes a host name or an IP address; a URL, a host:port or words
// are refused with the flags to use.
func TestHostMustBeAHostName(t *testing.T) {
	e := newEnv(t)
	base := []string{"account", "add", "x", "--type", "inbound", "--protocol", "imap", "--login", "x@example.com"}
	for host, want := range map[string]string{
		"imap example.com":          `error: --host "imap example.com" is not a host name or IP address`,
		"imap://x.example.com":      `error: --host "imap://x.example.com" is a URL, not a host name: pass --host x.example.com`,
		"x.example.com:993":         `error: --host "x.example.com:993" includes a port: pass --host x.example.com --port 993`,
		"imaps://x.example.com:993": `error: --host "imaps://x.example.com:993" is a URL, not a host name: pass --host x.example.com --port 993`,
	} {
		r := e.run("", append(base, "--host", host)...)
		if r.code != 2 || !strings.HasPrefix(r.err, want+"\n") {
			t.Errorf("--host %q: exit %d, stderr %q, want %q", host, r.code, r.err, want)
		}
	}
	for _, host := range []string{"imap.example.com", "192.0.2.7", "::1", "[2001:db8::1]", "localhost"} {
		e.mustRun("", append(base, "--host", host, "--force")...)
	}
	if e.configText() == "" {
		t.Fatal("no config written")
	}
}

// The presets of providers that sign in with an address refuse a bare
// user name.
func TestPresetNeedsAnAddressAsLogin(t *testing.T) {
	e := newEnv(t)
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--client-secret-stdin")
	r := e.run("", "account", "add", "support", "--preset", "office365", "--type", "inbound", "--login", "support", "--token-config", "ms365")
	if r.code != 2 || r.err != "error: --login \"support\": the office365 preset signs in with an email address, e.g. support@contoso.com\n" {
		t.Errorf("office365 with a bare login: exit %d, stderr %q", r.code, r.err)
	}
	r = e.run("", "account", "add", "sales", "--preset", "gmail", "--type", "inbound", "--login", "sales", "--auth", "basic", "--password-stdin")
	if r.code != 2 || !strings.Contains(r.err, "the gmail preset signs in with an email address") {
		t.Errorf("gmail with a bare login: exit %d, stderr %q", r.code, r.err)
	}
	if strings.Contains(e.configText(), "accounts:\n  ") {
		t.Fatalf("a refused account was saved:\n%s", e.configText())
	}
}

// graph_url of Microsoft's Graph without its version path gets /v1.0 at
// add/edit time, as show prints it and the file keeps it.
func TestGraphURLGetsItsVersion(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("", "account", "edit", "support", "--property", "graph_url=https://graph.microsoft.com")
	if !strings.Contains(e.configText(), "graph_url: https://graph.microsoft.com/v1.0\n") {
		t.Fatalf("config after edit:\n%s", e.configText())
	}
	e.mustRun("", "account", "add", "other", "--preset", "office365", "--type", "inbound", "--login", "other@contoso.com", "--token-config", "ms365", "--property", "graph_url=https://graph.microsoft.com/")
	r := e.mustRun("", "account", "show", "other", "--json")
	var d map[string]any
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatal(err)
	}
	if got := d["properties"].(map[string]any)["graph_url"]; got != "https://graph.microsoft.com/v1.0" {
		t.Errorf("show: graph_url = %v", got)
	}
}

// --no-input with auth basic and no password fails listing what is
// missing; a password in MAILPORT_PASSWORD_<ACCOUNT> is enough.
func TestNoInputBasicWithoutPasswordFails(t *testing.T) {
	e := newEnv(t)
	args := []string{"--no-input", "account", "add", "ci", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com"}
	r := e.run("", append(args, "--auth", "basic")...)
	if r.code != 2 || r.err != "error: missing a password (--password-stdin or --password-env VAR): pass them as flags, or run on a terminal without --no-input to be asked\n" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	r = e.run("", args[:len(args)-2]...) // no --login either, auth basic by default
	if r.code != 2 || !strings.Contains(r.err, "missing --login, a password (--password-stdin or --password-env VAR)") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if e.configText() != "" {
		t.Fatalf("config written:\n%s", e.configText())
	}
	e.vars["MAILPORT_PASSWORD_CI"] = "pw"
	e.mustRun("", args...)
}

// A relative --hold-dir is stored absolute; a relative hold_dir in a file
// is the config file's directory's, whatever the working directory of
// the run (cron's is another).
func TestRelativeHoldDir(t *testing.T) {
	e := newEnv(t)
	wd := t.TempDir()
	t.Chdir(wd)
	e.mustRun("pw", "account", "add", "ci", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin", "--hold-dir", "in")
	if want := "hold_dir: " + filepath.Join(wd, "in") + "\n"; !strings.Contains(e.configText(), want) {
		t.Fatalf("config lacks %q:\n%s", want, e.configText())
	}
	text := strings.Replace(e.configText(), "hold_dir: "+filepath.Join(wd, "in"), "hold_dir: mail/ci", 1)
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	r := e.mustRun("", "account", "show", "ci", "--json")
	var d map[string]any
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(e.dir, "mail", "ci"); d["hold_dir"] != want {
		t.Errorf("show: hold_dir = %v, want %s", d["hold_dir"], want)
	}
}
