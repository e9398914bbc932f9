package imap_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/hostile"
	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
)

// listAnswer answers LIST "" "" with the delimiter d and LIST "" "*" with lines.
func listAnswer(d string, lines ...string) answer {
	return func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if strings.HasSuffix(args, `""`) {
			io.WriteString(c, `* LIST (\Noselect) "`+d+`" ""`+"\r\n"+tag+" OK done\r\n")
			return true
		}
		io.WriteString(c, strings.Join(append(lines, tag+" OK done"), "\r\n")+"\r\n")
		return true
	}
}

func TestFoldersUseSlashAndSkipNoselect(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": listAnswer(".",
		`* LIST (\HasChildren) "." INBOX`,
		`* LIST (\HasNoChildren) "." INBOX.Endpoint`,
		`* LIST (\Noselect \HasChildren) "." Shared`,
		`* LIST () "." Shared.Team`,
		`* LIST () "." "a/b"`,
	)})
	fs, err := loggedIn(t, ep).Folders(context.Background(), mail.FolderOptions{PathsOnly: true})
	var got []string
	for _, f := range fs {
		if f.Selectable {
			got = append(got, f.Path)
		}
	}
	if err != nil || fmt.Sprint(got) != "[INBOX INBOX/Endpoint Shared/Team]" {
		t.Fatalf("Folders = %q, %v", got, err)
	}
}

func TestFoldersRefusesTooMany(t *testing.T) {
	lines := make([]string, mpimap.MaxFolders+1)
	for i := range lines {
		lines[i] = fmt.Sprintf(`* LIST () "/" f%d`, i)
	}
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": listAnswer("/", lines...)})
	_, err := loggedIn(t, ep).Folders(context.Background(), mail.FolderOptions{PathsOnly: true})
	if err == nil || !strings.Contains(err.Error(), "listed more than 10000 folders in reply to LIST") {
		t.Fatalf("error %v", err)
	}
}

func TestHostileFolderListFlood(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if strings.HasSuffix(args, `""`) {
			return listAnswer("/")(s, c, tag, cmd, args)
		}
		return flood("", `* LIST () "/" INBOX/x`+"\r\n")(s, c, tag, cmd, args)
	}})
	c := loggedIn(t, ep)
	err := measured(t, func() error { _, err := c.Folders(context.Background(), mail.FolderOptions{}); return err })
	wantStopped(t, err, mpimap.FaultFlood, "listed more than 10000 folders in reply to LIST")
}

func TestCheckFolder(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"LIST": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		switch {
		case strings.HasSuffix(args, `""`):
			return listAnswer("/")(s, c, tag, cmd, args)
		case strings.Contains(args, "Archive/Done"):
			return replyLines(`* LIST () "/" Archive/Done`)(s, c, tag, cmd, args)
		case strings.Contains(args, "Shared"):
			return replyLines(`* LIST (\Noselect) "/" Shared`)(s, c, tag, cmd, args)
		case strings.HasSuffix(args, `"Archive"`) || strings.HasSuffix(args, " Archive"):
			return replyLines(`* LIST () "/" Archive`)(s, c, tag, cmd, args)
		}
		return replyLines()(s, c, tag, cmd, args)
	}})
	c := loggedIn(t, ep)
	ctx := context.Background()
	if err := c.CheckFolder(ctx, "Archive/Done"); err != nil {
		t.Fatalf("existing folder: %v", err)
	}
	if err := c.CheckFolder(ctx, "Archive/Nope"); err == nil || err.Error() != `folder "Archive/Nope" not found: no "Nope"` {
		t.Fatalf("missing folder: %v", err)
	}
	if err := c.CheckFolder(ctx, "Shared"); err == nil || !strings.Contains(err.Error(), `folder "Shared" on `+ep.Addr()+` only holds other folders, not messages`) {
		t.Fatalf("\\Noselect folder: %v", err)
	}
}
