package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFetchRefusesAPlantedLockLink: a symbolic link planted as the lock
// file of the target directory makes fetch refuse (before connecting)
// with one sentence naming it, and the file it points at is untouched.
func TestFetchRefusesAPlantedLockLink(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1",
		"--login", "a@example.com", "--password-stdin")
	to := filepath.Join(e.dir, "in")
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(e.dir, "shadow")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(to, ".mailport.lock")); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "fetch", "box", "--to", to)
	want := "error: open the target directory " + to + ": " + filepath.Join(to, ".mailport.lock") +
		" is a symbolic link; mailport will not write through it: remove it\n"
	if r.code != 1 || r.err != want || r.out != "" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.out, r.err, want)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me\n" {
		t.Fatalf("the link's target became %q, %v", b, err)
	}
}
