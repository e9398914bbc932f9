package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// Fetching into a directory a fetch of the other format filled is
// refused with the fix (exit 2), not a silent "fetched 0 messages", and
// the directory is left as it was.
func TestFetchIntoADirectoryOfTheOtherFormat(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	for i := 1; i <= 2; i++ {
		srv.AddMessage([]byte(fmt.Sprintf("Subject: m%d\r\nDate: Thu, 26 Nov 2026 10:15:00 +0100\r\n\r\nbody %d\r\n", i, i)))
	}
	e := newEnv(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	maildir := filepath.Join(e.dir, "Maildir")
	emlDir := filepath.Join(e.dir, "eml")
	if r := e.mustRun("", "fetch", "box", "--to", maildir, "--format", "maildir"); !strings.Contains(r.out, "fetched 2 messages") {
		t.Fatalf("maildir fetch: %q", r.out)
	}
	if r := e.mustRun("", "fetch", "box", "--to", emlDir); !strings.Contains(r.out, "fetched 2 messages") {
		t.Fatalf("eml fetch: %q", r.out)
	}
	for _, tt := range []struct{ dir, format, want string }{
		{maildir, "eml", "error: " + maildir + " holds a Maildir (cur/ new/ tmp/); fetch with --format maildir or choose another directory\n"},
		{emlDir, "maildir", "error: " + emlDir + " holds messages fetched as .eml files ("},
	} {
		before := listDir(t, tt.dir)
		r := e.run("", "fetch", "box", "--to", tt.dir, "--format", tt.format)
		if r.code != 2 || !strings.HasPrefix(r.err, tt.want) || strings.Contains(r.out, "fetched 0") {
			t.Errorf("--format %s into %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.format, tt.dir, r.code, r.out, r.err, tt.want)
		}
		if after := listDir(t, tt.dir); after != before {
			t.Errorf("the refused fetch changed %s:\n%s\nthen:\n%s", tt.dir, before, after)
		}
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, "\n")
}
