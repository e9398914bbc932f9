package imap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/mailport/mailport/internal/hostile"
	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
)

// folderServer answers LIST from a fixed set of mailboxes (delimiter "."),
// STATUS from counts (refusing the mailboxes without any), and records
// the commands it saw.
type folderServer struct {
	caps   string
	boxes  []string // "attrs|name"
	counts map[string][2]int
	mu     sync.Mutex
	seen   []string
}

func (fs *folderServer) answers() map[string]answer {
	w := func(c net.Conn, lines ...string) { io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	note := func(cmd, args string) {
		fs.mu.Lock()
		fs.seen = append(fs.seen, cmd+" "+args)
		fs.mu.Unlock()
	}
	return map[string]answer{
		"CAPABILITY": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			w(c, "* CAPABILITY "+fs.caps, tag+" OK done")
			return true
		},
		"LIST": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			note(cmd, args)
			all := strings.Contains(args, `"*"`)
			withStatus := strings.Contains(args, "STATUS (MESSAGES UNSEEN)")
			if !all {
				// LIST "" "" or LIST "" "name": the delimiter, or the name when it exists.
				f := strings.Fields(args)
				pat := strings.Trim(f[len(f)-1], `"`)
				if pat == "" {
					w(c, `* LIST (\Noselect) "." ""`)
				}
				for _, b := range fs.boxes {
					if _, name, _ := strings.Cut(b, "|"); name == pat {
						w(c, fmt.Sprintf(`* LIST () "." %q`, name))
					}
				}
				w(c, tag+" OK done")
				return true
			}
			for _, b := range fs.boxes {
				attrs, name, _ := strings.Cut(b, "|")
				w(c, fmt.Sprintf(`* LIST (%s) "." %q`, attrs, name))
				if n, ok := fs.counts[name]; ok && withStatus {
					w(c, fmt.Sprintf(`* STATUS %q (MESSAGES %d UNSEEN %d)`, name, n[0], n[1]))
				}
			}
			w(c, tag+" OK done")
			return true
		},
		"STATUS": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			note(cmd, args)
			name := args
			if i := strings.LastIndex(args, " ("); i >= 0 {
				name = args[:i]
			}
			name = strings.Trim(name, `"`)
			if n, ok := fs.counts[name]; ok {
				w(c, fmt.Sprintf(`* STATUS %q (MESSAGES %d UNSEEN %d)`, name, n[0], n[1]), tag+" OK done")
			} else {
				w(c, tag+" NO [NONEXISTENT] no such mailbox")
			}
			return true
		},
		"SELECT": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			name := strings.Trim(args, `"`)
			for _, b := range fs.boxes {
				if _, n, _ := strings.Cut(b, "|"); n == name {
					return honest(c, tag, cmd, args)
				}
			}
			w(c, tag+" NO [NONEXISTENT] no such mailbox")
			return true
		},
	}
}

