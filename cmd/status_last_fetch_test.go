package cmd

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// status shows the last fetch of an account fetched with --to, not only
// into its hold_dir (the CI case: "is the mailbox being polled?").
func TestStatusShowsTheLastFetchIntoAToDirectory(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	srv.AddMessage([]byte("Subject: one\r\n\r\nx\r\n"))
	e := newEnv(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	hold := filepath.Join(e.dir, "hold")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true", "--hold-dir", hold)

	ci := filepath.Join(e.dir, "ci-in")
	e.mustRun("", "fetch", "box", "--to", ci)
	r := e.mustRun("", "status", "box")
	if !strings.Contains(r.err, "box: last fetch ") || !strings.Contains(r.err, ": 1 message into "+ci+", 0 failed") {
		t.Fatalf("status after fetch --to: stdout %q stderr %q", r.out, r.err)
	}

	// A later fetch into the hold_dir is the newer one.
	srv.AddMessage([]byte("Subject: two\r\n\r\ny\r\n"))
	e.mustRun("", "fetch", "box")
	r = e.mustRun("", "status", "box", "--json")
	var list []struct {
		LastFetch *struct {
			Dir      string `json:"dir"`
			Messages int    `json:"messages"`
		} `json:"last_fetch"`
	}
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 1 || list[0].LastFetch == nil {
		t.Fatalf("status --json: %v\n%s", err, r.out)
	}
	if lf := list[0].LastFetch; lf.Dir != hold || lf.Messages != 2 {
		t.Errorf("last_fetch %+v, want the hold_dir run with 2 messages", *lf)
	}
}
