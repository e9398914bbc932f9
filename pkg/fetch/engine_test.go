package fetch_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/fetchtest"
	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/store"
)

func msg(id, subject string) fetchtest.Message {
	raw := fmt.Sprintf("From: Ann <ann@example.com>\r\nSubject: %s\r\nDate: Thu, 26 Nov 2026 10:15:00 +0000\r\nMessage-ID: <%s@example.com>\r\n\r\nbody of %s\r\n.line with a dot\r\n", subject, sha(id), id)
	return fetchtest.Message{ID: id, Raw: []byte(raw), Received: time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)}
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return fmt.Sprintf("%x", h[:8]) }

// runOnce opens dir, fetches mb with opts and closes the store.
func runOnce(t *testing.T, dir string, mb *fetchtest.Mailbox, opts fetch.Options) (*fetch.Summary, []fetch.Record, error) {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []fetch.Record
	opts.Report = func(r fetch.Record) { recs = append(recs, r) }
	if opts.Account == "" {
		opts.Account = "acct"
	}
	s, err := fetch.Run(context.Background(), mb, st, opts)
	return s, recs, err
}

// messageFiles maps the .eml files in dir to their content.
func messageFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == store.JournalName || e.Name() == store.LockName {
			continue
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("unexpected entry in the directory: %q", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestKeepTwiceFetchesNothingThenOnlyTheNew(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	for i := 1; i <= 3; i++ {
		mb.Add(msg(fmt.Sprint(i), fmt.Sprintf("hello %d", i)))
	}
	s, recs, err := runOnce(t, dir, mb, fetch.Options{})
	if err != nil || s.Fetched != 3 || s.Failed != 0 || len(recs) != 3 {
		t.Fatalf("first run: %+v %v, %d records", s, err, len(recs))
	}
	r := recs[0]
	if r.File != "20261126T101500Z_1.eml" || r.From != "Ann <ann@example.com>" || r.Subject != "hello 1" ||
		r.Date != "2026-11-26T10:15:00Z" || r.Status != "fetched" || r.Action != "kept" || r.Type != "message" {
		t.Fatalf("record: %+v", r)
	}
	files := messageFiles(t, dir)
	if got := files["20261126T101500Z_2.eml"]; got != string(msg("2", "hello 2").Raw) {
		t.Fatalf("file content %q", got)
	}
	s, recs, err = runOnce(t, dir, mb, fetch.Options{})
	if err != nil || s.Fetched != 0 || s.Skipped != 3 || len(recs) != 0 {
		t.Fatalf("second run: %+v %v %v", s, err, recs)
	}
	for i := 4; i <= 8; i++ {
		mb.Add(msg(fmt.Sprint(i), "new"))
	}
	s, _, err = runOnce(t, dir, mb, fetch.Options{})
	if err != nil || s.Fetched != 5 || s.Skipped != 3 {
		t.Fatalf("third run: %+v %v", s, err)
	}
	if n := len(messageFiles(t, dir)); n != 8 {
		t.Fatalf("%d files, want 8", n)
	}
	if len(mb.IDs()) != 8 || len(mb.Calls()) != 0 {
		t.Fatalf("keep changed the server: %v", mb.Calls())
	}
	run, ok, err := store.LastRun(dir, "acct")
	if err != nil || !ok || run.Messages != 5 || run.Error != "" {
		t.Fatalf("last run: %+v %v %v", run, ok, err)
	}
}

var safeName = regexp.MustCompile(`^(\d{8}T\d{6}Z|nodate)_[A-Za-z0-9_.=+@,~-]{1,120}\.eml$`)

func TestHostileIDsAndHeadersGiveSafeNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "in")
	mb := fetchtest.NewMailbox()
	ids := []string{"../../escape", "/etc/passwd", "..", ".", "a/b\\c", "nul\x00byte", "\x1b[31mred\r\nX: y", strings.Repeat("long", 200),
		"CON", " spaced. ", "ü-ñ", ".hidden"}
	for i, id := range ids {
		raw := fmt.Sprintf("Subject: ../../../etc/shadow\r\nDate: not a date\r\nFrom: \"\x07bell\" <evil@example.com>\r\nMessage-ID: <h%d@x>\r\n\r\nbody %d\r\n", i, i)
		mb.Add(fetchtest.Message{ID: id, Raw: []byte(raw)})
	}
	s, recs, err := runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if err != nil || s.Fetched != len(ids) {
		t.Fatalf("run: %+v %v", s, err)
	}
	files := messageFiles(t, dir)
	if len(files) != len(ids) {
		t.Fatalf("%d files for %d ids: %v", len(files), len(ids), files)
	}
	for name := range files {
		if !safeName.MatchString(name) || len(name) > 255 {
			t.Errorf("unsafe file name %q", name)
		}
	}
	for _, r := range recs {
		if strings.ContainsAny(r.From+r.Subject, "\x00\x07\r\n") || r.Date != "" {
			t.Errorf("record carries control characters or a bogus date: %+v", r)
		}
	}
	// Nothing escaped the directory.
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Fatalf("entries next to the target: %v", ents)
	}
	if len(mb.IDs()) != 0 {
		t.Fatalf("not deleted: %q", mb.IDs())
	}
}

