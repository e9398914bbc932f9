package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
)

// FuzzSafeID: whatever id a server sends, the file name built from it
// stays one harmless name inside the target directory, and two different
// ids never share a name.
func FuzzSafeID(f *testing.F) {
	for _, s := range [][2]string{
		{"4711", "4712"}, {"", "_"}, {".", ".."}, {"../../etc/passwd", "..%2f..%2fetc"}, {"a/b", "a_b"},
		{"a\x00b", "a_b"}, {"CON", "con.txt"}, {"AAMkAGI2TG93AAA=", "AAMkAGI2TG93AAA="}, {"x.", "x_"},
		{strings.Repeat("z", 300), strings.Repeat("z", 301)}, {"ü", "\xff"}, {"a\\b", "C:x"},
	} {
		f.Add(s[0], s[1])
	}
	dir := filepath.Join(os.TempDir(), "target")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, id := range []string{a, b} {
			s := SafeID(id)
			checkName(t, id, s)
			name := EMLName(time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC), id)
			checkName(t, id, name)
			if p := filepath.Join(dir, name); filepath.Dir(p) != dir || filepath.Base(p) != name {
				t.Fatalf("id %q: name %q leaves %s (%s)", id, name, dir, p)
			}
			if len(name) > 255 {
				t.Fatalf("id %q: name of %d bytes", id, len(name))
			}
		}
		if a != b && SafeID(a) == SafeID(b) {
			t.Fatalf("ids %q and %q share the name %q", a, b, SafeID(a))
		}
	})
}

func checkName(t *testing.T, id, s string) {
	t.Helper()
	if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, " ") {
		t.Fatalf("id %q: name %q", id, s)
	}
	if strings.ContainsAny(s, "/\\\x00<>:\"|?*") {
		t.Fatalf("id %q: name %q holds a separator or reserved character", id, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("id %q: name %q holds a control character", id, s)
		}
	}
}

// FuzzLoadJournal: whatever bytes the state file holds (a crash, a power
// loss, a hostile file), loading it neither panics nor grows memory past
// its line limit, leaves a file that ends on a complete line, and a
// second load reads exactly what the first did.
func FuzzLoadJournal(f *testing.F) {
	at := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	var seed bytes.Buffer
	for _, r := range []record{
		{T: recHeader, Version: journalVersion, At: at},
		{T: recFetched, Account: "support", Folder: "INBOX", Valid: "1", ID: "7", File: "x.eml", State: "acked", At: at},
		{T: recRun, Account: "support", Messages: 3, Bytes: 300},
	} {
		b, _ := json.Marshal(r)
		seed.Write(append(b, '\n'))
	}
	f.Add(seed.Bytes())
	f.Add(append(seed.Bytes(), `{"t":"fetched","a":"x"`...)) // torn tail
	f.Add([]byte("\x00\x00\x00\x00\n{}\n"))                  // power loss
	f.Add([]byte(`{"t":"header","v":99}` + "\n"))            // newer format
	f.Add([]byte("\n\n\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), JournalName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var first []record
		j, _, err := loadJournal(path, func(r record) error { first = append(first, r); return nil })
		if err != nil {
			return // refused (a newer format): nothing was changed
		}
		if err := j.close(); err != nil {
			t.Fatal(err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) == 0 || after[len(after)-1] != '\n' {
			t.Fatalf("the state ends in a torn line after loading: %q", after)
		}
		var second []record
		j, skipped, err := loadJournal(path, func(r record) error { second = append(second, r); return nil })
		if err != nil {
			t.Fatalf("second load: %v", err)
		}
		j.close()
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("a second load read other records:\n%v\n%v", first, second)
		}
		again, _ := os.ReadFile(path)
		if !bytes.Equal(after, again) {
			t.Fatalf("a second load changed the file (%d skipped)", skipped)
		}
		for _, r := range first {
			if r.T == "" || r.T == recHeader {
				t.Fatalf("applied record %+v", r)
			}
		}
	})
}

// TestOverlongJournalLineIsSkipped: a line longer than MaxJournalLine in
// the state is skipped (the records around it load) without the whole
// line being held in memory.
func TestOverlongJournalLineIsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalName)
	rec := `{"t":"run","a":"support","n":1}` + "\n"
	long := `{"t":"run","a":"` + strings.Repeat("x", 8*MaxJournalLine) + `"}` + "\n"
	if err := os.WriteFile(path, []byte(rec+long+rec), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []record
	var skipped int
	peak := heapmeter.Peak(func() {
		j, s, err := loadJournal(path, func(r record) error { got = append(got, r); return nil })
		if err != nil {
			t.Fatal(err)
		}
		j.close()
		skipped = s
	})
	if len(got) != 2 || skipped != 1 {
		t.Fatalf("%d records, %d skipped; want 2 and 1", len(got), skipped)
	}
	if peak > 5*MaxJournalLine {
		t.Fatalf("loading an 8 MiB line grew the heap by %d bytes", peak)
	}
	t.Logf("heap growth loading an 8 MiB line: %d bytes", peak)
}
