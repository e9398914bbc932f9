package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// ---- helpers ----

func openStore(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	st, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func mustMailbox(t *testing.T, st *Store, account, folder, validity string) *Mailbox {
	t.Helper()
	mb, err := st.Mailbox(account, folder, validity)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

func put(t *testing.T, mb *Mailbox, m mail.Message, body []byte) Written {
	t.Helper()
	w, err := mb.Put(m, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("Put(%q): %v", m.ID, err)
	}
	return w
}

func mustCommit(t *testing.T, mb *Mailbox) []Receipt {
	t.Helper()
	rs, err := mb.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return rs
}

// message is a deterministic RFC 5322 message of about size bytes.
func message(i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\n", i)
	fmt.Fprintf(&b, "Date: Thu, 26 Nov 2026 10:%02d:00 +0000\r\nMessage-ID: <m%d@example.org>\r\n\r\n", i%60, i)
	for b.Len() < size {
		fmt.Fprintf(&b, "line %d of message %d\r\n", b.Len(), i)
	}
	return b.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// messageFiles lists what a collector would take as messages.
func messageFiles(t *testing.T, dir string, format Format) []string {
	t.Helper()
	var out []string
	dirs := []string{dir}
	if format == Maildir {
		dirs = []string{filepath.Join(dir, "new"), filepath.Join(dir, "cur")}
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

// tempFiles lists leftover temporary files anywhere under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- writing ----

func TestPutEMLIsAtomicAndByteExact(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "7")
	body := message(1, 5000)
	// Bytes that a careless writer would alter: a lone LF, a dot line, 8-bit.
	body = append(body, []byte(".\n.. dot\r\nend \xe9\xff\r\n")...)
	w := put(t, mb, mail.Message{ID: "42", Received: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}, body)

	if w.File != "20261126T101500Z_42.eml" {
		t.Errorf("file %q, want 20261126T101500Z_42.eml", w.File)
	}
	got, err := os.ReadFile(filepath.Join(dir, w.File))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("file content differs from the message (%d vs %d bytes)", len(got), len(body))
	}
	if w.Size != int64(len(body)) || w.SHA256 != sum(body) || w.MessageID != "<m1@example.org>" {
		t.Errorf("Written = size %d sha %s mid %q; want %d %s <m1@example.org>", w.Size, w.SHA256, w.MessageID, len(body), sum(body))
	}
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("temporary files left: %q", tf)
	}
	fi, err := os.Stat(filepath.Join(dir, w.File))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestEMLNameFallsBackToDateHeaderThenNoDate(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "", "")
	// POP3 gives no received time: the Date: header names the file.
	folded := "Subject: x\r\nDate: Thu, 26 Nov 2026\r\n 11:15:00 +0100\r\nMessage-Id:\r\n  <folded@x>\r\n\r\nbody\r\n"
	w := put(t, mb, mail.Message{ID: "uidl-1"}, []byte(folded))
	if w.File != "20261126T101500Z_uidl-1.eml" || w.MessageID != "<folded@x>" {
		t.Errorf("got file %q, Message-ID %q; want 20261126T101500Z_uidl-1.eml and <folded@x>", w.File, w.MessageID)
	}
	w = put(t, mb, mail.Message{ID: "uidl-2"}, []byte("Subject: no date\r\n\r\nDate: not a header\r\n"))
	if w.File != "nodate_uidl-2.eml" || w.MessageID != "" {
		t.Errorf("got file %q, Message-ID %q; want nodate_uidl-2.eml and none", w.File, w.MessageID)
	}
}

func TestPutMaildir(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{Format: Maildir, Hostname: "mx.example"})
	mb := mustMailbox(t, st, "acct", "INBOX", "7")
	body := message(2, 20000)
	w := put(t, mb, mail.Message{ID: "9"}, body)
	if !strings.HasPrefix(w.File, "new/") || !strings.HasSuffix(w.File, fmt.Sprintf(".mx.example,S=%d", len(body))) {
		t.Errorf("Maildir file %q, want new/<unique>.mx.example,S=%d", w.File, len(body))
	}
	got, err := os.ReadFile(filepath.Join(dir, w.File))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("content differs or unreadable: %v", err)
	}
	for _, sub := range []string{"tmp", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil || len(ents) != 0 {
			t.Errorf("%s/ has %d entries (%v), want none", sub, len(ents), err)
		}
	}
	// A second message gets another unique name.
	w2 := put(t, mb, mail.Message{ID: "10"}, body)
	if w2.File == w.File {
		t.Errorf("two messages share the name %q", w.File)
	}
}

