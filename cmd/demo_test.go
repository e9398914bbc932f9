package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo is the README's "run it" command: it must work on a fresh
// machine with no mail account and leave the fetched mail on disk.
func TestDemoRunsTheWholeFlow(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "mailport-demo")
	r := e.run("", "demo", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{
		"$ printf '%s' \"$CLIENT_SECRET\" | mailport token-config add demo-outlook --provider microsoft",
		"$ mailport account add demo-in --type inbound --protocol imap",
		"$ mailport authenticate demo-in\nAccount demo-in is AUTHENTICATED as demo@mailport-demo.test.",
		"$ mailport send demo-out --to demo@mailport-demo.test",
		"Done. The fetched mail is in " + dir,
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out+r.err, "demo-client-secret-value") {
		t.Error("the demo printed the client secret")
	}
	if strings.Count(r.err, "secrets are kept in plain text") != 1 {
		t.Errorf("the plain-text warning should appear once:\n%s", r.err)
	}
	_ = os.Remove
}
