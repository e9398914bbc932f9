package demo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const journal = `{"t":"mailport-journal","version":1,"at":"2026-11-26T20:17:15Z"}
{"t":"validity","a":"demo-in","f":"INBOX","v":"1","at":"2026-11-26T20:17:15Z"}
{"t":"fetched","a":"demo-in","f":"INBOX","v":"1","id":"1","file":"20261126T200715Z_1.eml","size":5,"at":"2026-11-26T20:17:15Z"}
{"t":"run","a":"demo-in","at":"2026-11-26T20:17:15Z","n":1}
`

const graphJournal = `{"t":"mailport-journal","version":1,"at":"2026-11-26T20:17:15Z"}
{"t":"fetched","a":"demo-graph-in","f":"Inbox","id":"AAMk","file":"20261126T201715Z_AAMk.eml","size":5,"at":"2026-11-26T20:17:15Z"}
`

// What an earlier demo left, including a crash's temporary file and a
// file it recorded but that is gone already, is removed; the directory
// itself stays.
func TestResetDirClearsAnEarlierDemo(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".mailport-state.jsonl"), journal)
	write(t, filepath.Join(dir, ".mailport.lock"), "")
	write(t, filepath.Join(dir, "20261126T200715Z_1.eml"), "mail\n")
	write(t, filepath.Join(dir, ".mailport-tmp-1234"), "ma")
	write(t, filepath.Join(dir, "graph", ".mailport-state.jsonl"), graphJournal)
	write(t, filepath.Join(dir, "graph", "20261126T201715Z_AAMk.eml"), "mail\n")

	reset, err := ResetDir(dir)
	if err != nil || !reset {
		t.Fatalf("ResetDir = %v, %v; want true, nil", reset, err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}
	if reset, err := ResetDir(dir); err != nil || reset {
		t.Errorf("ResetDir of the emptied directory = %v, %v; want false, nil", reset, err)
	}
	if reset, err := ResetDir(filepath.Join(dir, "missing")); err != nil || reset {
		t.Errorf("ResetDir of a missing directory = %v, %v; want false, nil", reset, err)
	}
}

// Anything the demo cannot vouch for stops it, and nothing is removed.
func TestResetDirRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, journal, graphJournal, what string
	}{
		{"the graph account's state at the top", graphJournal, "", "a fetch state (.mailport-state.jsonl) that is not only the demo's"},
		{"a file in graph/ its state does not record", journal, `{"t":"mailport-journal","version":1,"at":"2026-11-26T20:17:15Z"}` + "\n", "20261126T201715Z_AAMk.eml, which no earlier demo wrote"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, ".mailport-state.jsonl"), tt.journal)
			write(t, filepath.Join(dir, "20261126T200715Z_1.eml"), "mail\n")
			if tt.graphJournal != "" {
				write(t, filepath.Join(dir, "graph", ".mailport-state.jsonl"), tt.graphJournal)
				write(t, filepath.Join(dir, "graph", "20261126T201715Z_AAMk.eml"), "mail\n")
			}
			reset, err := ResetDir(dir)
			var nd *NotDemoDirError
			if reset || !errors.As(err, &nd) || nd.What != tt.what {
				t.Fatalf("ResetDir = %v, %v; want a refusal saying %q", reset, err, tt.what)
			}
			if _, err := os.Stat(filepath.Join(dir, "20261126T200715Z_1.eml")); err != nil {
				t.Errorf("a refused directory lost a file: %v", err)
			}
		})
	}
}

// A torn last line (a demo killed mid-fetch) is what the store itself
// repairs: the directory is still the demo's and is cleared; the files the
// torn line might have named are not among those removed.
func TestResetDirAfterATornAppend(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".mailport-state.jsonl"), `{"t":"mailport-journal","version":1,"at":"2026-11-26T20:17:15Z"}`+"\n"+`{"t":"fetch`)
	cleared, err := ResetDir(dir)
	if err != nil || !cleared {
		t.Fatalf("ResetDir = %v, %v; want the demo's directory cleared", cleared, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
