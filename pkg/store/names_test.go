package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailport/mailport/pkg/mail"
)

var hostileIDs = []string{
	"../../etc/passwd",
	"a/b",
	`a\b`,
	"..",
	".",
	"...",
	"",
	"nul\x00byte",
	"ctrl\x01\x1f\x7f",
	"line\nbreak\r",
	"<>:\"|?*",
	"trailing.",
	"trailing ",
	".hidden",
	"CON",
	"nul.txt",
	"com1",
	"LPT9.eml",
	"ünïcödé-✉",
	"\xff\xfe invalid utf8",
	strings.Repeat("x", 4096),
	strings.Repeat("x", 4095) + "y",
	"AAMkAGI2TG93AAA=",
	"AAMkAGI2TG93AAA-",
	"a_b",
	"a~b",
}

func TestSafeIDIsSafeForAnyFileSystem(t *testing.T) {
	seen := map[string]string{}
	for _, id := range hostileIDs {
		got := SafeID(id)
		if got == "" || got == "." || got == ".." {
			t.Errorf("SafeID(%q) = %q, not a usable name", id, got)
		}
		if len(got) > MaxIDLength {
			t.Errorf("SafeID(%q) is %d bytes, more than %d", id, len(got), MaxIDLength)
		}
		if strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
			t.Errorf("SafeID(%q) = %q starts with a dot or ends with a dot or space", id, got)
		}
		if strings.ContainsAny(got, "/\\<>:\"|?* ") || !utf8.ValidString(got) {
			t.Errorf("SafeID(%q) = %q has a forbidden character", id, got)
		}
		for _, c := range []byte(got) {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("SafeID(%q) = %q has byte %#x", id, got, c)
			}
		}
		if windowsReserved(got) {
			t.Errorf("SafeID(%q) = %q is a Windows device name", id, got)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("SafeID(%q) and SafeID(%q) are both %q", id, other, got)
		}
		seen[got] = id
	}
}

func TestSafeIDKeepsPlainIDs(t *testing.T) {
	for _, id := range []string{"4711", "AAMkAGI2TG93AAA=", "UID-1.2@host,x+y", "a_b", "0123456789"} {
		if got := SafeID(id); got != id {
			t.Errorf("SafeID(%q) = %q, want it unchanged", id, got)
		}
	}
	if got := SafeID("a/b"); !strings.HasPrefix(got, "a_b~") || len(got) != len("a_b~")+12 {
		t.Errorf("SafeID(a/b) = %q, want a_b~ and 12 hex digits", got)
	}
}

func TestEMLName(t *testing.T) {
	d := time.Date(2026, 11, 26, 11, 15, 0, 0, time.FixedZone("CET", 3600))
	if got, want := EMLName(d, "42"), "20261126T101500Z_42.eml"; got != want {
		t.Errorf("EMLName = %q, want %q (UTC)", got, want)
	}
	if got, want := EMLName(time.Time{}, "42"), "nodate_42.eml"; got != want {
		t.Errorf("EMLName with no date = %q, want %q", got, want)
	}
}

func TestMaildirNameCarriesKeyHash(t *testing.T) {
	k := Key{Account: "a", Folder: "INBOX", Validity: "7", ID: "1"}
	n := maildirName(time.Unix(1764152100, 123456000), 99, 3, k, maildirHost("mx/1:2"), 1234)
	want := "1764152100.M123456P99Q3X" + keyHash(k) + `.mx\0571\0722,S=1234`
	if n != want {
		t.Fatalf("maildirName = %q, want %q", n, want)
	}
	if got := maildirKeyHash(n + ":2,S"); got != keyHash(k) {
		t.Errorf("maildirKeyHash = %q, want %q", got, keyHash(k))
	}
	if got := maildirKeyHash("1764152100.M1P2.otherhost"); got != "" {
		t.Errorf("maildirKeyHash of a foreign name = %q, want empty", got)
	}
}

// Every hostile id lands as one file directly inside the target directory,
// and nothing appears anywhere else.
func TestHostileIDsStayInsideTheDirectory(t *testing.T) {
	for _, format := range []Format{EML, Maildir} {
		t.Run(string(format), func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "in")
			st := openStore(t, dir, Options{Format: format})
			mb := mustMailbox(t, st, "acct", "INBOX", "1")
			for i, id := range hostileIDs {
				if id == "" {
					continue // no id is refused, see TestPutRefusesEmptyID
				}
				w := put(t, mb, mail.Message{ID: id, Received: time.Unix(int64(1764152100+i), 0)}, message(i, 100))
				rel, err := filepath.Rel(dir, filepath.Join(dir, filepath.FromSlash(w.File)))
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("id %q was written to %q, outside %s", id, w.File, dir)
				}
				wantDir := "."
				if format == Maildir {
					wantDir = "new"
				}
				if filepath.Dir(filepath.FromSlash(w.File)) != wantDir {
					t.Errorf("id %q was written to %q, not directly in %s", id, w.File, wantDir)
				}
			}
			mustCommit(t, mb)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			var outside []string
			err := filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
					outside = append(outside, p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(outside) > 0 {
				t.Errorf("files written outside the target directory: %q", outside)
			}
			if n := len(messageFiles(t, dir, format)); n != len(hostileIDs)-1 {
				t.Errorf("%d message files, want %d", n, len(hostileIDs)-1)
			}
		})
	}
}

func TestPutRefusesEmptyID(t *testing.T) {
	st := openStore(t, t.TempDir(), Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "")
	if _, err := mb.Put(mail.Message{}, strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Fatalf("Put with no id: err = %v, want a refusal", err)
	}
}
