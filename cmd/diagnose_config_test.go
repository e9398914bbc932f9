package cmd

import (
	"strings"
	"testing"
)

// TestTestCommandConfigurationFirst: an account whose token config cannot
// serve it makes `mailport test` exit 2 (a configuration error) naming the
// fix `mailport authenticate` names, instead of exit 3 and "run mailport
// authenticate", which authenticate then refuses.
func TestTestCommandConfigurationFirst(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	e.mustRun("", "token-config", "add", "gd", "--provider", "google", "--flow", "device", "--client-id", "1234-abc.apps.googleusercontent.com")
	e.mustRun("", "account", "add", "gbox", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", port,
		"--auth", "oauth2", "--login", "a@gmail.com", "--token-config", "gd")
	const fix = "`mailport token-config edit gd --flow user`"

	auth := e.run("", "authenticate", "gbox", "--no-browser", "--timeout", "1s")
	if auth.code != 2 || !strings.Contains(auth.err, strings.Trim(fix, "`")) {
		t.Fatalf("authenticate: exit %d, stderr %q", auth.code, auth.err)
	}
	r := e.run("", "test", "gbox", "--timeout", "2s")
	if r.code != 2 {
		t.Errorf("test: exit %d, want 2 (configuration error)\n%s%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, "account gbox: fix the configuration first: ") || !strings.Contains(r.err, fix) {
		t.Errorf("stderr %q does not name the fix %s", r.err, fix)
	}
	if strings.Contains(r.err, "not authenticated") || strings.Contains(r.out, "failed: the account is not authenticated") {
		t.Errorf("the verdict sends the user to authenticate:\n%s%s", r.out, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if v := lines[len(lines)-1]; !strings.Contains(v, "the configuration comes first") || !strings.Contains(v, fix) {
		t.Errorf("verdict %q does not lead with the configuration", v)
	}
}
