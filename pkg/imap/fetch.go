package imap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
)

// BatchSize is how many messages one UID FETCH asks for. Two batches are in
// flight while messages stream, so the server never waits for us to ask.
const BatchSize = 50

// GoneError reports messages that were listed but are no longer on the
// server when fetched (another client expunged them). Fetch delivers every
// other message before returning it.
type GoneError struct {
	IDs []string
}

func (e *GoneError) Error() string {
	return fmt.Sprintf("imap: %s disappeared from the server before they could be fetched (UID %s)", plural.Of(len(e.IDs), "message", "messages"), strings.Join(e.IDs, ", "))
}

// List returns the messages of the open folder that match cr, by ascending
// UID (the order they arrived in the folder), with their sizes and internal
// dates. The ID of each is its UID in decimal.
func (c *Client) List(ctx context.Context, cr mail.Criteria) ([]mail.Message, error) {
	if c.selected == "" {
		return nil, errors.New("imap: list: no folder is open")
	}
	crit := &imap.SearchCriteria{}
	if cr.Unseen {
		crit.NotFlag = []imap.Flag{imap.FlagSeen}
	}
	if !cr.Since.IsZero() {
		// SINCE compares dates in the server's time zone; ask from the day
		// before and filter on the exact internal date below.
		crit.Since = cr.Since.UTC().AddDate(0, 0, -1)
	}
	var uids []imap.UID
	err := c.step(ctx, "UID SEARCH", func() error {
		data, err := c.c.UIDSearch(crit, nil).Wait()
		if err == nil {
			uids = data.AllUIDs()
		}
		return err
	})
	if err != nil || len(uids) == 0 {
		return nil, err
	}

	var msgs []mail.Message
	err = c.step(ctx, "UID FETCH (RFC822.SIZE INTERNALDATE)", func() error {
		bufs, err := c.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
		for _, b := range bufs {
			if b.UID == 0 {
				continue
			}
			if !cr.Since.IsZero() && b.InternalDate.Before(cr.Since) {
				continue
			}
			msgs = append(msgs, mail.Message{ID: strconv.FormatUint(uint64(b.UID), 10), Size: b.RFC822Size, Received: b.InternalDate})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(msgs, func(i, j int) bool { return uidOf(msgs[i].ID) < uidOf(msgs[j].ID) })
	return msgs, nil
}

func uidOf(id string) imap.UID {
	n, _ := strconv.ParseUint(id, 10, 32)
	return imap.UID(n)
}

// parseUIDs turns message IDs back into UIDs.
func parseUIDs(ids []string) ([]imap.UID, error) {
	uids := make([]imap.UID, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("imap: %q is not an IMAP UID", id)
		}
		uids = append(uids, imap.UID(n))
	}
	return uids, nil
}

// Fetch streams the raw bytes of msgs to fn with UID FETCH BODY.PEEK[]
// (which leaves \Seen alone), BatchSize messages per command with the next
// batch requested before the current one is consumed. The server decides
// the order; for ascending UIDs, as List returns them, that is the order
// given.
//
// Messages are taken as they arrive, whichever batch they answer: a server
// may run pipelined commands at once (Dovecot does) and send the next
// batch's first message before the current batch's completion, and
// imapclient's reader waits until each message body is read.
//
// The reader given to fn reads straight from the connection: memory use does
// not depend on message size. If fn returns an error, Fetch asks for no more
// batches, reads and drops what the server still sends for the batches in
// flight, so the connection stays usable (e.g. to mark the messages already
// stored), and returns fn's error. Messages the server no longer has are
// reported at the end as a *GoneError.
func (c *Client) Fetch(ctx context.Context, msgs []mail.Message, fn func(mail.Message, io.Reader) error) error {
	if c.selected == "" {
		return errors.New("imap: fetch: no folder is open")
	}
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	uids, err := parseUIDs(ids)
	if err != nil {
		return err
	}
	end, err := c.begin(ctx, "UID FETCH")
	if err != nil {
		return err
	}
	defer end()

	opts := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}
	type batch struct {
		cmd  *imapclient.FetchCommand
		want map[imap.UID]mail.Message
		next chan struct{} // the message handed over is done with: ask for the next
	}
	// One goroutine per batch hands its messages over, one at a time
	// (FetchCommand.Next drops the previous message, so it must wait until
	// that one is read); a nil message says the command is complete.
	type arrival struct {
		b  *batch
		md *imapclient.FetchMessageData
	}
	arrivals := make(chan arrival)
	open := 0
	send := func(from int) {
		to := min(from+BatchSize, len(msgs))
		b := &batch{want: make(map[imap.UID]mail.Message, to-from), next: make(chan struct{})}
		for i := from; i < to; i++ {
			b.want[uids[i]] = msgs[i]
		}
		b.cmd = c.c.Fetch(imap.UIDSetNum(uids[from:to]...), opts)
		open++
		go func() {
			for {
				md := b.cmd.Next()
				arrivals <- arrival{b, md}
				if md == nil {
					return
				}
				<-b.next
			}
		}()
	}

	send(0)
	next := BatchSize
	if next < len(msgs) {
		send(next)
		next += BatchSize
	}
	var fnErr, srvErr error
	var gone []string
	// Every batch is read to its end whatever happens, so imapclient's
	// reader is never left blocked on a half-read message.
	for open > 0 {
		var a arrival
		c.wait(func() error { a = <-arrivals; return nil })
		if a.md != nil {
			deliver := fn
			if fnErr != nil || srvErr != nil {
				deliver = nil
			}
			if err := c.consume(a.md, a.b.want, deliver); err != nil {
				if errors.Is(err, errServer) {
					srvErr = cmp.Or(srvErr, err)
				} else {
					fnErr = cmp.Or(fnErr, err)
				}
			}
			a.b.next <- struct{}{}
			continue
		}
		open--
		if err := c.wait(a.b.cmd.Close); err != nil && srvErr == nil {
			srvErr = asServerError(err)
		}
		for uid := range a.b.want {
			gone = append(gone, strconv.FormatUint(uint64(uid), 10))
		}
		if next < len(msgs) && fnErr == nil && srvErr == nil {
			send(next)
			next += BatchSize
		}
	}
	switch {
	case fnErr != nil:
		return fnErr
	case srvErr != nil:
		return c.wrap(ctx, "UID FETCH", srvErr)
	case ctx.Err() != nil:
		// Cancelled after the last bytes arrived: the connection was
		// aborted all the same, so the caller must hear of it.
		return c.wrap(ctx, "UID FETCH", ctx.Err())
	}
	if len(gone) > 0 {
		sort.Slice(gone, func(i, j int) bool { return uidOf(gone[i]) < uidOf(gone[j]) })
		return &GoneError{IDs: gone}
	}
	return nil
}

// errServer marks an error of the connection or the server, as opposed to
// one returned by fn.
var errServer = errors.New("imap server error")

type serverError struct{ err error }

func (e serverError) Error() string   { return e.err.Error() }
func (e serverError) Unwrap() []error { return []error{e.err, errServer} }
func asServerError(err error) error   { return serverError{err} }

func (c *Client) reader(r io.Reader) io.Reader { return &stepReader{c: c, r: r} }

// consume reads one FETCH response, handing a wanted body to fn (or
// dropping it when fn is nil) and deleting it from want. An error of the
// connection is marked with errServer; fn's own error is returned as it is.
func (c *Client) consume(md *imapclient.FetchMessageData, want map[imap.UID]mail.Message, fn func(mail.Message, io.Reader) error) error {
	var fnErr error
	var uid imap.UID
	for {
		var item imapclient.FetchItemData
		c.wait(func() error { item = md.Next(); return nil })
		if item == nil {
			return fnErr
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			m, ok := want[uid]
			if !ok || it.Literal == nil {
				continue // md.Next drops the rest
			}
			r := c.reader(it.Literal)
			delete(want, uid)
			if fn != nil {
				fnErr = fn(m, r)
			}
			// Read what fn left so the next response can be parsed; this
			// goes through the watchdog, so a silent server still ends it.
			if _, err := io.Copy(io.Discard, r); err != nil && fnErr == nil {
				fnErr = asServerError(err)
			}
		}
	}
}

// stepReader reads a literal with the watchdog armed for each read, so a
// server that stops sending mid-message ends the fetch after one step
// timeout while a slow consumer never does.
type stepReader struct {
	c *Client
	r io.Reader
}

func (s *stepReader) Read(p []byte) (int, error) {
	s.c.watchdog.Reset(s.c.ep.StepTimeout())
	n, err := s.r.Read(p)
	s.c.watchdog.Stop()
	if err != nil && err != io.EOF {
		if s.c.timedOut.Load() {
			return n, fmt.Errorf("imap: %s sent nothing for %s in the middle of a message: %w", s.c.ep.Addr(), s.c.ep.StepTimeout(), os.ErrDeadlineExceeded)
		}
		return n, fmt.Errorf("imap: reading a message from %s: %w", s.c.ep.Addr(), err)
	}
	return n, err
}
