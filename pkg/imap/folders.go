package imap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailport/mailport/pkg/mail"
)

// MaxFolders is the most folders a listing accepts: mailboxes with a few
// thousand folders exist, ten thousand is past any of them.
const MaxFolders = 10_000

var _ mail.FolderLister = (*Client)(nil)

// Folders lists every folder of the mailbox (LIST "" "*"), with its
// message and unseen counts and its special use (RFC 6154). When the
// server offers LIST-STATUS (RFC 5819) the counts come with the listing
// in one command; otherwise each selectable folder costs one STATUS. Paths
// use "/" between levels, as Open takes them. A folder whose STATUS the
// server refuses is listed without counts. opts.Hidden changes nothing:
// IMAP hides no folders. opts.PathsOnly skips the counts.
func (c *Client) Folders(ctx context.Context, opts mail.FolderOptions) ([]mail.FolderInfo, error) {
	return c.folders(ctx, !opts.PathsOnly)
}

// folders lists the folders, with their counts when counts is set.
func (c *Client) folders(ctx context.Context, counts bool) ([]mail.FolderInfo, error) {
	caps, err := c.caps(ctx)
	if err != nil {
		return nil, err
	}
	var lo *imap.ListOptions
	listStatus := caps.Has(imap.CapListStatus)
	if caps.Has(imap.CapListExtended) || caps.Has(imap.CapIMAP4rev2) || listStatus {
		lo = &imap.ListOptions{ReturnSpecialUse: caps.Has(imap.CapSpecialUse)}
		if listStatus && counts {
			lo.ReturnStatus = &imap.StatusOptions{NumMessages: true, NumUnseen: true}
		}
		if !lo.ReturnSpecialUse && lo.ReturnStatus == nil {
			lo = nil
		}
	}
	var out []mail.FolderInfo
	var names []string // server-side names, for STATUS
	what := `LIST "" "*"`
	err = c.step(ctx, what, func() error {
		cmd := c.c.List("", "*", lo)
		var fault error
		for l := cmd.Next(); l != nil; l = cmd.Next() {
			if fault != nil {
				continue // read to the end; the meter bounds how much
			}
			if len(out) == MaxFolders {
				fault = c.fault(FaultFlood, fmt.Sprintf("listed more than %d folders in reply to LIST", MaxFolders))
				continue
			}
			f := folderInfo(l)
			if !c.hasDelim && l.Delim != 0 {
				c.delim, c.hasDelim = l.Delim, true
			}
			out = append(out, f)
			names = append(names, l.Mailbox)
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return fault
	})
	if err != nil {
		return nil, err
	}
	if counts && !listStatus {
		for i := range out {
			if !out[i].Selectable {
				continue
			}
			if err := c.status(ctx, names[i], &out[i]); err != nil {
				return nil, err
			}
		}
	}
	mail.SortFolders(out)
	return out, nil
}

// status fills in f's counts with STATUS (MESSAGES UNSEEN). A refusal
// leaves them unknown; any other failure ends the listing.
func (c *Client) status(ctx context.Context, name string, f *mail.FolderInfo) error {
	var data *imap.StatusData
	err := c.step(ctx, "STATUS "+strconv.Quote(name), func() error {
		var err error
		data, err = c.c.Status(name, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
		return err
	})
	if err != nil {
		if isIMAPError(err) {
			return nil
		}
		return err
	}
	setCounts(f, data)
	return nil
}

// folderInfo turns one LIST reply into a FolderInfo.
func folderInfo(l *imap.ListData) mail.FolderInfo {
	f := mail.FolderInfo{Path: folderPath(l.Mailbox, l.Delim), Selectable: true}
	for _, a := range l.Attrs {
		switch imap.MailboxAttr(strings.ToLower(string(a))) {
		case "\\noselect", "\\nonexistent":
			// With RETURN options Dovecot calls a level that only holds
			// other folders \NonExistent (RFC 5258 3.4: it implies
			// \Noselect); LIST "*" names no other kind.
			f.Selectable = false
		case "\\sent":
			f.Use = mail.UseSent
		case "\\drafts":
			f.Use = mail.UseDrafts
		case "\\trash":
			f.Use = mail.UseTrash
		case "\\junk":
			f.Use = mail.UseJunk
		case "\\archive":
			f.Use = mail.UseArchive
		}
	}
	if strings.EqualFold(l.Mailbox, "INBOX") {
		f.Use = mail.UseInbox
	}
	if l.Delim != 0 && l.Delim != '/' && strings.ContainsRune(l.Mailbox, '/') {
		// A level holding "/" reads as two levels in a path, so the
		// path would open another folder: listed, but not to be fetched.
		f.Selectable = false
	}
	if f.Selectable {
		setCounts(&f, l.Status)
	}
	return f
}

// folderPath writes a server-side mailbox name in the "/" syntax of
// folder paths; INBOX keeps the capitals every server answers to.
func folderPath(name string, d rune) string {
	if d != 0 && d != '/' {
		name = strings.ReplaceAll(name, string(d), "/")
	}
	first, rest, ok := strings.Cut(name, "/")
	if strings.EqualFold(first, "INBOX") {
		first = "INBOX"
	}
	if ok {
		return first + "/" + rest
	}
	return first
}

func setCounts(f *mail.FolderInfo, s *imap.StatusData) {
	if s == nil {
		return
	}
	if s.NumMessages != nil {
		n := int(*s.NumMessages)
		f.Messages = &n
	}
	if s.NumUnseen != nil {
		n := int(*s.NumUnseen)
		f.Unread = &n
	}
}

// suggest adds to a FolderNotFoundError the existing folders nearest to
// the path asked for. It lists the folders within the same step limits as
// any listing, and gives up quietly when that fails: the error stands
// without suggestions.
func (c *Client) suggest(ctx context.Context, err error) error {
	var nf *mail.FolderNotFoundError
	if !errors.As(err, &nf) || c.dead.Load() {
		return err
	}
	fs, lerr := c.folders(ctx, false)
	if lerr != nil {
		return err
	}
	paths := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.Selectable {
			paths = append(paths, f.Path)
		}
	}
	nf.Suggestions = mail.ClosestPaths(paths, nf.Path)
	return err
}
