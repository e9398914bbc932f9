package imap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
//
// The listing is fetched listingBatch UIDs per command, each command one
// network step with its own deadline, and read as it arrives: nothing the
// server adds (a literal nobody asked for, a reply for a UID never asked
// for, a duplicate) is kept. A server that answers with UID 0, more than
// maxListing UIDs, an absurd RFC822.SIZE or no reply for messages it still
// lists is a *ServerError, so that no message is silently left out.
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
	uids, err := c.search(ctx, "UID SEARCH", crit)
	if err != nil || len(uids) == 0 {
		return nil, err
	}

	msgs := make([]mail.Message, 0, len(uids))
	// listed[i] notes that uids[i] was answered: one byte per message.
	listed := make([]bool, len(uids))
	nlisted := 0
	for from := 0; from < len(uids); from += listingBatch {
		to := min(from+listingBatch, len(uids))
		batch := uids[from:to]
		err := c.limitedStep(ctx, "UID FETCH (RFC822.SIZE INTERNALDATE)", "a listing reply", maxLine, 1<<20+4<<10*int64(len(batch)), func() error {
			return c.listBatch(batch, listed[from:to], func(m mail.Message, received time.Time) {
				nlisted++
				// A server that sends no INTERNALDATE matched SINCE all
				// the same: keep the message rather than drop it.
				if !cr.Since.IsZero() && !received.IsZero() && received.Before(cr.Since) {
					return
				}
				msgs = append(msgs, m)
			})
		})
		if err != nil {
			return nil, err
		}
	}
	if nlisted < len(uids) {
		if err := c.checkUnlisted(ctx, uids, listed); err != nil {
			return nil, err
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return uidOf(msgs[i].ID) < uidOf(msgs[j].ID) })
	return msgs, nil
}

// search runs UID SEARCH and checks the UIDs before expanding them: UID 0
// (which imapclient would turn into "*") and more than maxListing UIDs are
// a *ServerError.
func (c *Client) search(ctx context.Context, what string, crit *imap.SearchCriteria) ([]imap.UID, error) {
	// An honest reply lists at most every message of the folder, each UID
	// in at most 11 bytes; the slack covers messages that arrive meanwhile.
	line := int64(maxSearchLine)
	if mb := c.c.Mailbox(); mb != nil {
		line = min(line, 64<<10+11*int64(mb.NumMessages))
	}
	var uids []imap.UID
	err := c.limitedStep(ctx, what, "the reply to "+what, line, maxSearchStep, func() error {
		data, err := c.c.UIDSearch(crit, nil).Wait()
		if err != nil {
			return err
		}
		set, _ := data.All.(imap.UIDSet)
		var n uint64
		for _, r := range set {
			if r.Start == 0 || r.Stop == 0 {
				return c.fault(FaultBadUID, "answered "+what+" with UID 0 or *, which no message has")
			}
			n += uint64(r.Stop) - uint64(r.Start) + 1
			if n > maxListing {
				return c.fault(FaultBadUID, fmt.Sprintf("answered %s with more than %d UIDs; mailport lists at most %s of a folder at a time", what, maxListing, plural.Of(maxListing, "message", "messages")))
			}
		}
		uids, _ = set.Nums()
		return nil
	})
	return uids, err
}

// fault records that the server did something mailport refuses, closes
// the connection (a half-read response cannot be resynchronised) and
// returns the error.
func (c *Client) fault(kind FaultKind, did string) error {
	f := c.conn.m.setFault(&ServerError{Addr: c.ep.Addr(), Kind: kind, Did: did})
	c.abort()
	return f
}

// maxReportedSize is the largest RFC822.SIZE taken at its word.
const maxReportedSize = 1 << 40

// listBatch runs one listing UID FETCH for batch (ascending UIDs),
// reading replies as they arrive, and calls add once for each UID of batch
// the server answers, setting listed[i] for batch[i].
func (c *Client) listBatch(batch []imap.UID, listed []bool, add func(mail.Message, time.Time)) error {
	cmd := c.c.Fetch(imap.UIDSetNum(batch...), &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true})
	defer cmd.Close()
	for {
		md := cmd.Next()
		if md == nil {
			break
		}
		var uid imap.UID
		var size int64
		var received time.Time
		for item := md.Next(); item != nil; item = md.Next() {
			var lit imap.LiteralReader
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataRFC822Size:
				size = it.Size
			case imapclient.FetchItemDataInternalDate:
				received = it.Time
			case imapclient.FetchItemDataBodySection:
				lit = it.Literal
			case imapclient.FetchItemDataBinarySection:
				lit = it.Literal
			}
			if lit != nil && lit.Size() > maxListingLiteral {
				// Refuse it before a byte of it is read.
				return c.fault(FaultLiteralTooBig, fmt.Sprintf("sent a %s literal in a listing reply, which asks for none", humanBytes(lit.Size())))
			}
		}
		// imapclient hands over only replies that name a UID of the set,
		// each once; check all the same, the listing is what fetch trusts.
		i, found := slices.BinarySearch(batch, uid)
		if uid == 0 || !found || listed[i] {
			continue
		}
		if size > maxReportedSize {
			return c.fault(FaultBadUID, fmt.Sprintf("reported an RFC822.SIZE of %s for UID %d, which no message has", humanBytes(size), uid))
		}
		listed[i] = true
		add(mail.Message{ID: strconv.FormatUint(uint64(uid), 10), Size: size, Received: received}, received)
	}
	return cmd.Close()
}

