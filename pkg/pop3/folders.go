package pop3

import (
	"context"

	"github.com/mailport/mailport/pkg/mail"
)

var _ mail.FolderLister = (*Client)(nil)

// Folders lists the one mailbox POP3 has: INBOX, with its message count
// (STAT). POP3 keeps no read flags, so the unread count is unknown.
func (c *Client) Folders(ctx context.Context, opts mail.FolderOptions) ([]mail.FolderInfo, error) {
	if !c.authed {
		return nil, errNotAuthenticated
	}
	n, _, err := c.Stat(ctx)
	if err != nil {
		return nil, err
	}
	return []mail.FolderInfo{{Path: "INBOX", Messages: &n, Use: mail.UseInbox, Selectable: true}}, nil
}
