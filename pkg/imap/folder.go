package imap

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailport/mailport/pkg/mail"
)

// Open selects a folder. path uses "/" between levels whatever the server's
// hierarchy delimiter is ("Inbox/Endpoint" becomes "INBOX.Endpoint" on a
// server that uses "."), and its first level matches INBOX in any case.
// "" opens INBOX. A folder that does not exist is a
// *mail.FolderNotFoundError naming the first missing level.
func (c *Client) Open(ctx context.Context, path string) (*mail.Folder, error) {
	if path == "" {
		path = "INBOX"
	}
	name, err := c.mailboxName(ctx, path)
	if err != nil {
		return nil, err
	}
	var validity uint32
	var count uint32
	err = c.step(ctx, "SELECT "+strconv.Quote(name), func() error {
		data, err := c.c.Select(name, nil).Wait()
		if err == nil {
			validity, count = data.UIDValidity, data.NumMessages
		}
		return err
	})
	if err != nil {
		c.selected = ""
		if isIMAPError(err) {
			if nf := c.notFound(ctx, path); nf != nil {
				return nil, c.suggest(ctx, nf)
			}
		}
		return nil, err
	}
	if validity == 0 {
		// RFC 3501 2.3.1.1: without UIDVALIDITY the UIDs may be reused
		// between sessions, and the fetch state, kept by UID, would skip
		// new messages that got an old UID.
		return nil, fmt.Errorf("imap SELECT %q: %w", name, c.fault(FaultNoUIDValidity, fmt.Sprintf("sent no UIDVALIDITY for folder %q, so its UIDs may change between sessions and mailport cannot tell fetched messages from new ones", path)))
	}
	c.selected = name
	return &mail.Folder{Name: path, Validity: strconv.FormatUint(uint64(validity), 10), Count: int(count)}, nil
}

// splitPath splits a configured path into levels, INBOX normalised.
func splitPath(path string) []string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return parts
}

// mailboxName maps a configured path to the server's mailbox name.
func (c *Client) mailboxName(ctx context.Context, path string) (string, error) {
	parts := splitPath(path)
	if len(parts) == 1 {
		return parts[0], nil
	}
	d, err := c.delimiter(ctx)
	if err != nil {
		return "", err
	}
	return joinPath(path, parts, d, c.ep.Addr())
}

// joinPath joins the levels of path with the server's delimiter d. A path
// with an empty level, or a level that holds d itself (it would name a
// deeper folder than meant), is refused.
func joinPath(path string, parts []string, d rune, addr string) (string, error) {
	if d == 0 {
		return "", fmt.Errorf("imap: folder %q has several levels but %s keeps all folders on one level", path, addr)
	}
	for _, p := range parts {
		if p == "" {
			return "", fmt.Errorf("imap: folder %q has an empty level; separate levels with a single \"/\"", path)
		}
		if strings.ContainsRune(p, d) {
			return "", fmt.Errorf("imap: folder %q: the level %q holds %q, which %s uses between levels, so it cannot be opened by this path", path, p, string(d), addr)
		}
	}
	return strings.Join(parts, string(d)), nil
}

// delimiter learns the hierarchy delimiter with LIST "" "" (RFC 3501 6.3.8).
func (c *Client) delimiter(ctx context.Context) (rune, error) {
	if c.hasDelim {
		return c.delim, nil
	}
	var d rune
	err := c.step(ctx, `LIST "" ""`, func() error {
		// Read the replies one by one and keep the first: a server that
		// sends thousands makes us hold none of them.
		cmd := c.c.List("", "", nil)
		first := true
		for l := cmd.Next(); l != nil; l = cmd.Next() {
			if first {
				d, first = l.Delim, false
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return 0, err
	}
	c.delim, c.hasDelim = d, true
	return d, nil
}

// notFound finds the first level of path that does not exist and returns
// the error naming it, or nil when every level exists (the folder is then
// there but not selectable, and the server's own words say more).
func (c *Client) notFound(ctx context.Context, path string) error {
	parts := splitPath(path)
	d, err := c.delimiter(ctx)
	if err != nil {
		return nil
	}
	for i := range parts {
		name := strings.Join(parts[:i+1], string(d))
		var found bool
		err := c.step(ctx, "LIST", func() error {
			cmd := c.c.List("", name, nil)
			for m := cmd.Next(); m != nil; m = cmd.Next() {
				if m.Mailbox == name || (i == 0 && strings.EqualFold(m.Mailbox, "INBOX") && name == "INBOX") {
					found = true
				}
			}
			return cmd.Close()
		})
		if err != nil {
			return nil
		}
		if !found {
			return &mail.FolderNotFoundError{Path: path, Missing: parts[i]}
		}
		if d == 0 {
			break
		}
	}
	return nil
}