func TestExecGetsFileAndEnvAndFailureStaysOnServer(t *testing.T) {
	dir := t.TempDir()
	logDir := t.TempDir()
	mb := fetchtest.NewMailbox()
	mb.Add(msg("1", "fine"))
	mb.Add(msg("2", "REJECT me"))
	mb.Add(msg("3", "fine too"))
	// The command records what it got and refuses messages saying REJECT.
	script := `set -e
out="` + logDir + `/$MAILPORT_MESSAGE_ID"
{ echo "arg=$1"; echo "file=$MAILPORT_FILE"; echo "account=$MAILPORT_ACCOUNT"; echo "folder=$MAILPORT_FOLDER"; } > "$out"
cat > "$out.stdin"
if grep -q REJECT "$1"; then echo "rejected $MAILPORT_MESSAGE_ID" >&2; exit 7; fi`
	var stderr strings.Builder
	s, recs, err := runOnce(t, dir, mb, fetch.Options{Account: "support", Folder: "INBOX", Action: fetch.Delete, Exec: script, ExecOutput: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	if s.Fetched != 3 || s.Failed != 1 {
		t.Fatalf("summary %+v", s)
	}
	if got := mb.IDs(); len(got) != 1 || got[0] != "2" {
		t.Fatalf("left on the server: %v, want only 2", got)
	}
	if !strings.Contains(stderr.String(), "rejected 2") {
		t.Fatalf("command stderr not passed on: %q", stderr.String())
	}
	var failed fetch.Record
	for _, r := range recs {
		if r.Status == "failed" {
			failed = r
		}
	}
	if failed.ID != "2" || failed.Error != "--exec exited with status 7" || failed.Action != "none" {
		t.Fatalf("failed record: %+v", failed)
	}
	b, _ := os.ReadFile(filepath.Join(logDir, "1"))
	path := filepath.Join(dir, "20261126T101500Z_1.eml")
	want := "arg=" + path + "\nfile=" + path + "\naccount=support\nfolder=INBOX\n"
	if string(b) != want {
		t.Fatalf("command saw:\n%s\nwant:\n%s", b, want)
	}
	if in, _ := os.ReadFile(filepath.Join(logDir, "1.stdin")); string(in) != string(msg("1", "fine").Raw) {
		t.Fatalf("stdin was %q", in)
	}
	if run, _, _ := store.LastRun(dir, "support"); run.Failed != 1 || run.Error == "" {
		t.Fatalf("last run: %+v", run)
	}

	// The next run retries the command on the failed message only.
	os.Remove(filepath.Join(logDir, "1"))
	s, _, err = runOnce(t, dir, mb, fetch.Options{Account: "support", Folder: "INBOX", Action: fetch.Delete, Exec: script})
	if err != nil || s.Failed != 1 || s.Fetched != 0 || len(mb.IDs()) != 1 {
		t.Fatalf("retry still failing: %+v %v %v", s, err, mb.IDs())
	}
	if _, err := os.Stat(filepath.Join(logDir, "1")); err == nil {
		t.Fatal("a delivered message was handed to the command again")
	}
	// Without --exec the failed message is kept and reported as pending.
	s, _, err = runOnce(t, dir, mb, fetch.Options{Account: "support", Folder: "INBOX", Action: fetch.Delete})
	if err != nil || s.Pending != 1 || len(mb.IDs()) != 1 {
		t.Fatalf("without exec: %+v %v %v", s, err, mb.IDs())
	}
	// Once the command accepts it, it is deleted.
	s, recs, err = runOnce(t, dir, mb, fetch.Options{Account: "support", Folder: "INBOX", Action: fetch.Delete, Exec: "true"})
	if err != nil || s.Failed != 0 || s.Recovered != 1 || len(mb.IDs()) != 0 {
		t.Fatalf("retry: %+v %v %v", s, err, mb.IDs())
	}
	if len(recs) != 1 || recs[0].Status != "recovered" || recs[0].Action != "deleted" || recs[0].Subject != "REJECT me" {
		t.Fatalf("records: %+v", recs)
	}
}

func TestWriteErrorDeletesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "in")
	mb := fetchtest.NewMailbox()
	for i := 1; i <= 4; i++ {
		mb.Add(msg(fmt.Sprint(i), "x"))
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The directory vanishes under the open store: creating a file in it
	// fails even for root.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s, err := fetch.Run(context.Background(), mb, st, fetch.Options{Account: "a", Action: fetch.Delete})
	if err == nil || !strings.Contains(err.Error(), "write to "+dir) {
		t.Fatalf("error %v", err)
	}
	if s.Fetched != 0 || len(mb.IDs()) != 4 {
		t.Fatalf("summary %+v, server %v", s, mb.IDs())
	}
	for _, c := range mb.Calls() {
		if strings.HasPrefix(c, "Delete") {
			t.Fatalf("asked the server to %s", c)
		}
	}
}

func TestConnectionLostKeepsWhatArrivedAndRerunCompletes(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	for i := 1; i <= 6; i++ {
		mb.Add(msg(fmt.Sprint(i), "x"))
	}
	mb.FailFetchAfter = 2
	s, _, err := runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if !errors.Is(err, fetchtest.ErrCut) || !strings.Contains(err.Error(), "download from the server") {
		t.Fatalf("error %v", err)
	}
	// The two that arrived are stored; the server side waits for the next run.
	if s.Fetched != 2 || len(mb.IDs()) != 6 || len(messageFiles(t, dir)) != 2 {
		t.Fatalf("summary %+v; server %v", s, mb.IDs())
	}
	if run, _, _ := store.LastRun(dir, "acct"); !strings.Contains(run.Error, "connection reset") {
		t.Fatalf("last run %+v", run)
	}
	mb.FailFetchAfter = 0
	s, _, err = runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if err != nil || s.Fetched != 4 || s.Recovered != 2 || len(mb.IDs()) != 0 || len(messageFiles(t, dir)) != 6 {
		t.Fatalf("rerun %+v %v, server %v", s, err, mb.IDs())
	}
}

func TestServerRefusingTheActionLeavesItForTheNextRun(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	mb.Add(msg("1", "x"))
	mb.Add(msg("2", "x"))
	mb.FailDelete = errors.New("NO [SERVERBUG] try later")
	s, recs, err := runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if err == nil || !strings.Contains(err.Error(), "2 messages are stored but not yet deleted: deleting them on the server: NO [SERVERBUG] try later") ||
		len(recs) != 2 || recs[0].Action != "none" || !strings.Contains(recs[0].Error, "the next run tries again") {
		t.Fatalf("%+v %v %+v", s, err, recs)
	}
	mb.FailDelete = nil
	s, recs, err = runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if err != nil || s.Recovered != 2 || s.Fetched != 0 || len(mb.IDs()) != 0 || len(messageFiles(t, dir)) != 2 {
		t.Fatalf("rerun %+v %v %v", s, err, mb.IDs())
	}
	if recs[0].Status != "recovered" || recs[0].Action != "deleted" {
		t.Fatalf("records %+v", recs)
	}
}

func TestValidityChangeMatchesInsteadOfDuplicating(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	for i := 1; i <= 3; i++ {
		mb.Add(msg(fmt.Sprint(i), "x"))
	}
	if _, _, err := runOnce(t, dir, mb, fetch.Options{}); err != nil {
		t.Fatal(err)
	}
	mb.Renumber("2", "10")
	mb.Add(msg("99", "new after the change"))
	s, _, err := runOnce(t, dir, mb, fetch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ValidityChange == nil || s.ValidityChange.Old != "1" || s.ValidityChange.New != "2" {
		t.Fatalf("validity change not reported: %+v", s.ValidityChange)
	}
	if s.Matched != 3 || s.Fetched != 1 {
		t.Fatalf("summary %+v", s)
	}
	if n := len(messageFiles(t, dir)); n != 4 {
		t.Fatalf("%d files, want 4", n)
	}
	s, _, _ = runOnce(t, dir, mb, fetch.Options{})
	if s.ValidityChange != nil || s.Fetched != 0 || s.Skipped != 4 {
		t.Fatalf("after: %+v", s)
	}
}

func TestDryRunLimitMarkSeenMove(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	for i := 1; i <= 5; i++ {
		mb.Add(msg(fmt.Sprint(i), "x"))
	}
	s, recs, err := runOnce(t, dir, mb, fetch.Options{DryRun: true, Action: fetch.Delete})
	if err != nil || s.WouldFetch != 5 || len(recs) != 5 || recs[0].Status != "would-fetch" || len(messageFiles(t, dir)) != 0 || len(mb.Calls()) != 0 {
		t.Fatalf("dry run: %+v %v %+v", s, err, recs)
	}
	// A dry run without a directory yet.
	s, err = fetch.Run(context.Background(), mb, nil, fetch.Options{DryRun: true, Limit: 2})
	if err != nil || s.WouldFetch != 2 {
		t.Fatalf("dry run without store: %+v %v", s, err)
	}
	s, _, err = runOnce(t, dir, mb, fetch.Options{Limit: 2, Action: fetch.MarkSeen})
	if err != nil || s.Fetched != 2 {
		t.Fatal(s, err)
	}
	if got := mb.SeenIDs(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("seen: %v", got)
	}
	s, _, err = runOnce(t, dir, mb, fetch.Options{Action: fetch.Move, MoveTo: "Archive/Done"})
	if err != nil || s.Fetched != 3 {
		t.Fatal(s, err)
	}
	var moved []string
	for _, m := range mb.Moved("Archive/Done") {
		moved = append(moved, m.ID)
	}
	sort.Strings(moved)
	if fmt.Sprint(moved) != "[3 4 5]" {
		t.Fatalf("moved %v", moved)
	}
}