// A generating reader, so the test itself holds no 30 MB buffer.
type genReader struct{ left int64 }

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), g.left)
	for i := range p[:n] {
		p[i] = 'a' + byte((g.left-int64(i))%26)
	}
	if n >= 2 {
		p[n-2], p[n-1] = '\r', '\n'
	}
	g.left -= n
	return int(n), nil
}

func TestMemoryStaysFlatFor30MB(t *testing.T) {
	const size = 30 << 20
	for _, format := range []Format{EML, Maildir} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			st := openStore(t, dir, Options{Format: format})
			mb := mustMailbox(t, st, "acct", "INBOX", "1")

			// Sample the heap while writing to catch a peak, and count
			// every byte allocated: buffering the message would show in both.
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var peak uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}()
			w, err := mb.Put(mail.Message{ID: "big"}, &genReader{left: size})
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if w.Size != size {
				t.Fatalf("wrote %d bytes, want %d", w.Size, size)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
				t.Errorf("writing 30 MB allocated %d bytes; memory is not flat", alloc)
			}
			if grow := int64(peak) - int64(before.HeapAlloc); grow > 4<<20 {
				t.Errorf("heap peaked %d bytes above the start while writing 30 MB", grow)
			}
			fi, err := os.Stat(filepath.Join(dir, w.File))
			if err != nil || fi.Size() != size {
				t.Errorf("file %s: %v, size %v", w.File, err, fi)
			}
		})
	}
}

// An existing file with other content is never replaced, even a symlink
// planted under the name a message would get.
func TestPutNeverReplacesAFile(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "in")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(parent, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	if err := os.Symlink(victim, filepath.Join(dir, EMLName(received, "1"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, EMLName(received, "2")), []byte("someone else's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "1")
	w1 := put(t, mb, mail.Message{ID: "1", Received: received}, message(1, 100))
	w2 := put(t, mb, mail.Message{ID: "2", Received: received}, message(2, 100))
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the symlink target outside the directory was changed to %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, EMLName(received, "2"))); string(b) != "someone else's file" {
		t.Errorf("an existing file was replaced")
	}
	for _, w := range []Written{w1, w2} {
		if !strings.HasPrefix(w.File, "20261126T101500Z_"+w.ID+".") || w.Adopted {
			t.Errorf("message %s went to %q (adopted %v), want an alternative name", w.ID, w.File, w.Adopted)
		}
	}
}

// Two accounts fetching the same id into one directory keep both messages.
func TestSameNameFromTwoAccounts(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := put(t, mustMailbox(t, st, "a", "INBOX", "1"), mail.Message{ID: "1", Received: received}, message(1, 100))
	b := put(t, mustMailbox(t, st, "b", "INBOX", "1"), mail.Message{ID: "1", Received: received}, message(1, 100))
	if a.File == b.File {
		t.Fatalf("both accounts' message 1 recorded as %q", a.File)
	}
	if n := len(messageFiles(t, dir, EML)); n != 2 {
		t.Errorf("%d files, want 2", n)
	}
}

// ---- the journal ----

func TestSeenAfterReopenAndNoSecondPut(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	put(t, mb, mail.Message{ID: "1"}, message(1, 100))
	if !mb.Seen("1") {
		t.Error("Seen is false right after Put")
	}
	mustCommit(t, mb)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "5")
	if !mb.Seen("1") || mb.Seen("2") {
		t.Errorf("after reopen Seen(1)=%v Seen(2)=%v, want true false", mb.Seen("1"), mb.Seen("2"))
	}
	if other := mustMailbox(t, st, "acct", "INBOX", "6"); other.Seen("1") {
		t.Error("Seen(1) is true under another UIDVALIDITY")
	}
	if _, err := mb.Put(mail.Message{ID: "1"}, bytes.NewReader(message(1, 100))); err == nil || !strings.Contains(err.Error(), "already recorded") {
		t.Errorf("second Put of a recorded id: err = %v", err)
	}
	if n := len(messageFiles(t, dir, EML)); n != 1 {
		t.Errorf("%d files, want 1", n)
	}
}

