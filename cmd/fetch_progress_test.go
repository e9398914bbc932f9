package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// On a terminal, fetch draws a progress bar on stderr (messages and bytes)
// and clears it before the summary; the files are the same as without it.
func TestFetchProgressBarOnTerminal(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	for i := 1; i <= 3; i++ {
		srv.AddMessage([]byte(fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", i, strings.Repeat("x", 20000))))
	}
	e := newEnv(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	to := filepath.Join(e.dir, "in")
	e.stderrTTY = true
	r := e.mustRun("", "fetch", "box", "--to", to)
	if !strings.Contains(r.err, "/3 messages") || !strings.Contains(r.err, "/60 kB") {
		t.Errorf("no progress bar with messages and bytes on stderr: %q", r.err)
	}
	if !strings.HasPrefix(r.out, "fetched 3 messages") {
		t.Errorf("summary %q", r.out)
	}
	entries, _ := os.ReadDir(to)
	n := 0
	for _, de := range entries {
		if strings.HasSuffix(de.Name(), ".eml") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d .eml files", n)
	}

	// Not on a terminal, or with --json: no bar.
	srv.AddMessage([]byte("Subject: m4\r\n\r\nx\r\n"))
	r = e.mustRun("", "fetch", "box", "--to", to, "--json")
	if strings.Contains(r.err, "messages") {
		t.Errorf("--json drew a bar: %q", r.err)
	}
	e.stderrTTY = false
	srv.AddMessage([]byte("Subject: m5\r\n\r\nx\r\n"))
	if r = e.mustRun("", "fetch", "box", "--to", to); r.err != "" {
		t.Errorf("stderr without a terminal: %q", r.err)
	}
}