func (fs *folderServer) commands(prefix string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, s := range fs.seen {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func newFolderServer(caps string) *folderServer {
	return &folderServer{
		caps: caps,
		boxes: []string{`\HasChildren|INBOX`, `\HasNoChildren|INBOX.Notes`, `\Noselect \HasChildren|Projects`,
			`\HasNoChildren|Projects.2026`, `\Sent|Sent Messages`, `\Trash|Trash`, `\Junk|Spam`, `\Drafts|Drafts`, `\Archive|Archive`, `|Gone`},
		counts: map[string][2]int{"INBOX": {3, 1}, "INBOX.Notes": {2, 0}, "Projects.2026": {0, 0},
			"Sent Messages": {9, 0}, "Trash": {1, 1}, "Spam": {4, 4}, "Drafts": {0, 0}, "Archive": {7, 0}},
	}
}

func loggedIn(t *testing.T, ep mail.Endpoint) *mpimap.Client {
	t.Helper()
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	return c
}

// render writes a listing as "path messages/unread use" lines.
func render(fs []mail.FolderInfo) string {
	var b strings.Builder
	for _, f := range fs {
		n := func(p *int) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprint(*p)
		}
		fmt.Fprintf(&b, "%s %s/%s %s %v\n", f.Path, n(f.Messages), n(f.Unread), f.Use, f.Selectable)
	}
	return b.String()
}

const wantListing = `INBOX 3/1 inbox true
INBOX/Notes 2/0  true
Archive 7/0 archive true
Drafts 0/0 drafts true
Gone -/-  true
Projects -/-  false
Projects/2026 0/0  true
Sent Messages 9/0 sent true
Spam 4/4 junk true
Trash 1/1 trash true
`

func TestFoldersWithStatusPerFolder(t *testing.T) {
	srv := newFolderServer("IMAP4rev1 AUTH=PLAIN")
	c := loggedIn(t, fakeIMAP(t, "* OK ready", srv.answers()))
	fs, err := c.Folders(context.Background(), mail.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(fs); got != wantListing {
		t.Errorf("listing:\n%s\nwant:\n%s", got, wantListing)
	}
	// One STATUS per selectable folder (Projects is not); "Gone" is refused and listed without counts.
	if n := srv.commands("STATUS "); n != 9 {
		t.Errorf("%d STATUS commands, want 9: %q", n, srv.seen)
	}
	if n := srv.commands(`LIST "" "*"`); n != 1 {
		t.Errorf("LIST commands: %q, want one plain LIST \"\" \"*\"", srv.seen)
	}
}

func TestFoldersWithListStatus(t *testing.T) {
	srv := newFolderServer("IMAP4rev1 AUTH=PLAIN LIST-EXTENDED LIST-STATUS SPECIAL-USE")
	c := loggedIn(t, fakeIMAP(t, "* OK ready", srv.answers()))
	fs, err := c.Folders(context.Background(), mail.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := render(fs); got != wantListing {
		t.Errorf("listing:\n%s\nwant:\n%s", got, wantListing)
	}
	if n := srv.commands("STATUS "); n != 0 {
		t.Errorf("%d STATUS commands with LIST-STATUS, want none: %q", n, srv.seen)
	}
	if n := srv.commands(`LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN) SPECIAL-USE)`); n != 1 {
		t.Errorf("LIST commands: %q, want one LIST ... RETURN (STATUS (MESSAGES UNSEEN) SPECIAL-USE)", srv.seen)
	}
}

func TestOpenAndMoveNameTheNearestFolders(t *testing.T) {
	srv := newFolderServer("IMAP4rev1 AUTH=PLAIN MOVE")
	c := loggedIn(t, fakeIMAP(t, "* OK ready", srv.answers()))
	ctx := context.Background()
	cases := []struct{ path, want string }{
		{"INBOX/Nope", `folder "INBOX/Nope" not found: no "Nope"; did you mean "INBOX/Notes"?`},
		{"inbox/notse", `folder "inbox/notse" not found: no "notse"; did you mean "INBOX/Notes"?`},
		{"Notes", `folder "Notes" not found; did you mean "INBOX/Notes"?`},
		{"Projects/2062", `folder "Projects/2062" not found: no "2062"; did you mean "Projects/2026"?`},
		{"Quarterly", `folder "Quarterly" not found`},
	}
	for _, tc := range cases {
		_, err := c.Open(ctx, tc.path)
		var nf *mail.FolderNotFoundError
		if !errors.As(err, &nf) || err.Error() != tc.want {
			t.Errorf("Open(%q) = %v, want %q", tc.path, err, tc.want)
		}
	}
	// STATUS is never needed to suggest.
	if n := srv.commands("STATUS "); n != 0 {
		t.Errorf("%d STATUS commands while suggesting", n)
	}
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	err := c.Move(ctx, []string{"1"}, "Archiv")
	if err == nil || err.Error() != `folder "Archiv" not found; did you mean "Archive"?` {
		t.Errorf("Move to a missing folder: %v", err)
	}
}

func TestHostileFolderListing(t *testing.T) {
	login := func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool { return honest(c, tag, cmd, args) }
	t.Run("endless LIST", func(t *testing.T) {
		ep := fakeIMAP(t, "* OK ready", map[string]answer{"LOGIN": login, "LIST": flood("", `* LIST () "/" `+strings.Repeat("x", 1000)+"\r\n")})
		err := measured(t, func() error {
			c, err := mpimap.Dial(context.Background(), ep)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
				return err
			}
			_, err = c.Folders(context.Background(), mail.FolderOptions{})
			return err
		})
		wantStopped(t, err, mpimap.FaultFlood, `sent more than 4096 KiB in the reply to LIST "" "*" without finishing it`)
	})
	t.Run("too many folders", func(t *testing.T) {
		var lines []string
		for i := 0; i <= 10_000; i++ {
			lines = append(lines, fmt.Sprintf(`* LIST (\Noselect) "/" f%d`, i))
		}
		ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": replyLines(lines...)})
		err := measured(t, func() error {
			c, err := mpimap.Dial(context.Background(), ep)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
				return err
			}
			_, err = c.Folders(context.Background(), mail.FolderOptions{})
			return err
		})
		wantServerError(t, err, mpimap.FaultFlood, "listed more than 10000 folders in reply to LIST")
	})
	t.Run("trickled LIST", func(t *testing.T) {
		ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": trickle(`* LIST () "/" INBOX`+"\r\n", "* LIST () \"/\" x\r\n")})
		err := measured(t, func() error {
			c, err := mpimap.Dial(context.Background(), ep)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
				return err
			}
			_, err = c.Folders(context.Background(), mail.FolderOptions{})
			return err
		})
		if err == nil || !strings.Contains(err.Error(), `LIST "" "*"`) {
			t.Errorf("error = %v, want the step timeout naming LIST", err)
		}
	})
}