func TestCloseRecordsWhatWasNotCommitted(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	put(t, mb, mail.Message{ID: "1"}, message(1, 100))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir, Options{})
	rs := mustMailbox(t, st, "acct", "INBOX", "5").Unacknowledged()
	if len(rs) != 1 || rs[0].ID != "1" {
		t.Fatalf("Unacknowledged after Close without Commit = %v, want message 1", rs)
	}
}

func TestTornLastLineIsIgnored(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	for i := 1; i <= 3; i++ {
		put(t, mb, mail.Message{ID: fmt.Sprint(i)}, message(i, 100))
	}
	mustCommit(t, mb)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, JournalName)
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-append, and a block of zeros as a power loss may leave.
	if _, err := f.WriteString("\x00\x00\x00\x00\n{\"t\":\"fetched\",\"a\":\"acct\",\"f\":\"INBOX\",\"v\":\"5\",\"id\":\"4\",\"fi"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	st = openStore(t, dir, Options{})
	if st.Skipped() != 1 {
		t.Errorf("Skipped = %d, want 1 (the zeros)", st.Skipped())
	}
	mb = mustMailbox(t, st, "acct", "INBOX", "5")
	for i := 1; i <= 3; i++ {
		if !mb.Seen(fmt.Sprint(i)) {
			t.Errorf("message %d not seen after a torn last line", i)
		}
	}
	if mb.Seen("4") {
		t.Error("the torn record of message 4 was taken as fetched")
	}
	put(t, mb, mail.Message{ID: "4"}, message(4, 100))
	mustCommit(t, mb)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Every complete line parses: the new record did not glue onto the torn one.
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var r map[string]any
		if strings.Trim(line, "\x00") != "" && json.Unmarshal([]byte(line), &r) != nil {
			t.Errorf("journal line %d is not JSON: %q", n+1, line)
		}
	}
	st = openStore(t, dir, Options{})
	if !mustMailbox(t, st, "acct", "INBOX", "5").Seen("4") {
		t.Error("message 4 not seen after reopen")
	}
}

func TestRecordedButNotAcknowledgedIsRecovered(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	for i := 1; i <= 3; i++ {
		put(t, mb, mail.Message{ID: fmt.Sprint(i)}, message(i, 100))
	}
	rs := mustCommit(t, mb)
	if err := mb.Acknowledge(ActionDeleted, rs[0]); err != nil {
		t.Fatal(err)
	}
	// "Crash": the server never deleted 2 and 3.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "5")
	un := mb.Unacknowledged()
	if len(un) != 2 || un[0].ID != "2" || un[1].ID != "3" {
		t.Fatalf("Unacknowledged = %v, want messages 2 and 3", ids(un))
	}
	for _, r := range un {
		b, err := os.ReadFile(r.Path())
		if err != nil || !bytes.Equal(b, message(mustAtoi(r.ID), 100)) {
			t.Errorf("receipt %s points at %s: %v", r.ID, r.Path(), err)
		}
	}
	if err := mb.Acknowledge(ActionDeleted, un...); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "5")
	if un := mb.Unacknowledged(); len(un) != 0 {
		t.Errorf("still unacknowledged after Acknowledge: %v", ids(un))
	}
	if e, _ := mb.Entry("2"); e.State != StateAcknowledged || e.Action != ActionDeleted {
		t.Errorf("entry 2 = %s/%s, want acknowledged/deleted", e.State, e.Action)
	}
	if n := len(messageFiles(t, dir, EML)); n != 3 {
		t.Errorf("%d files, want 3", n)
	}
}

func TestAcknowledgeNeedsADurableReceipt(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	w := put(t, mb, mail.Message{ID: "1"}, message(1, 100))

	forged := Receipt{Entry: w.Entry}
	if err := mb.Acknowledge(ActionDeleted, forged); err == nil || !strings.Contains(err.Error(), "no durable record") {
		t.Errorf("Acknowledge with a forged receipt: err = %v", err)
	}
	other := openStore(t, t.TempDir(), Options{})
	omb := mustMailbox(t, other, "acct", "INBOX", "5")
	put(t, omb, mail.Message{ID: "1"}, message(1, 100))
	foreign := mustCommit(t, omb)
	if err := mb.Acknowledge(ActionDeleted, foreign...); err == nil {
		t.Error("Acknowledge accepted a receipt of another directory whose record here is not durable")
	}
	rs := mustCommit(t, mb)
	if err := mb.Acknowledge(ActionDeleted, rs...); err != nil {
		t.Errorf("Acknowledge with the committed receipt: %v", err)
	}
}

