package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/fetchtest"
	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/store"
)

func TestMatchFolder(t *testing.T) {
	for _, c := range []struct {
		pattern, folder string
		want            bool
	}{
		{"*", "INBOX", true},
		{"*", "Archive/2024/Q1", true},
		{"%", "Archive", true},
		{"%", "Archive/2024", false},
		{"Inbox/*", "INBOX/Endpoint", true},
		{"Inbox/*", "INBOX/Endpoint/Deep", true},
		{"Inbox/*", "INBOX", false},
		{"inbox/%", "INBOX/Endpoint/Deep", false},
		{"INBOX/%/Deep", "Inbox/Endpoint/Deep", true},
		{"Archive/*", "archive/2024", false}, // only INBOX ignores case
		{"*%x", "a/bx", true},
		{"A*", "Archive", true},
		{"A*e", "Archive/Done/Mine", true},
		{"A%e", "Archive/Done/Mine", false},
	} {
		if got := fetch.MatchFolder(c.pattern, c.folder); got != c.want {
			t.Errorf("MatchFolder(%q, %q) = %v, want %v", c.pattern, c.folder, got, c.want)
		}
	}
	// Linear, not exponential, in the number of wildcards.
	long := strings.Repeat("a", 5000)
	if fetch.MatchFolder(strings.Repeat("*a", 50)+"b", long) {
		t.Fatal("matched")
	}
}

type listBox struct {
	*fetchtest.Mailbox
	folders []string
}

func (b *listBox) Folders(_ context.Context, opts mail.FolderOptions) ([]mail.FolderInfo, error) {
	if !opts.PathsOnly {
		return nil, errors.New("a pattern needs only the paths: counts cost a STATUS per folder")
	}
	var out []mail.FolderInfo
	for _, p := range b.folders {
		out = append(out, mail.FolderInfo{Path: p, Selectable: true})
	}
	// A level that only holds folders is never fetched.
	return append(out, mail.FolderInfo{Path: "Shared", Selectable: false}), nil
}

func TestExpandFolders(t *testing.T) {
	box := &listBox{Mailbox: fetchtest.NewMailbox(), folders: []string{"INBOX", "INBOX/Endpoint", "INBOX/Endpoint/Deep", "Archive", "Sent"}}
	for _, c := range []struct {
		in   []string
		want string
		err  string
	}{
		{in: []string{"Inbox/*"}, want: "[INBOX/Endpoint INBOX/Endpoint/Deep]"},
		{in: []string{"*"}, want: "[INBOX INBOX/Endpoint INBOX/Endpoint/Deep Archive Sent]"},
		{in: []string{"Sent", "%", "inbox"}, want: "[Sent INBOX Archive]"},
		{in: []string{"Nope/*"}, err: `--folder "Nope/*" matches no folder on the server`},
	} {
		got, err := fetch.ExpandFolders(context.Background(), box, c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%v: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("%v: %v %v, want %s", c.in, got, err, c.want)
		}
	}
	// A server without folders (POP3, or this fake) cannot match a pattern.
	if _, err := fetch.ExpandFolders(context.Background(), box.Mailbox, []string{"*"}); err == nil {
		t.Fatal("a pattern on a server without folders was accepted")
	}
}

// FuzzMatchFolder: matching a server's folder name against a pattern
// never panics, "*" matches everything and a plain pattern only itself.
func FuzzMatchFolder(f *testing.F) {
	f.Add("Inbox/*", "INBOX/Endpoint")
	f.Add("%", "a/b")
	f.Add("*%x", "a/bx")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, folder string) {
		got := fetch.MatchFolder(pattern, folder)
		if !fetch.MatchFolder("*", folder) {
			t.Fatalf("* does not match %q", folder)
		}
		if !fetch.IsPattern(pattern) && got && strings.Trim(pattern, "/") != strings.Trim(folder, "/") && !strings.EqualFold(strings.Trim(pattern, "/"), strings.Trim(folder, "/")) {
			t.Fatalf("plain %q matches %q", pattern, folder)
		}
	})
}

type closeCounter struct {
	*fetchtest.Mailbox
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

// KeepOpen leaves the connection to the caller, for the next folder.
func TestKeepOpenLeavesTheConnection(t *testing.T) {
	box := &closeCounter{Mailbox: fetchtest.NewMailbox()}
	box.Add(msg("1", "x"))
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, folder := range []string{"INBOX", "Archive"} {
		if _, err := fetch.Run(context.Background(), box, st, fetch.Options{Account: "a", Folder: folder, KeepOpen: true}); err != nil {
			t.Fatal(err)
		}
	}
	if box.closes != 0 {
		t.Fatalf("closed %d times with KeepOpen", box.closes)
	}
	if _, err := fetch.Run(context.Background(), box, st, fetch.Options{Account: "a", Folder: "Sent"}); err != nil || box.closes != 1 {
		t.Fatalf("without KeepOpen: %v, %d closes", err, box.closes)
	}
}
