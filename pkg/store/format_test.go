package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// A directory holding the other format is refused before anything is
// created in it, naming what shows it and the fix.
func TestOpenRefusesTheOtherFormat(t *testing.T) {
	maildir := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(maildir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(maildir, Options{Format: EML})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Found != Maildir || err.Error() != maildir+" holds a Maildir (cur/ new/ tmp/); fetch with --format maildir or choose another directory" {
		t.Fatalf("eml into a Maildir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(maildir, JournalName)); !os.IsNotExist(err) {
		t.Fatal("the refused open wrote a journal")
	}

	emlDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(emlDir, "20261126T101500Z_42.eml"), []byte("Subject: x\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(emlDir, Options{Format: Maildir})
	if !errors.As(err, &fe) || fe.Found != EML || !strings.HasSuffix(err.Error(), " holds messages fetched as .eml files (20261126T101500Z_42.eml); fetch with --format eml or choose another directory") {
		t.Fatalf("maildir into an eml directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(emlDir, "new")); !os.IsNotExist(err) {
		t.Fatal("the refused open created new/")
	}
	// The same format opens; so does a directory of unrelated files.
	for dir, f := range map[string]Format{maildir: Maildir, emlDir: EML} {
		s, err := Open(dir, Options{Format: f})
		if err != nil {
			t.Fatalf("%s as %s: %v", dir, f, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// When the files are gone but the journal still records messages of the
// other format, the journal is the evidence.
func TestOpenRefusesTheOtherFormatByJournal(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{Format: Maildir})
	if err != nil {
		t.Fatal(err)
	}
	mb := mustMailbox(t, st, "acct", "INBOX", "7")
	put(t, mb, mail.Message{ID: "42", Received: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}, []byte("Subject: x\r\n\r\nbody\r\n"))
	if _, err := mb.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Open(dir, Options{Format: EML})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Found != Maildir || !strings.Contains(err.Error(), "holds a Maildir (the fetch journal records new/") {
		t.Fatalf("eml into a former Maildir: %v", err)
	}
	// The lock was released: the right format opens.
	st, err = Open(dir, Options{Format: Maildir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}
