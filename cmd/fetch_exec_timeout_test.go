package cmd

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// --exec-timeout stops a command that hangs (here a shell whose child
// keeps the output pipe open): the message counts as failed and stays on
// the server, and the fetch ends instead of stalling a CI schedule.
func TestFetchExecTimeout(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	srv.AddMessage([]byte("Subject: slow\r\n\r\nx\r\n"))
	e := newEnv(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	to := filepath.Join(e.dir, "in")

	start := time.Now()
	r := e.run("", "fetch", "box", "--to", to, "--delete", "--exec", "sleep 30", "--exec-timeout", "300ms")
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("fetch took %s: the timeout did not stop the command", took)
	}
	if r.code != 1 || !strings.Contains(r.err, "--exec did not finish within 300ms and was stopped") {
		t.Fatalf("exit %d stderr %q, want 1 and the timeout named", r.code, r.err)
	}
	if !strings.Contains(r.out, "fetched 1 message (") || !strings.Contains(r.out, "1 failed") {
		t.Errorf("summary %q", r.out)
	}
	if n := len(srv.UIDs()); n != 1 {
		t.Fatalf("%d messages left on the server, want the one whose --exec timed out", n)
	}

	// Usage errors: a negative value, and a timeout with nothing to bound.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "box", "--to", to, "--exec", "true", "--exec-timeout", "-1s"}, "error: --exec-timeout must not be negative\n"},
		{[]string{"fetch", "box", "--to", to, "--exec-timeout", "1m"}, "error: --exec-timeout bounds --exec, and account box runs no command: give --exec CMD too\n"},
	} {
		if r := e.run("", tt.args...); r.code != 2 || r.err != tt.want {
			t.Errorf("%v: exit %d stderr %q, want 2 and %q", tt.args, r.code, r.err, tt.want)
		}
	}

	// The next run with a command that finishes delivers and deletes it.
	e.mustRun("", "fetch", "box", "--to", to, "--delete", "--exec", "true", "--exec-timeout", "10s")
	if n := len(srv.UIDs()); n != 0 {
		t.Fatalf("%d messages left after the retry", n)
	}
}
