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
		"$ mailport test demo-in\n",
		"All checks passed.\n",
		"fetched 3 messages",
		"fetched 0 messages (0 bytes) into " + dir,
		"fetched 2 messages",
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
	// The seeded messages and the one the demo sent are on disk.
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 3 {
		t.Fatalf("want 3 .eml files in %s, got %v", dir, files)
	}
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "Subject: Hello from mailport demo") {
			found = true
		}
	}
	if !found {
		t.Error("the message the demo sent was not fetched")
	}
	if g, _ := filepath.Glob(filepath.Join(dir, "graph", "*.eml")); len(g) != 2 {
		t.Errorf("want 2 .eml files fetched through Graph, got %v", g)
	}
}
