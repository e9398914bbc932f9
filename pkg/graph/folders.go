package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mailport/mailport/pkg/mail"
)

// WellKnownFolders are the folder names Graph accepts in place of an id
// (lower-case; Graph matches them case-insensitively).
var WellKnownFolders = []string{
	"archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox",
	"junkemail", "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions",
	"scheduled", "searchfolders", "sentitems", "serverfailures", "syncissues",
}

func wellKnown(name string) (string, bool) {
	l := strings.ToLower(name)
	for _, w := range WellKnownFolders {
		if w == l {
			return w, true
		}
	}
	return "", false
}

// apiFolder is Graph's mailFolder resource, the fields we use.
type apiFolder struct {
	ID               string `json:"id"`
	DisplayName      string `json:"displayName"`
	TotalItemCount   int    `json:"totalItemCount"`
	UnreadItemCount  int    `json:"unreadItemCount"`
	ChildFolderCount int    `json:"childFolderCount"`
}

const folderSelect = "id,displayName,totalItemCount,unreadItemCount,childFolderCount"

// splitPath splits "Inbox/Endpoint" into its parts, ignoring empty ones.
func splitPath(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

// odataString quotes s as an OData string literal.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// resolve walks a folder path. The first part is a well-known name
// (inbox, sentitems, ...) or the display name of a folder under the
// mailbox root; each further part is a child's display name. A part that
// does not exist is a *mail.FolderNotFoundError naming it and the
// existing folder paths nearest to path.
func (c *Client) resolve(ctx context.Context, path string) (apiFolder, error) {
	f, err := c.resolvePath(ctx, path)
	var nf *mail.FolderNotFoundError
	if errors.As(err, &nf) && ctx.Err() == nil {
		// Best effort: a listing that fails leaves the error as it is.
		if fs, lerr := c.Folders(ctx, mail.FolderOptions{}); lerr == nil {
			paths := make([]string, len(fs))
			for i, f := range fs {
				paths[i] = f.Path
			}
			nf.Suggestions = mail.ClosestPaths(paths, nf.Path)
		}
	}
	return f, err
}

func (c *Client) resolvePath(ctx context.Context, path string) (apiFolder, error) {
	parts := splitPath(path)
	if len(parts) == 0 {
		parts = []string{"inbox"}
	}
	var cur apiFolder
	start := 0
	if wk, ok := wellKnown(parts[0]); ok {
		err := c.getJSON(ctx, c.mailboxURL("/mailFolders/"+wk, query{{"$select", folderSelect}}), "folder "+wk, &cur)
		if err != nil {
			return cur, c.folderErr(path, parts[0], err)
		}
		start = 1
	} else {
		cur.ID = "msgfolderroot"
	}
	for _, name := range parts[start:] {
		var children []apiFolder
		u := c.mailboxURL("/mailFolders/"+url.PathEscape(cur.ID)+"/childFolders", query{
			{"$filter", "displayName eq " + odataString(name)},
			{"$select", folderSelect},
		})
		err := c.getJSONWith(ctx, u, fmt.Sprintf("the folders named %q", name), func(r io.Reader) error {
			_, err := parsePage(r, maxPageItems, func(f apiFolder) error {
				children = append(children, f)
				return nil
			})
			return err
		})
		if err != nil {
			return cur, c.folderErr(path, name, err)
		}
		found := false
		for _, f := range children {
			// Exchange compares display names case-insensitively; prefer an exact match.
			if f.DisplayName == name {
				cur, found = f, true
				break
			}
		}
		if !found && len(children) > 0 {
			cur, found = children[0], true
		}
		if !found {
			return cur, &mail.FolderNotFoundError{Path: path, Missing: name}
		}
	}
	if err := checkID(cur.ID); err != nil {
		return cur, fmt.Errorf("graph: open folder %q: %s answered with %s", path, c.serverName(), strings.Replace(err.Error(), "message", "folder", 1))
	}
	c.mu.Lock()
	c.folders[strings.ToLower(strings.Join(parts, "/"))] = cur.ID
	c.mu.Unlock()
	return cur, nil
}

func (c *Client) folderErr(path, part string, err error) error {
	var ge *Error
	if errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound &&
		(ge.Code == CodeItemNotFound || ge.Code == "ErrorFolderNotFound") {
		return &mail.FolderNotFoundError{Path: path, Missing: part}
	}
	return wrapf(err, "open folder %q at %q", path, part)
}

// folderID returns the id of a folder path, resolving it once.
func (c *Client) folderID(ctx context.Context, path string) (string, error) {
	key := strings.ToLower(strings.Join(splitPath(path), "/"))
	c.mu.Lock()
	id, ok := c.folders[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	f, err := c.resolve(ctx, path)
	return f.ID, err
}

// ResolveFolder returns the Graph id of a folder path such as
// "Inbox/Endpoint" without opening it.
func (c *Client) ResolveFolder(ctx context.Context, path string) (string, error) {
	return c.folderID(ctx, path)
}

// Open resolves a folder path ("" is the Inbox) and makes it the folder
// that List works on. Graph ids are never reused, so Validity is empty.
func (c *Client) Open(ctx context.Context, folder string) (*mail.Folder, error) {
	f, err := c.resolve(ctx, folder)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.current = f.ID
	c.mu.Unlock()
	name := folder
	if name == "" {
		name = "Inbox"
	}
	return &mail.Folder{Name: name, Count: f.TotalItemCount}, nil
}
