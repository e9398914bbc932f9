package graph

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
)

// Limits on a folder listing. Exchange caps a mailbox at some ten thousand
// folders visible to clients and nests them far less than maxFolderDepth.
const (
	maxFolders     = 10_000
	maxFolderDepth = 64
)

// specialUses maps the well-known folder names a listing reports to the
// special use mailport names them by.
var specialUses = []struct{ wellKnown, use string }{
	{"inbox", mail.UseInbox}, {"sentitems", mail.UseSent}, {"drafts", mail.UseDrafts},
	{"deleteditems", mail.UseTrash}, {"junkemail", mail.UseJunk}, {"archive", mail.UseArchive},
}

var _ mail.FolderLister = (*Client)(nil)

// Folders lists every folder of the mailbox: mailFolders, then each
// folder's childFolders, following @odata.nextLink. Paths are display
// names joined by "/", as Open takes them ("Inbox/Endpoint"). Special use
// comes from the well-known names (inbox, sentitems, drafts, deleteditems,
// junkemail, archive). Folders Exchange hides from mail clients are left
// out unless opts.Hidden is set (includeHiddenFolders).
//
// Like List, it takes nothing on trust: every page is read under the
// JSON caps, a nextLink must stay on Graph's origin and never point back
// at a page already read, a folder listed twice (or under its own
// descendant) is listed once, and more than 10 000 folders or 64 levels
// end the listing with an error.
func (c *Client) Folders(ctx context.Context, opts mail.FolderOptions) ([]mail.FolderInfo, error) {
	uses := map[string]string{}
	for _, s := range specialUses {
		var f apiFolder
		err := c.getJSON(ctx, c.mailboxURL("/mailFolders/"+s.wellKnown, query{{"$select", "id"}}), "folder "+s.wellKnown, &f)
		var ge *Error
		if errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound {
			continue // a mailbox without that folder (often archive)
		}
		if err != nil {
			return nil, wrapf(err, "list folders")
		}
		if f.ID != "" {
			uses[f.ID] = s.use
		}
	}
	l := &folderWalk{c: c, hidden: opts.Hidden, uses: uses, seen: map[string]bool{}}
	if err := l.walk(ctx, "", c.mailboxURL("/mailFolders", l.query()), 1); err != nil {
		return nil, wrapf(err, "list folders")
	}
	mail.SortFolders(l.out)
	return l.out, nil
}

// folderWalk is one listing in progress.
type folderWalk struct {
	c      *Client
	hidden bool
	uses   map[string]string // folder id → special use
	seen   map[string]bool   // folder ids listed
	out    []mail.FolderInfo
}

func (l *folderWalk) query() query {
	q := query{{"$select", folderSelect}, {"$top", strconv.Itoa(l.c.pageSize)}}
	if l.hidden {
		q = append(q, [2]string{"includeHiddenFolders", "true"})
	}
	return q
}

// walk lists the folders at first (the URL of a mailFolders or
// childFolders collection) under the path prefix, and below them.
func (l *folderWalk) walk(ctx context.Context, prefix, first string, depth int) error {
	if depth > maxFolderDepth {
		return fmt.Errorf("%s nests folders more than %d levels deep under %.200q", l.c.serverName(), maxFolderDepth, prefix)
	}
	var level []apiFolder
	next := first
	seenPages := map[[sha256.Size]byte]int{sha256.Sum256([]byte(next)): 1}
	for page := 1; next != ""; page++ {
		if page > l.c.maxPages {
			return fmt.Errorf("%s sent more than %d pages of folders under %q: giving up, as no mailbox has that many", l.c.serverName(), l.c.maxPages, prefix)
		}
		what := fmt.Sprintf("page %d of the folders", page)
		if prefix != "" {
			what += fmt.Sprintf(" under %q", prefix)
		}
		var link string
		err := l.c.getJSONWith(ctx, next, what, func(r io.Reader) error {
			n, err := parsePage(r, maxPageItems, func(f apiFolder) error {
				if err := checkID(f.ID); err != nil {
					return fmt.Errorf("it lists %s", strings.Replace(err.Error(), "message", "folder", 1))
				}
				if l.seen[f.ID] {
					return nil // listed again: once is enough, and a cycle ends here
				}
				if len(l.out)+len(level) >= maxFolders {
					return fmt.Errorf("%s lists more than %s", l.c.serverName(), plural.Of(maxFolders, "folder", "folders"))
				}
				l.seen[f.ID] = true
				level = append(level, f)
				return nil
			})
			link = n
			return err
		})
		if err != nil {
			return err
		}
		if link == "" {
			break
		}
		u, err := url.Parse(link)
		if err != nil || !u.IsAbs() {
			return fmt.Errorf("%s sent an @odata.nextLink that is not a URL (%.100q)", l.c.serverName(), link)
		}
		if !l.c.sameOrigin(u) {
			return fmt.Errorf("%s sent an @odata.nextLink to another host, port or scheme (%s): refusing to follow it, which would hand it the access token",
				l.c.serverName(), originOf(u))
		}
		h := sha256.Sum256([]byte(link))
		if p, ok := seenPages[h]; ok {
			return fmt.Errorf("%s sent an @odata.nextLink on page %d pointing back at page %d: giving up instead of listing the same folders for ever",
				l.c.serverName(), page, p)
		}
		seenPages[h] = page + 1
		next = link
	}
	for _, f := range level {
		path := f.DisplayName
		if prefix != "" {
			path = prefix + "/" + f.DisplayName
		}
		total, unread := max(f.TotalItemCount, 0), max(f.UnreadItemCount, 0)
		l.out = append(l.out, mail.FolderInfo{Path: path, Messages: &total, Unread: &unread, Use: l.uses[f.ID], Selectable: true})
		if f.ChildFolderCount > 0 {
			u := l.c.mailboxURL("/mailFolders/"+url.PathEscape(f.ID)+"/childFolders", l.query())
			if err := l.walk(ctx, path, u, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
