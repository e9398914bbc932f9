package imap

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/emersion/go-imap/v2"
)

// MarkSeen sets \Seen on the messages (UID STORE +FLAGS.SILENT).
func (c *Client) MarkSeen(ctx context.Context, ids []string) error {
	return c.addFlag(ctx, "mark seen", ids, imap.FlagSeen)
}

func (c *Client) addFlag(ctx context.Context, what string, ids []string, flag imap.Flag) error {
	if c.selected == "" {
		return fmt.Errorf("imap: %s: no folder is open", what)
	}
	if len(ids) == 0 {
		return nil
	}
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	return c.step(ctx, "UID STORE +FLAGS.SILENT ("+string(flag)+")", func() error {
		return c.c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{flag}}, nil).Close()
	})
}

// Move moves the messages to the folder dest (a path like Open's). It uses
// UID MOVE when the server offers MOVE; otherwise UID COPY, then \Deleted,
// then UID EXPUNGE of just these messages (or, without UIDPLUS, EXPUNGE; see
// Delete). Each step waits for the previous one, so a failed copy never
// deletes anything. A missing dest is a *mail.FolderNotFoundError.
func (c *Client) Move(ctx context.Context, ids []string, dest string) error {
	if c.selected == "" {
		return errors.New("imap: move: no folder is open")
	}
	if len(ids) == 0 {
		return nil
	}
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	name, err := c.mailboxName(ctx, dest)
	if err != nil {
		return err
	}
	caps, err := c.caps(ctx)
	if err != nil {
		return err
	}
	set := imap.UIDSetNum(uids...)
	if caps.Has(imap.CapMove) {
		err = c.step(ctx, "UID MOVE to "+strconv.Quote(name), func() error {
			_, err := c.c.Move(set, name).Wait()
			return err
		})
		return c.destError(ctx, err, dest)
	}
	err = c.step(ctx, "UID COPY to "+strconv.Quote(name), func() error {
		_, err := c.c.Copy(set, name).Wait()
		return err
	})
	if err != nil {
		return c.destError(ctx, err, dest)
	}
	return c.expunge(ctx, "move", ids, uids, caps)
}

// destError names the missing level when the server refused a destination.
func (c *Client) destError(ctx context.Context, err error, dest string) error {
	if err != nil && isIMAPError(err) {
		if nf := c.notFound(ctx, dest); nf != nil {
			return c.suggest(ctx, nf)
		}
	}
	return err
}

// Delete removes the messages for good: \Deleted, then UID EXPUNGE of just
// these UIDs. A server without UIDPLUS has no UID EXPUNGE; then EXPUNGE
// removes every message flagged \Deleted in the folder, including any that
// another client flagged and meant to keep a while longer.
func (c *Client) Delete(ctx context.Context, ids []string) error {
	if c.selected == "" {
		return errors.New("imap: delete: no folder is open")
	}
	if len(ids) == 0 {
		return nil
	}
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	caps, err := c.caps(ctx)
	if err != nil {
		return err
	}
	return c.expunge(ctx, "delete", ids, uids, caps)
}

func (c *Client) expunge(ctx context.Context, what string, ids []string, uids []imap.UID, caps imap.CapSet) error {
	if err := c.addFlag(ctx, what, ids, imap.FlagDeleted); err != nil {
		return err
	}
	if caps.Has(imap.CapUIDPlus) {
		return c.step(ctx, "UID EXPUNGE", func() error { return c.c.UIDExpunge(imap.UIDSetNum(uids...)).Close() })
	}
	return c.step(ctx, "EXPUNGE", func() error { return c.c.Expunge().Close() })
}
