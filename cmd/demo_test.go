package cmd

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
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

// A second demo in the same directory starts afresh: its servers are new
// (UIDs from 1 again, new Graph ids), so the first run's fetch state would
// skip this run's message and store the Graph messages twice. What the
// second run prints must be true of what is on disk.
func TestDemoTwiceInOneDir(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "mailport-demo")
	first := e.run("", "demo", "--dir", dir)
	if first.code != 0 {
		t.Fatalf("first demo exited %d\nstderr:\n%s", first.code, first.err)
	}
	firstSent := sentMessageID(t, first.out)
	if strings.Contains(first.out, "earlier demo") {
		t.Errorf("the first demo speaks of an earlier one:\n%s", first.out)
	}

	r := e.run("", "demo", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("second demo exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	sent := sentMessageID(t, r.out)
	if sent == firstSent {
		t.Fatalf("both runs sent %s", sent)
	}
	for _, want := range []string{
		"The mail an earlier demo fetched into " + dir + " came from servers that are gone; it was cleared, so this run starts afresh.\n",
		"# Fetch the inbox into a directory, one .eml file per message\n$ mailport fetch demo-in --to " + dir + "\nfetched 3 messages",
		"# Run it again: nothing is fetched twice\n$ mailport fetch demo-in --to " + dir + "\nfetched 0 messages (0 bytes) into " + dir,
		"# The same through Microsoft Graph\n$ mailport fetch demo-graph-in --to " + filepath.Join(dir, "graph") + "\nfetched 2 messages",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("second demo's output lacks %q:\n%s", want, r.out)
		}
	}
	// On disk: the two seeded messages once each and this run's message.
	ids := messageIDs(t, filepath.Join(dir, "*.eml"))
	want := []string{"<demo-0@mailport-demo.test>", "<demo-1@mailport-demo.test>", sent}
	if strings.Join(ids, " ") != strings.Join(sortedCopy(want), " ") {
		t.Errorf("Message-IDs of the .eml files in %s: %q, want %q", dir, ids, sortedCopy(want))
	}
	if g := messageIDs(t, filepath.Join(dir, "graph", "*.eml")); strings.Join(g, " ") != "<demo-0@mailport-demo.test> <demo-1@mailport-demo.test>" {
		t.Errorf("Message-IDs of the .eml files in %s: %q, want the two seeded messages once each", filepath.Join(dir, "graph"), g)
	}
}

// The demo empties only a directory an earlier demo filled: anything else
// there makes it stop before it starts, with the fix, and nothing removed.
func TestDemoLeavesAForeignDirAlone(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		what  string
	}{
		{"a file of the user's", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "notes.txt"), "mine\n")
		}, "notes.txt, which no earlier demo wrote"},
		{"another account's fetch state", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".mailport-state.jsonl"), `{"t":"mailport-journal","version":1,"at":"2026-01-02T03:04:05Z"}
{"t":"fetched","a":"support","f":"INBOX","v":"7","id":"1","file":"20260102T030405Z_1.eml","size":5,"at":"2026-01-02T03:04:05Z"}
`)
			writeFile(t, filepath.Join(dir, "20260102T030405Z_1.eml"), "mail\n")
		}, "a fetch state (.mailport-state.jsonl) that is not only the demo's"},
		{"a file in graph/", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "graph", "keep.eml"), "mail\n")
		}, "keep.eml, which no earlier demo wrote"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			dir := filepath.Join(t.TempDir(), "mailport-demo")
			tt.setup(t, dir)
			before := listTree(t, dir)
			r := e.run("", "demo", "--dir", dir)
			if r.code != 2 {
				t.Fatalf("demo exited %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
			}
			held := dir
			if strings.Contains(tt.name, "graph") {
				held = filepath.Join(dir, "graph")
			}
			want := "error: the demo cannot fetch into " + held + ": it holds " + tt.what + "; pass --dir with a new or empty directory\n"
			if r.err != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.err, want)
			}
			if r.out != "" {
				t.Errorf("the demo started anyway:\n%s", r.out)
			}
			if after := listTree(t, dir); after != before {
				t.Errorf("the directory changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

// sentMessageID is the Message-ID `mailport send` reported in demo output.
func sentMessageID(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\nSent <")
	if !ok {
		t.Fatalf("no \"Sent <...>\" line in:\n%s", out)
	}
	id, _, _ := strings.Cut(rest, ">")
	return "<" + id + ">"
}

// messageIDs returns the sorted Message-ID headers of the files matching glob.
func messageIDs(t *testing.T, glob string) []string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ids = append(ids, m.Header.Get("Message-ID"))
	}
	return sortedCopy(ids)
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// listTree is every path under dir with its size, one per line.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d\n", p, info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
