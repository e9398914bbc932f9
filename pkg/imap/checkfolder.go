package imap

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailport/mailport/pkg/mail"
)

// CheckFolder reports whether the folder path (as Open takes it) exists and
// can hold messages, without selecting it, so a destination such as
// `fetch --move-to` is known good before anything is fetched. A folder that
// does not exist is a *mail.FolderNotFoundError naming the first missing
// level.
func (c *Client) CheckFolder(ctx context.Context, path string) error {
	if path == "" {
		path = "INBOX"
	}
	name, err := c.mailboxName(ctx, path)
	if err != nil {
		return err
	}
	var found, noSelect bool
	err = c.step(ctx, "LIST "+strconv.Quote(name), func() error {
		cmd := c.c.List("", name, nil)
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			if m.Mailbox == name || name == "INBOX" && strings.EqualFold(m.Mailbox, "INBOX") {
				found = true
				noSelect = slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(m.Attrs, imap.MailboxAttrNonExistent)
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return err
	}
	switch {
	case !found:
		if nf := c.notFound(ctx, path); nf != nil {
			return nf
		}
		return &mail.FolderNotFoundError{Path: path}
	case noSelect:
		return fmt.Errorf("imap: folder %q on %s only holds other folders, not messages", path, c.ep.Addr())
	}
	return nil
}
