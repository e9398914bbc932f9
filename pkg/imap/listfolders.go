package imap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// MaxFolders bounds how many folders Folders takes from one LIST; a
// server that sends more is refused rather than held in memory.
const MaxFolders = 10000

// Folders lists the folders that can hold messages, as paths with "/"
// between levels whatever the server's delimiter is (the form Open
// takes), in the server's order. A server listing more than MaxFolders
// is an error.
func (c *Client) Folders(ctx context.Context) ([]string, error) {
	d, err := c.delimiter(ctx)
	if err != nil {
		return nil, err
	}
	var (
		out  []string
		more bool
	)
	err = c.step(ctx, `LIST "" "*"`, func() error {
		cmd := c.c.List("", "*", nil)
		for m := cmd.Next(); m != nil; m = cmd.Next() {
			if len(out) >= MaxFolders {
				more = true
				continue // drained, not kept
			}
			if slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(m.Attrs, imap.MailboxAttrNonExistent) {
				continue
			}
			path := m.Mailbox
			if d != 0 && d != '/' {
				if strings.ContainsRune(path, '/') {
					continue // a level holding "/" cannot be opened by path
				}
				path = strings.ReplaceAll(path, string(d), "/")
			}
			out = append(out, path)
		}
		return cmd.Close()
	})
	if err != nil {
		return nil, err
	}
	if more {
		return nil, fmt.Errorf("imap: %s lists more than %d folders; name the folders to fetch instead of using a pattern", c.ep.Addr(), MaxFolders)
	}
	return out, nil
}
