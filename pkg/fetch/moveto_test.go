package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/fetchtest"
	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/store"
)

// folderBox is a fake with a list of folders it can check, whose MOVE the
// test can make fail.
type folderBox struct {
	*fetchtest.Mailbox
	folders   map[string]bool
	failMoves int
}

func (b *folderBox) CheckFolder(_ context.Context, path string) error {
	if !b.folders[path] {
		return &mail.FolderNotFoundError{Path: path, Missing: path[strings.LastIndex(path, "/")+1:]}
	}
	return nil
}

func (b *folderBox) Move(ctx context.Context, ids []string, dest string) error {
	if b.failMoves > 0 {
		b.failMoves--
		return errors.New("NO [SERVERBUG] move failed")
	}
	return b.Mailbox.Move(ctx, ids, dest)
}

func TestMoveToMissingFolderFailsBeforeFetching(t *testing.T) {
	dir := t.TempDir()
	box := &folderBox{Mailbox: fetchtest.NewMailbox(), folders: map[string]bool{"Archive": true}}
	box.Add(msg("1", "x"))
	s, recs, err := runOnce(t, dir, box.Mailbox, fetch.Options{}) // warm: nothing special
	if err != nil || s.Fetched != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	dir = t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err = fetch.Run(context.Background(), box, st, fetch.Options{Account: "acct", Action: fetch.Move, MoveTo: "Archive/Nope"})
	want := `the --move-to folder "Archive/Nope" does not exist on the server (it has no "Nope"); create it or name an existing folder; nothing was fetched`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if s.Fetched != 0 || len(messageFiles(t, dir)) != 0 || len(recs) != 1 || fmt.Sprint(box.IDs()) != "[1]" {
		t.Fatalf("fetched anyway: %+v, server %v", s, box.IDs())
	}
}

// A run whose MOVE fails leaves the stored message for the next run,
// which moves it without storing it again.
func TestPendingMoveIsFinishedNextRun(t *testing.T) {
	dir := t.TempDir()
	box := &folderBox{Mailbox: fetchtest.NewMailbox(), folders: map[string]bool{"Archive": true}, failMoves: 1}
	box.Add(msg("1", "x"))
	box.Add(msg("2", "y"))
	run := func() (*fetch.Summary, error) {
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return fetch.Run(context.Background(), box, st, fetch.Options{Account: "acct", Action: fetch.Move, MoveTo: "Archive"})
	}
	s, err := run()
	if err == nil || !strings.Contains(err.Error(), "2 messages are stored but not yet moved") || s.Fetched != 2 {
		t.Fatalf("first run: %+v %v", s, err)
	}
	if len(box.Moved("Archive")) != 0 || len(messageFiles(t, dir)) != 2 {
		t.Fatalf("after the failed move: moved %v, files %d", box.Moved("Archive"), len(messageFiles(t, dir)))
	}
	s, err = run()
	if err != nil || s.Recovered != 2 || s.Fetched != 0 {
		t.Fatalf("rerun: %+v %v", s, err)
	}
	if len(box.Moved("Archive")) != 2 || len(box.IDs()) != 0 || len(messageFiles(t, dir)) != 2 {
		t.Fatalf("after the rerun: moved %d, left %v, files %d", len(box.Moved("Archive")), box.IDs(), len(messageFiles(t, dir)))
	}
}

func TestGraphMoveToMissingFolderFailsBeforeFetching(t *testing.T) {
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	srv.AddMessage(graphUser, "Inbox", []byte("Subject: a\r\nMessage-ID: <a@x>\r\n\r\na\r\n"))
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = fetch.Run(context.Background(), graphClient(t, srv), st, fetch.Options{Account: "support", Action: fetch.Move, MoveTo: "Archive/Nope"})
	if err == nil || !strings.HasPrefix(err.Error(), `the --move-to folder "Archive/Nope" does not exist on the server`) {
		t.Fatalf("error %v", err)
	}
	if n := len(messageFiles(t, dir)); n != 0 || srv.Count("GET", "/$value") != 0 || len(srv.Messages(graphUser, "Inbox")) != 1 {
		t.Fatalf("fetched anyway: %d files, %d downloads", n, srv.Count("GET", "/$value"))
	}
}

func TestDovecotMoveTo(t *testing.T) {
	b := bed.Get(t)
	w := newWorld(t, "moveto", acct{name: "box", protocol: "imap", port: b.IMAPPort, encryption: "starttls"})
	if err := b.CreateFolder(w.user, "Archive/Done"); err != nil {
		t.Fatal(err)
	}
	want := w.deliver(3, "moveto", func(int) int { return 800 })
	to := filepath.Join(w.dir, "in")

	r := w.run("fetch", "box", "--to", to, "--move-to", "Archive/Nope")
	if r.code != 1 || r.err != "error: fetch box: the --move-to folder \"Archive/Nope\" does not exist on the server (it has no \"Nope\"); create it or name an existing folder; nothing was fetched\n" || r.out != "" {
		t.Fatalf("missing folder: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	if n := countEML(to); n != 0 || w.serverCount() != 3 {
		t.Fatalf("%d files, %d on the server", n, w.serverCount())
	}

	// Killed between storing and moving: --exec kills mailport itself
	// (its parent), after the messages are recorded and before the move.
	c := w.command("fetch", "box", "--to", to, "--move-to", "Archive/Done", "--exec", `kill -9 $PPID; sleep 5`)
	if out, err := c.CombinedOutput(); err == nil {
		t.Fatalf("the run was not killed: %s", out)
	}
	if countEML(to) == 0 || w.serverCount() != 3 {
		t.Fatalf("after the kill: %d files, %d on the server (want stored, not moved)", countEML(to), w.serverCount())
	}
	r = w.mustRun("fetch", "box", "--to", to, "--move-to", "Archive/Done")
	if !strings.Contains(r.out, "finished from an earlier run") {
		t.Fatalf("rerun: %q", r.out)
	}
	moved, err := b.Messages(w.user, "Archive/Done")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 3 || w.serverCount() != 0 {
		t.Fatalf("%d in Archive/Done, %d left in INBOX", len(moved), w.serverCount())
	}
	sameOnce(t, dirHashes(t, to), want)
	if _, err := os.Stat(filepath.Join(to, store.JournalName)); err != nil {
		t.Fatal(err)
	}
}