func TestFailedExecIsRetried(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "5")
	put(t, mb, mail.Message{ID: "1"}, message(1, 100))
	put(t, mb, mail.Message{ID: "2"}, message(2, 100))
	rs := mustCommit(t, mb)
	if err := mb.Fail(rs[0], errors.New("exit status 3")); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delivered(rs[1]); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "5")
	failed := mb.Failed()
	if len(failed) != 1 || failed[0].ID != "1" || failed[0].Error != "exit status 3" || failed[0].Tries != 1 {
		t.Fatalf("Failed = %+v, want message 1 with its error and one try", failed)
	}
	un := mb.Unacknowledged()
	if len(un) != 1 || un[0].ID != "2" || un[0].State != StateDelivered {
		t.Fatalf("Unacknowledged = %+v, want message 2 delivered (no second exec)", un)
	}
	if err := mb.Fail(failed[0], errors.New("exit status 4")); err != nil {
		t.Fatal(err)
	}
	failed = mb.Failed()
	if failed[0].Tries != 2 || failed[0].Error != "exit status 4" {
		t.Errorf("after a second failure: %+v", failed[0])
	}
	if err := mb.Delivered(failed[0]); err != nil {
		t.Fatal(err)
	}
	if err := mb.Acknowledge(ActionSeen, failed[0], un[0]); err != nil {
		t.Fatal(err)
	}
	if len(mb.Failed()) != 0 || len(mb.Unacknowledged()) != 0 {
		t.Errorf("after retry: failed %v, unacknowledged %v", ids(mb.Failed()), ids(mb.Unacknowledged()))
	}
}

func TestValidityChangeMatchesByMessageIDAndSize(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "100")
	if mb.ValidityChange() != nil {
		t.Error("first run reported a validity change")
	}
	for i := 1; i <= 4; i++ {
		put(t, mb, mail.Message{ID: fmt.Sprint(i)}, message(i, 300))
	}
	rs := mustCommit(t, mb)
	if err := mb.Acknowledge(ActionSeen, rs[0], rs[1]); err != nil {
		t.Fatal(err)
	}
	if err := mb.Acknowledge(ActionDeleted, rs[3]); err != nil { // 4 is gone from the server
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "200")
	ch := mb.ValidityChange()
	if ch == nil || ch.Old != "100" || ch.New != "200" || ch.Candidates != 3 {
		t.Fatalf("ValidityChange = %+v, want 100 -> 200 with 3 candidates", ch)
	}
	if e, ok := mb.MatchByMessageID(" <m2@example.org> ", int64(len(message(2, 300)))); !ok || e.ID != "2" {
		t.Errorf("MatchByMessageID(<m2>) = %v %v, want entry 2", e.ID, ok)
	}
	if _, ok := mb.MatchByMessageID("<m2@example.org>", 1); ok {
		t.Error("MatchByMessageID matched a different size")
	}
	// The server renumbered: 1,2,3 are now 11,12,13; 4 comes back as if new
	// (it had been deleted, so it is a new delivery); 5 is new.
	var news []Written
	for i, id := range map[int]string{1: "11", 2: "12", 3: "13", 4: "14", 5: "15"} {
		news = append(news, put(t, mb, mail.Message{ID: id}, message(i, 300)))
	}
	matched := map[string]Written{}
	for _, w := range news {
		if w.Matched {
			matched[w.ID] = w
		}
	}
	if len(matched) != 3 || matched["11"].File == "" || matched["11"].MatchedFrom.ID != "1" {
		t.Fatalf("matched %v, want 11, 12, 13 matched to 1, 2, 3", matched)
	}
	if matched["11"].State != StateDelivered || matched["13"].State != StateFetched {
		t.Errorf("carried states: 11 %s (was acknowledged), 13 %s (was fetched)", matched["11"].State, matched["13"].State)
	}
	if n := len(messageFiles(t, dir, EML)); n != 6 {
		t.Errorf("%d files, want 6 (4 old + 4 again + 5 new)", n)
	}
	rs = mustCommit(t, mb)
	if len(rs) != 5 {
		t.Fatalf("%d receipts, want 5", len(rs))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The matches are durable: a rerun neither re-matches nor reports candidates left.
	st = openStore(t, dir, Options{})
	mb = mustMailbox(t, st, "acct", "INBOX", "200")
	if mb.ValidityChange() != nil {
		t.Error("validity change reported again on the next run")
	}
	if _, ok := mb.MatchByMessageID("<m1@example.org>", int64(len(message(1, 300)))); ok {
		t.Error("an already matched entry matched again")
	}
	if e, ok := mb.Entry("11"); !ok || e.MatchedFrom == nil || e.File != matched["11"].File {
		t.Errorf("entry 11 after reopen = %+v", e)
	}
}

