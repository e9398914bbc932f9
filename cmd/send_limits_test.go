package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// A text body above 64 MiB is refused before connecting (it was sent cut
// short); a --raw message without a Message-ID is sent as it is and the
// output says it has none (it printed "Sent  to ...").
func TestSendBodyLimitAndRawWithoutMessageID(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))

	big := filepath.Join(e.dir, "big.txt")
	if err := os.WriteFile(big, make([]byte, 64<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "send", "outbox", "--to", "a@example.com", "--subject", "big", "--body-file", big)
	if want := "error: --body-file " + big + " is larger than 64 MiB: send big content as an attachment (--attach FILE) or as a whole message (--raw)\n"; r.code != 2 || r.err != want {
		t.Errorf("--body-file above the limit: exit %d stderr %q, want 2 and %q", r.code, r.err, want)
	}
	r = e.run(strings.Repeat("x", 64<<20+1), "send", "outbox", "--to", "a@example.com", "--subject", "big")
	if want := "error: the body on stdin is larger than 64 MiB: send big content as an attachment (--attach FILE) or as a whole message (--raw)\n"; r.code != 2 || r.err != want {
		t.Errorf("stdin above the limit: exit %d stderr %q, want 2 and %q", r.code, r.err, want)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}

	raw := filepath.Join(e.dir, "m.eml")
	os.WriteFile(raw, []byte("From: out@example.com\r\nTo: c@example.com\r\nSubject: no id\r\n\r\nhi\r\n"), 0o600)
	r = e.mustRun("", "send", "outbox", "--raw", raw)
	if r.out != "Sent a message without a Message-ID to c@example.com\n" {
		t.Errorf("raw without Message-ID: %q", r.out)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || strings.Contains(strings.ToLower(string(msgs[0].Data)), "message-id") {
		t.Errorf("the raw message was changed or not sent: %d messages", len(msgs))
	}
}