// checkUnlisted asks again about the UIDs the server searched but did not
// answer in the listing. Those expunged in between are gone; any it still
// has mean its FETCH replies lacked a usable UID, and listing without them
// would leave messages behind unnoticed.
func (c *Client) checkUnlisted(ctx context.Context, uids []imap.UID, listed []bool) error {
	var unlisted []imap.UID
	for i, u := range uids {
		if !listed[i] {
			unlisted = append(unlisted, u)
		}
	}
	var s []string
	// In batches, so that the command line stays short however sparse
	// the UIDs are.
	for from := 0; from < len(unlisted); from += listingBatch {
		missing := imap.UIDSetNum(unlisted[from:min(from+listingBatch, len(unlisted))]...)
		still, err := c.search(ctx, "UID SEARCH UID", &imap.SearchCriteria{UID: []imap.UIDSet{missing}})
		if err != nil {
			return err
		}
		for _, u := range still {
			if missing.Contains(u) {
				s = append(s, strconv.FormatUint(uint64(u), 10))
			}
		}
	}
	n := len(s)
	if n == 0 {
		return nil
	}
	if n > 5 {
		s = append(s[:5], "...")
	}
	return fmt.Errorf("imap UID FETCH: %w", c.fault(FaultBadUID, fmt.Sprintf("sent no usable listing reply for %d message(s) it still has (UID %s): its FETCH replies lack the UID, or name UID 0 or UIDs never asked for", n, strings.Join(s, ", "))))
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
		// Each wait has its own deadline and its own allowance of bytes
		// outside bodies; a wait ends only when a message the server has
		// not delivered yet arrives or a batch completes (imapclient
		// drops replies for UIDs never asked for and duplicates), so
		// progress cannot extend the fetch beyond one step per message
		// and per batch, plus each body's own deadline (see bodyReader).
		c.conn.m.reset("the reply to UID FETCH", maxLine, maxPerMessage)
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

// bodyReader reads a message body of size bytes. Each read must bring
// something within one step timeout, and the whole body must arrive within
// one step timeout plus size at minBodyRate: a deadline fixed when the body
// starts, so a server that trickles cannot stretch it.
func (c *Client) bodyReader(r io.Reader, size int64) io.Reader {
	budget := c.ep.StepTimeout() + time.Duration(float64(size)/minBodyRate*float64(time.Second))
	return &stepReader{c: c, r: r, size: size, budget: budget, deadline: time.Now().Add(budget)}
}

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
			if it.Literal != nil && !ok && it.Literal.Size() > maxListingLiteral {
				// Refuse it before a byte of it is read.
				return asServerError(c.fault(FaultLiteralTooBig, fmt.Sprintf("sent a %s literal for UID %d, which was not asked for or was sent already", humanBytes(it.Literal.Size()), uid)))
			}
			if !ok || it.Literal == nil {
				continue // md.Next drops the rest
			}
			if m.Size > 0 && it.Literal.Size() > 2*m.Size+slackBody {
				// A body far beyond its listed size would fill the disk
				// at the server's pace; it stays on the server.
				return asServerError(c.fault(FaultLiteralTooBig, fmt.Sprintf("sent a %s literal for UID %d, listed at %s; the message stays on the server", humanBytes(it.Literal.Size()), uid, humanBytes(m.Size))))
			}
			r := c.bodyReader(it.Literal, it.Literal.Size())
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
	c        *Client
	r        io.Reader
	err      error // the first failure; the literal is not read again
	size     int64
	budget   time.Duration
	deadline time.Time
}

func (s *stepReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	left := time.Until(s.deadline)
	if left <= 0 {
		s.err = s.tooSlow()
		return 0, s.err
	}
	s.c.watchdog.Reset(min(s.c.ep.StepTimeout(), left))
	s.c.conn.m.body(true)
	n, err := s.r.Read(p)
	s.c.conn.m.body(false)
	s.c.watchdog.Stop()
	if err == nil || err == io.EOF {
		return n, err
	}
	switch f := s.c.conn.m.err(); {
	case f != nil:
		s.err = f
	case s.c.timedOut.Load() && !time.Now().Before(s.deadline):
		s.err = s.tooSlow()
	case s.c.timedOut.Load():
		s.err = fmt.Errorf("imap: %s sent nothing for %s in the middle of a message: %w", s.c.ep.Addr(), s.c.ep.StepTimeout(), os.ErrDeadlineExceeded)
	default:
		s.err = fmt.Errorf("imap: reading a message from %s: %w", s.c.ep.Addr(), err)
	}
	// A failed read of a literal lets imapclient's decoder go on reading
	// the same buffered reader, and whatever reads the literal next
	// (imapclient drops the rest of an item by reading it) would race
	// with it. Close the connection and wait for the decoder to stop;
	// with the connection closed it stops at its next read.
	s.c.abort()
	select {
	case <-s.c.c.Closed():
	case <-time.After(s.c.ep.StepTimeout()):
	}
	return n, s.err
}

func (s *stepReader) tooSlow() error {
	s.c.abort()
	return fmt.Errorf("imap: %w: %w", &ServerError{Addr: s.c.ep.Addr(), Kind: FaultTooSlow,
		Did: fmt.Sprintf("took longer than %s to send a %s message (slower than %d KiB/s)", s.budget.Round(time.Millisecond), humanBytes(s.size), minBodyRate>>10)}, os.ErrDeadlineExceeded)
}