// A file renamed into place just before a crash (no record) is recorded
// when the message comes again, not written a second time.
func TestRenamedButUnrecordedFileIsAdopted(t *testing.T) {
	t.Run("eml", func(t *testing.T) {
		dir := t.TempDir()
		received := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
		body := message(1, 1000)
		if err := os.WriteFile(filepath.Join(dir, EMLName(received, "1")), body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tmpPrefix+"deadbeef"), body[:10], 0o600); err != nil {
			t.Fatal(err)
		}
		st := openStore(t, dir, Options{})
		if tf := tempFiles(t, dir); len(tf) != 0 {
			t.Errorf("Open left temporary files: %q", tf)
		}
		mb := mustMailbox(t, st, "acct", "INBOX", "1")
		w := put(t, mb, mail.Message{ID: "1", Received: received}, body)
		if !w.Adopted || w.File != EMLName(received, "1") {
			t.Errorf("Written = %+v, want the existing file adopted", w)
		}
		if n := len(messageFiles(t, dir, EML)); n != 1 {
			t.Errorf("%d files, want 1", n)
		}
	})
	t.Run("maildir", func(t *testing.T) {
		dir := t.TempDir()
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		k := Key{Account: "acct", Folder: "INBOX", Validity: "1", ID: "1"}
		body := message(1, 1000)
		// A mail reader already moved it to cur/ and flagged it.
		name := maildirName(time.Now(), 1, 1, k, "h", int64(len(body))) + ":2,S"
		if err := os.WriteFile(filepath.Join(dir, "cur", name), body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tmp", tmpPrefix+"x"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		st := openStore(t, dir, Options{Format: Maildir, Hostname: "h"})
		if tf := tempFiles(t, dir); len(tf) != 0 {
			t.Errorf("Open left temporary files: %q", tf)
		}
		mb := mustMailbox(t, st, "acct", "INBOX", "1")
		w := put(t, mb, mail.Message{ID: "1"}, body)
		if !w.Adopted || w.File != "cur/"+name {
			t.Errorf("Written = %+v, want cur/%s adopted", w, name)
		}
		// Another id with the same bytes is not the orphan's message.
		w2 := put(t, mb, mail.Message{ID: "2"}, body)
		if w2.Adopted {
			t.Error("a message with another id adopted the orphan")
		}
		if n := len(messageFiles(t, dir, Maildir)); n != 2 {
			t.Errorf("%d files, want 2", n)
		}
	})
}

