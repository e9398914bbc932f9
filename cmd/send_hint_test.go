package cmd

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// TestSendErrorsPointAtTest: a send that the server refuses ends, as
// fetch's errors do, with the command that names the cause and the fix; a
// send that needs a password or a sign-in first names that instead.
func TestSendErrorsPointAtTest(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})
	e := newEnv(t)
	e.mustRun("wrong", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))
	r := e.run("", "send", "outbox", "--to", "a@example.com", "--body", "hi")
	if r.code == 0 || !strings.HasPrefix(r.err, "error: send through outbox: ") || !strings.HasSuffix(r.err, " (run `mailport test outbox` for the cause and the fix)\n") {
		t.Errorf("wrong password: exit %d, stderr %q", r.code, r.err)
	}
	e.mustRun("", "account", "add", "nopw", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com")
	r = e.run("", "send", "nopw", "--to", "a@example.com", "--body", "hi")
	if r.code != 3 || strings.Contains(r.err, "mailport test") {
		t.Errorf("no password: exit %d, stderr %q", r.code, r.err)
	}
}
