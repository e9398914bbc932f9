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
				return nil, nf
			}
		}
		return nil, err
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
	if d == 0 {
		return "", fmt.Errorf("imap: folder %q has several levels but %s keeps all folders on one level", path, c.ep.Addr())
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
		l, err := c.c.List("", "", nil).Collect()
		if err == nil && len(l) > 0 {
			d = l[0].Delim
		}
		return err
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
			l, err := c.c.List("", name, nil).Collect()
			for _, m := range l {
				if m.Mailbox == name || (i == 0 && strings.EqualFold(m.Mailbox, "INBOX") && name == "INBOX") {
					found = true
				}
			}
			return err
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
