package cmd

import (
	"path/filepath"
	"strings"
	"testing"
)

// An OAuth2 account without a token needs a person (exit 3), whatever the
// server's state: fetch and send say so before connecting (port 1 refuses
// every connection), and fetch prints no "fetched 0 messages" summary.
func TestNoTokenIsExitThreeBeforeConnecting(t *testing.T) {
	e := newEnv(t)
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--tenant", "fabrikam-support.net", "--client-id", clientID, "--client-secret-stdin", "--for", "imap")
	e.mustRun("", "token-config", "add", "ms365-smtp", "--provider", "microsoft", "--tenant", "fabrikam-support.net", "--client-id", clientID, "--for", "smtp")
	e.mustRun("", "account", "add", "in", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1", "--login", "a@fabrikam-support.net", "--token-config", "ms365")
	e.mustRun("", "account", "add", "out", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1", "--encryption", "starttls", "--login", "a@fabrikam-support.net", "--token-config", "ms365-smtp")
	to := filepath.Join(e.dir, "mail")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "in", "--to", to}, "error: account in is not authenticated: no token is stored; run: mailport authenticate in\n"},
		{[]string{"send", "out", "--to", "b@example.net", "--subject", "s", "--body", "b"}, "error: send through out: account out is not authenticated: no token is stored; run: mailport authenticate out\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != 3 || r.err != tt.want || r.out != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit 3, no stdout and %q", tt.args, r.code, r.out, r.err, tt.want)
		}
	}
}

// A fetch that stores nothing because the server cannot be reached prints
// the error only: a "fetched 0 messages" line would read like a success.
func TestFetchUnreachablePrintsNoSummary(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "in", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1", "--login", "a@example.com", "--password-stdin")
	r := e.run("", "fetch", "in", "--to", filepath.Join(e.dir, "mail"))
	if r.code != 1 || r.out != "" || !strings.HasPrefix(r.err, "error: fetch in: connect to imap 127.0.0.1:1 (ssl): ") || !strings.Contains(r.err, "connection refused") || !strings.HasSuffix(r.err, " (run `mailport test in` for the cause and the fix)\n") {
		t.Errorf("exit %d\nstdout %q\nstderr %q\nwant exit 1, no stdout, the refusal on stderr", r.code, r.out, r.err)
	}
}