func TestLastRun(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	if _, ok := st.LastRun("acct"); ok {
		t.Error("LastRun before any run")
	}
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	if err := st.RecordRun(Run{Account: "acct", Started: start, Finished: start.Add(time.Minute), Messages: 42, Bytes: 3100000, Failed: 1, Error: "1 message failed"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordRun(Run{Account: "other", Finished: start}); err != nil {
		t.Fatal(err)
	}
	// status reads it while the fetch still holds the lock.
	run, ok, err := LastRun(dir, "acct")
	if err != nil || !ok {
		t.Fatalf("LastRun: %v %v", ok, err)
	}
	want := Run{Account: "acct", Started: start, Finished: start.Add(time.Minute), Messages: 42, Bytes: 3100000, Failed: 1, Error: "1 message failed"}
	if run != want {
		t.Errorf("LastRun = %+v, want %+v", run, want)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir, Options{})
	if got, _ := st.LastRun("acct"); got != want {
		t.Errorf("LastRun after reopen = %+v", got)
	}
	if _, ok, err := LastRun(t.TempDir(), "acct"); ok || err != nil {
		t.Errorf("LastRun of an empty directory: %v %v", ok, err)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	mb := mustMailbox(t, st, "acct", "INBOX", "1")
	for i := 0; i < 300; i++ {
		put(t, mb, mail.Message{ID: fmt.Sprint(i)}, message(i, 50))
	}
	rs := mustCommit(t, mb)
	for round := 0; round < 6; round++ {
		for _, r := range rs[:150] {
			if err := mb.Fail(r, fmt.Errorf("try %d", round)); err != nil {
				t.Fatal(err)
			}
		}
		if err := mb.Acknowledge(ActionSeen, rs[150:]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordRun(Run{Account: "acct", Messages: 300}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	before := countLines(t, filepath.Join(dir, JournalName))

	st = openStore(t, dir, Options{})
	after := countLines(t, filepath.Join(dir, JournalName))
	if before < 2000 || after > 310 {
		t.Errorf("journal lines %d before, %d after compaction; want it rewritten to about one per message", before, after)
	}
	mb = mustMailbox(t, st, "acct", "INBOX", "1")
	failed := mb.Failed()
	if len(failed) != 150 || failed[0].Tries != 6 || failed[0].Error != "try 5" {
		t.Errorf("after compaction: %d failed, first %+v", len(failed), failed[0])
	}
	if e, _ := mb.Entry("200"); e.State != StateAcknowledged || e.Action != ActionSeen {
		t.Errorf("entry 200 after compaction: %s %s", e.State, e.Action)
	}
	if run, ok := st.LastRun("acct"); !ok || run.Messages != 300 {
		t.Errorf("LastRun after compaction: %+v", run)
	}
	if tf := tempFiles(t, dir); len(tf) != 0 {
		t.Errorf("temporary files after compaction: %q", tf)
	}
}

func TestConcurrentMailboxes(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	var wg sync.WaitGroup
	for a := 0; a < 4; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mb, err := st.Mailbox(fmt.Sprint("acct", a), "INBOX", "1")
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 20; i++ {
				if _, err := mb.Put(mail.Message{ID: fmt.Sprint(i)}, bytes.NewReader(message(a*100+i, 200))); err != nil {
					t.Error(err)
				}
			}
			rs, err := mb.Commit()
			if err != nil || len(rs) != 20 {
				t.Errorf("commit: %d receipts, %v", len(rs), err)
			}
		}()
	}
	wg.Wait()
	if n := len(messageFiles(t, dir, EML)); n != 80 {
		t.Errorf("%d files, want 80", n)
	}
}

// ---- the lock ----

func TestSecondOpenIsRefusedWithAClearMessage(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{})
	_, err := Open(dir, Options{})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open: %v, want a *LockedError", err)
	}
	want := fmt.Sprintf("another mailport fetch (PID %d) is writing into %s; try again when it has finished, or wait for it", os.Getpid(), st.Dir())
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant:\n%s", err, want)
	}

	start := time.Now()
	_, err = Open(dir, Options{Wait: 300 * time.Millisecond})
	if !errors.As(err, &le) || time.Since(start) < 300*time.Millisecond {
		t.Errorf("Open with Wait: %v after %s", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "did not finish within 300ms") {
		t.Errorf("message %q does not say how long it waited", err)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = st.Close()
	}()
	st2, err := Open(dir, Options{Wait: 5 * time.Second})
	if err != nil {
		t.Fatalf("Open waiting for the first to close: %v", err)
	}
	_ = st2.Close()
}

func TestOpenRefusesUnknownFormat(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{Format: "mbox"}); err == nil || !strings.Contains(err.Error(), "use eml or maildir") {
		t.Errorf("err = %v", err)
	}
}

// ---- small helpers ----

func ids(rs []Receipt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func mustAtoi(s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		panic(err)
	}
	return n
}

func countLines(t *testing.T, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func TestReceiptFollowsAMaildirMessageMovedToCur(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, Options{Format: Maildir})
	mb := mustMailbox(t, st, "acct", "INBOX", "1")
	w := put(t, mb, mail.Message{ID: "1"}, message(1, 100))
	rs := mustCommit(t, mb)
	if err := mb.Fail(rs[0], errors.New("exit status 1")); err != nil {
		t.Fatal(err)
	}
	// A mail reader takes it: new/X becomes cur/X:2,S.
	moved := "cur/" + strings.TrimPrefix(w.File, "new/") + ":2,S"
	if err := os.Rename(filepath.Join(dir, w.File), filepath.Join(dir, moved)); err != nil {
		t.Fatal(err)
	}
	failed := mb.Failed()
	if len(failed) != 1 || failed[0].Path() != filepath.Join(st.Dir(), moved) {
		t.Fatalf("Failed()[0].Path() = %q, want %q", failed[0].Path(), filepath.Join(st.Dir(), moved))
	}
}
