package cmd

import (
	"os"
	"path/filepath"
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

// TestAddressesAreExplainedInTheUsersTerms: an address typed on the
// command line (or in a --raw message) that is not one is named, with
// what is wrong, in words, never Go's parser's ("mail: no angle-addr").
func TestAddressesAreExplainedInTheUsersTerms(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1",
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin")
	form := `an address looks like name@example.com, or "Name <name@example.com>" with a name`
	raw := filepath.Join(e.dir, "m.eml")
	if err := os.WriteFile(raw, []byte("From: out@example.com\r\nTo: Bob Smith\r\nSubject: x\r\n\r\nhi\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "outbox", "--to", "bob", "--body", "hi"}, `error: --to: "bob" is not an email address: it has no @; ` + form + "\n"},
		{[]string{"send", "outbox", "--to", "a@example.com", "--cc", "Smith, Ann <ann@example.com>", "--body", "hi"},
			`error: --cc: "Smith, Ann <ann@example.com>" is not an email address: a name with a comma needs double quotes, as in "Smith, Ann" <ann@example.com>` + "\n"},
		{[]string{"send", "outbox", "--to", "a@example.com", "--bcc", "b@example.com c@example.com", "--body", "hi"},
			`error: --bcc: "b@example.com c@example.com" is not an email address: it holds a space; separate two addresses with a comma, and write a name as "Name <name@example.com>"` + "\n"},
		{[]string{"send", "outbox", "--to", "a@example.com", "--from", "bob@", "--body", "hi"}, `error: --from: "bob@" is not an email address: nothing follows the @; ` + form + "\n"},
		{[]string{"send", "outbox", "--raw", raw}, `error: --raw: the raw message's To field: "Bob Smith" is not an email address: it has no @; ` + form + "\n"},
		{[]string{"test", "outbox", "--send-to", "bob"}, `error: --send-to: "bob" is not an email address: it has no @; ` + form + "\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != 2 || r.err != tt.want || r.out != "" {
			t.Errorf("mailport %s: exit %d, stdout %q, stderr\n%q\nwant\n%q", strings.Join(tt.args, " "), r.code, r.out, r.err, tt.want)
		}
	}
}
