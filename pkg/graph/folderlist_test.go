package graph_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/mail"
)

func paths(fs []mail.FolderInfo) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %d/%d %s\n", f.Path, *f.Messages, *f.Unread, f.Use)
	}
	return b.String()
}

// TestFoldersWalksChildFoldersAcrossPages lists a mailbox whose root and
// Inbox hold more folders than one page (page size 2), with a hidden
// folder that only --hidden shows.
func TestFoldersWalksChildFoldersAcrossPages(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	for _, p := range []string{"Inbox/A", "Inbox/B", "Inbox/C", "Inbox/B/Deep", "Projects/2026"} {
		f.srv.AddFolder(alice, p)
	}
	f.srv.AddMessage(alice, "Inbox/B", rawMessage("one"))
	f.srv.HideFolder(alice, "Inbox/Secret")
	c := f.client(t, alice, func(o *graph.Options) { o.PageSize = 2 })
	fs, err := c.Folders(context.Background(), mail.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "Inbox 0/0 inbox\nInbox/A 0/0 \nInbox/B 1/1 \nInbox/B/Deep 0/0 \nInbox/C 0/0 \n" +
		"Archive 0/0 archive\nConversation History 0/0 \nDeleted Items 0/0 trash\nDrafts 0/0 drafts\n" +
		"Junk Email 0/0 junk\nOutbox 0/0 \nProjects 0/0 \nProjects/2026 0/0 \nSent Items 0/0 sent\n"
	if got := paths(fs); got != want {
		t.Errorf("listing:\n%s\nwant:\n%s", got, want)
	}
	// The root's 9 folders took 5 pages, the Inbox's 3 took 2.
	if n := f.srv.Count("GET", "/me/mailFolders"); n != 5 {
		t.Errorf("%d pages of the root's folders, want 5", n)
	}
	if n := f.srv.Count("GET", "/childFolders"); n != 2+1+1 {
		t.Errorf("%d pages of childFolders, want 4 (Inbox 2, Inbox/B 1, Projects 1)", n)
	}
	fs, err = c.Folders(context.Background(), mail.FolderOptions{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(fs); !strings.Contains(got, "Inbox/Secret 0/0 \n") {
		t.Errorf("--hidden listing lacks Inbox/Secret:\n%s", got)
	}
}

func TestOpenNamesTheNearestFolders(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	for _, p := range []string{"Inbox/Notes", "Inbox/Endpoint", "Projects/2026"} {
		f.srv.AddFolder(alice, p)
	}
	c := f.client(t, alice, nil)
	cases := []struct{ path, want string }{
		{"Inbox/Nope", `folder "Inbox/Nope" not found: no "Nope"; did you mean "Inbox/Notes"?`},
		{"Notes", `folder "Notes" not found; did you mean "Inbox/Notes"?`},
		{"Projects/2062", `folder "Projects/2062" not found: no "2062"; did you mean "Projects/2026"?`},
		{"Quarterly", `folder "Quarterly" not found`},
	}
	for _, tc := range cases {
		_, err := c.Open(context.Background(), tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Open(%q) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// folderServer answers the well-known lookups with 404 and the root's
// childFolders with page.
func folderServer(t *testing.T, page func(w http.ResponseWriter, r *http.Request)) *graph.Client {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "Folders") {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"ErrorFolderNotFound","message":"no"}}`)
			return
		}
		page(w, r)
	})
	return hostileClient(t, srv.URL, nil)
}

func TestHostileFolderListing(t *testing.T) {
	list := func(c *graph.Client) error {
		_, err := c.Folders(context.Background(), mail.FolderOptions{})
		return err
	}
	t.Run("nextLink to another host", func(t *testing.T) {
		c := folderServer(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"value":[{"id":"AAA","displayName":"x"}],"@odata.nextLink":"https://evil.example/v1.0/me/mailFolders?$skip=1"}`)
		})
		_, err := measured(t, 3*time.Second, func() error { return list(c) })
		wantErr(t, err, "graph: list folders:", "@odata.nextLink to another host", "refusing to follow it")
	})
	t.Run("nextLink back to the first page", func(t *testing.T) {
		var self string
		c := folderServer(t, func(w http.ResponseWriter, r *http.Request) {
			self = "http://" + r.Host + r.URL.String()
			fmt.Fprintf(w, `{"value":[{"id":"AAA","displayName":"x"}],"@odata.nextLink":%q}`, self)
		})
		_, err := measured(t, 3*time.Second, func() error { return list(c) })
		wantErr(t, err, "pointing back at page 1")
	})
	t.Run("a folder that is its own child", func(t *testing.T) {
		c := folderServer(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"value":[{"id":"AAA","displayName":"loop","childFolderCount":1,"totalItemCount":1,"unreadItemCount":0}]}`)
		})
		var fs []mail.FolderInfo
		_, err := measured(t, 3*time.Second, func() error {
			var err error
			fs, err = c.Folders(context.Background(), mail.FolderOptions{})
			return err
		})
		if err != nil || len(fs) != 1 || fs[0].Path != "loop" {
			t.Errorf("listing = %v, %v; want the folder once", fs, err)
		}
	})
	t.Run("endless nesting", func(t *testing.T) {
		n := 0
		c := folderServer(t, func(w http.ResponseWriter, r *http.Request) {
			n++
			fmt.Fprintf(w, `{"value":[{"id":"F%d","displayName":"d","childFolderCount":1}]}`, n)
		})
		_, err := measured(t, 5*time.Second, func() error { return list(c) })
		wantErr(t, err, "nests folders more than 64 levels deep")
	})
}
