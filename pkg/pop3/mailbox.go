package pop3

import (
	"context"
	"errors"
	"fmt"
	"github.com/mailport/mailport/internal/plural"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mailport/mailport/pkg/mail"
)

// InboxOnlyError is returned by Open for any folder but the inbox. It
// unwraps to a *mail.FolderNotFoundError.
type InboxOnlyError struct{ Folder string }

func (e *InboxOnlyError) Error() string {
	return fmt.Sprintf("pop3: POP3 has only the inbox, so folder %q cannot be opened: leave the folder empty or set it to INBOX, or use IMAP to reach other folders", e.Folder)
}

func (e *InboxOnlyError) Unwrap() error {
	return &mail.FolderNotFoundError{Path: e.Folder, Missing: e.Folder}
}

var errNotAuthenticated = errors.New("pop3: not authenticated: call Authenticate first")

// Open selects the inbox: folder must be "" or INBOX in any case.
func (c *Client) Open(ctx context.Context, folder string) (*mail.Folder, error) {
	if folder != "" && !strings.EqualFold(folder, "INBOX") {
		return nil, &InboxOnlyError{Folder: folder}
	}
	if !c.authed {
		return nil, errNotAuthenticated
	}
	n, _, err := c.Stat(ctx)
	if err != nil {
		return nil, err
	}
	name := folder
	if name == "" {
		name = "INBOX"
	}
	return &mail.Folder{Name: name, Count: n}, nil
}

// List returns the messages not marked for deletion, in the server's
// message-number order (arrival order), with the UIDL as ID and the LIST
// size. POP3 has no flags and no dates: Criteria.Unseen is ignored (callers
// remember what they fetched by UIDL) and a Since bound is refused with an
// error wrapping mail.ErrUnsupported rather than silently ignored.
func (c *Client) List(ctx context.Context, crit mail.Criteria) ([]mail.Message, error) {
	if !crit.Since.IsZero() {
		return nil, fmt.Errorf("pop3: cannot select messages received since %s, POP3 servers do not report dates: %w", crit.Since.Format("2006-01-02"), mail.ErrUnsupported)
	}
	if !c.authed {
		return nil, errNotAuthenticated
	}
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	msgs := make([]mail.Message, 0, len(c.nums))
	for id, n := range c.nums {
		msgs = append(msgs, mail.Message{ID: id, Size: c.sizes[n]})
	}
	sort.Slice(msgs, func(i, j int) bool { return c.nums[msgs[i].ID] < c.nums[msgs[j].ID] })
	return msgs, nil
}

// load reads UIDL and LIST (pipelined when possible) into c.nums and
// c.sizes. It trusts the server only as far as it must: a line it cannot
// read, a message number below 1 or a UIDL longer than RFC 1939's 70
// octets is an error; sizes are hints (a negative one, or one above 1 TiB, counts as
// unknown);
// duplicate UIDLs get derived ids (see deriveIDs); a STAT count that
// disagrees with the listing and a message listed without a UIDL are
// reported through Warnings.
func (c *Client) load(ctx context.Context) error {
	cmds := []string{"UIDL", "LIST"}
	pipe := c.pipelining(ctx)
	return c.op(ctx, "UIDL", func() error {
		var uidls []listed
		szs := map[int]int64{}
		read := func(i int) error {
			cmd := cmds[i]
			if _, err := c.readStatus(cmd); err != nil {
				var perr *Error
				if cmd == "UIDL" && errors.As(err, &perr) {
					return fmt.Errorf("pop3: %s does not support UIDL (%s), which mailport needs to tell messages apart across sessions: use IMAP for this mailbox", c.ep.Addr(), perr.Text)
				}
				return err
			}
			return c.readMulti(cmd, maxListing, cmd+" listing", func(line string) error {
				f := strings.Fields(line)
				var n int
				var err error
				if len(f) >= 2 {
					n, err = strconv.Atoi(f[0])
				}
				if len(f) < 2 || err != nil {
					return c.serverError(cmd, ErrBadReply, "%s sent the listing line %s, which is not a message number and a %s", c.ep.Addr(), quote(line), map[string]string{"UIDL": "unique id", "LIST": "size"}[cmd])
				}
				if n < 1 {
					return c.serverError(cmd, ErrBadReply, "%s listed message number %d; POP3 numbers messages from 1", c.ep.Addr(), n)
				}
				if cmd == "UIDL" {
					if len(f[1]) > maxUIDL {
						return c.serverError(cmd, ErrBadReply, "%s sent a UIDL of %s for message %d; RFC 1939 allows at most 70", c.ep.Addr(), plural.Of(len(f[1]), "octet", "octets"), n)
					}
					uidls = append(uidls, listed{num: n, uid: f[1]})
					return nil
				}
				size, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil && !errors.Is(err, strconv.ErrRange) {
					return c.serverError(cmd, ErrBadReply, "%s sent the listing line %s, which is not a message number and a size", c.ep.Addr(), quote(line))
				}
				if size < 0 || size > maxSize || err != nil {
					size = 0 // a hint only: unknown rather than absurd
				}
				szs[n] = size
				return nil
			})
		}
		skip := func(i int) error { return skipReply(c, cmds[i], true) }
		if err := c.pipeline(pipe, len(cmds), func(i int) string { return cmds[i] }, read, skip); err != nil {
			return err
		}
		nums, dups, err := c.deriveIDs(uidls, szs)
		if err != nil {
			return err
		}
		c.nums, c.sizes = nums, szs
		c.listWarnings(uidls, szs, dups)
		return nil
	})
}

// listed is one UIDL line.
type listed struct {
	num int
	uid string
}

// deriveIDs maps ids to message numbers. A server that gives two messages
// the same UIDL breaks RFC 1939; taken at its word, one of them could never
// be fetched (the id would name only one, and the other would be skipped
// as already fetched, run after run). So the first message with a UIDL (the
// lowest number: the oldest) keeps it, and each later one gets a derived
// id "UIDL#K.SIZE", K being its place among the messages sharing the UIDL
// (2, 3, ...) and SIZE its LIST size.
//
// Why this id: message numbers follow arrival order, so K is stable from
// one session to the next while no earlier copy is removed, which makes a
// rerun skip what it fetched before (nothing twice). The first copy keeps
// the plain UIDL so what an earlier run fetched under it is still
// recognised. Adding the size means that when an earlier copy is removed
// and the copies shift, a different message that moves into place K is not
// mistaken for the one fetched there before (its size differs) and is
// fetched rather than skipped; only a shifted copy of the very same size
// can still be taken for an old one. Losing nothing weighs more than
// fetching a message twice, and a derived id that happens to be another
// message's real UIDL gets a further "#".
func (c *Client) deriveIDs(uidls []listed, sizes map[int]int64) (map[string]int, int, error) {
	sort.SliceStable(uidls, func(i, j int) bool { return uidls[i].num < uidls[j].num })
	nums := make(map[string]int, len(uidls))
	var later []listed // the second and later messages with a UIDL
	for i, l := range uidls {
		if i > 0 && l.num == uidls[i-1].num {
			return nil, 0, c.serverError("UIDL", ErrBadReply, "%s listed message number %d twice", c.ep.Addr(), l.num)
		}
		if _, dup := nums[l.uid]; dup {
			later = append(later, l)
			continue
		}
		nums[l.uid] = l.num
	}
	copies := map[string]int{}
	for _, l := range later {
		k, ok := copies[l.uid]
		if !ok {
			k = 1
		}
		k++
		copies[l.uid] = k
		id := l.uid + "#" + strconv.Itoa(k) + "." + strconv.FormatInt(sizes[l.num], 10)
		for {
			if _, taken := nums[id]; !taken {
				break
			}
			id += "#"
		}
		nums[id] = l.num
	}
	dups := len(later)
	return nums, dups, nil
}

// listWarnings notes what a listing got wrong without losing mail.
func (c *Client) listWarnings(uidls []listed, sizes map[int]int64, dups int) {
	c.warnings = nil
	if dups > 0 {
		c.warnings = append(c.warnings, fmt.Sprintf("the POP3 server %s gave %s a UIDL that an earlier message already has (RFC 1939 requires unique ones); each is fetched under a derived id UIDL#N.SIZE so none is skipped", c.ep.Addr(), plural.Of(dups, "message", "messages")))
	}
	hasUIDL := make(map[int]bool, len(uidls))
	for _, l := range uidls {
		hasUIDL[l.num] = true
	}
	var missing []int
	for n := range sizes {
		if !hasUIDL[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Ints(missing)
		c.warnings = append(c.warnings, fmt.Sprintf("the POP3 server %s listed %s without a UIDL (message %d first); mailport cannot tell them apart across sessions, so they stay on the server", c.ep.Addr(), plural.Of(len(missing), "message", "messages"), missing[0]))
	}
	if c.count >= 0 && c.count != len(uidls) {
		c.warnings = append(c.warnings, fmt.Sprintf("the POP3 server %s reported %s in STAT but listed %d in UIDL; mailport fetches the listed ones", c.ep.Addr(), plural.Of(c.count, "message", "messages"), len(uidls)))
	}
}

// Warnings returns, once, what the last listing got wrong in a way that
// loses no mail but that the user should know about: duplicate UIDLs,
// messages without a UIDL, a STAT count that disagrees with the listing.
func (c *Client) Warnings() []string {
	w := c.warnings
	c.warnings = nil
	return w
}

// resolve maps UIDLs to message numbers, listing first if needed.
func (c *Client) resolve(ctx context.Context, ids []string) ([]int, error) {
	if !c.authed {
		return nil, errNotAuthenticated
	}
	if c.nums == nil {
		if err := c.load(ctx); err != nil {
			return nil, err
		}
	}
	nums := make([]int, len(ids))
	for i, id := range ids {
		n, ok := c.nums[id]
		if !ok {
			return nil, fmt.Errorf("pop3: message %q is not in the mailbox (it was deleted, or removed by another client)", id)
		}
		nums[i] = n
	}
	return nums, nil
}

// Fetch retrieves msgs (by UIDL) with RETR, pipelined when the server offers
// PIPELINING, and hands each to fn as a stream as it arrives: dot-stuffing
// is undone and nothing else changes. The reader is valid only during fn;
// whatever fn leaves unread is skipped. When fn returns an error, Fetch
// stops and returns it unchanged.
func (c *Client) Fetch(ctx context.Context, msgs []mail.Message, fn func(mail.Message, io.Reader) error) error {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	nums, err := c.resolve(ctx, ids)
	if err != nil {
		return err
	}
	pipe := c.pipelining(ctx)
	cmd := func(i int) string { return "RETR " + strconv.Itoa(nums[i]) }
	return c.op(ctx, "RETR", func() error {
		read := func(i int) error {
			if _, err := c.readStatus(cmd(i)); err != nil {
				return err
			}
			m := msgs[i]
			if m.Size == 0 {
				m.Size = c.sizes[nums[i]]
			}
			// The body streams for as long as it keeps coming at a
			// reasonable pace; its size as listed is a hint, so only a
			// body far beyond it is cut off (and stays on the server).
			c.dc.streamBody()
			d := newDotReader(c.r, func(err error) error { return c.ioError(cmd(i), err) })
			d.max = maxMessage
			if m.Size > 0 {
				d.max = 2*m.Size + slackMessage
			}
			d.tooLong = func(n int64) error {
				return c.serverError(cmd(i), ErrMessageTooLong, "%s sent more than %s for message %s, listed at %s; the message stays on the server",
					c.ep.Addr(), plural.Of(n, "octet", "octets"), m.ID, plural.Of(m.Size, "octet", "octets"))
			}
			ferr := fn(m, d)
			if _, err := io.Copy(io.Discard, d); err != nil {
				return err
			}
			d.err = errors.New("pop3: message reader used after its Fetch callback returned")
			if c.trace {
				c.strace.Write([]byte("<" + strconv.FormatInt(d.n, 10) + " octets>\n.\n"))
			}
			return ferr
		}
		skip := func(i int) error { return skipReply(c, cmd(i), true) }
		return c.pipeline(pipe, len(nums), cmd, read, skip)
	})
}

// Delete marks msgs (by UIDL) for deletion with DELE, pipelined when
// possible. The server removes them only when it accepts QUIT, at Close; a
// connection that breaks before leaves them on the server. Reset unmarks
// them. A refusal of one DELE does not stop the others; the first is
// returned.
func (c *Client) Delete(ctx context.Context, ids []string) error {
	nums, err := c.resolve(ctx, ids)
	if err != nil {
		return err
	}
	pipe := c.pipelining(ctx)
	cmd := func(i int) string { return "DELE " + strconv.Itoa(nums[i]) }
	return c.op(ctx, "DELE", func() error {
		var first error
		read := func(i int) error {
			_, err := c.readStatus(cmd(i))
			var perr *Error
			switch {
			case err == nil:
				c.deletes++
				if c.count > 0 {
					c.count--
				}
				delete(c.nums, ids[i])
			case errors.As(err, &perr):
				if first == nil {
					first = fmt.Errorf("pop3: cannot delete message %q: %s", ids[i], perr.Text)
				}
			default:
				return err
			}
			return nil
		}
		if err := c.pipeline(pipe, len(nums), cmd, read, nil); err != nil {
			return err
		}
		return first
	})
}

// MarkSeen returns mail.ErrUnsupported: POP3 has no flags.
func (c *Client) MarkSeen(ctx context.Context, ids []string) error {
	return fmt.Errorf("pop3: cannot mark messages seen, POP3 has no flags: %w", mail.ErrUnsupported)
}

// Move returns mail.ErrUnsupported: POP3 has only the inbox.
func (c *Client) Move(ctx context.Context, ids []string, dest string) error {
	return fmt.Errorf("pop3: cannot move messages to %q, POP3 has only the inbox: %w", dest, mail.ErrUnsupported)
}

// pipeline sends n commands and reads their replies in order with read. With
// pipe, up to pipelineWindow commands are in flight; otherwise each waits
// for the previous reply. When read fails without breaking the connection,
// the replies already requested are consumed with skip so the session stays
// in step (a nil skip reads them with read).
func (c *Client) pipeline(pipe bool, n int, cmd func(int) string, read, skip func(int) error) error {
	window := 1
	if pipe {
		window = pipelineWindow
	}
	if skip == nil {
		skip = read
	}
	sent := 0
	for i := 0; i < n; i++ {
		for sent < n && sent < i+window {
			if err := c.send(cmd(sent)); err != nil {
				return err
			}
			sent++
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := read(i); err != nil {
			for j := i + 1; j < sent && c.err == nil; j++ {
				skip(j)
			}
			return err
		}
	}
	return nil
}

// skipReply consumes a reply nobody wants any more.
func skipReply(c *Client, cmd string, multi bool) error {
	if _, err := c.readStatus(cmd); err != nil {
		var perr *Error
		if errors.As(err, &perr) {
			return nil
		}
		return err
	}
	if !multi {
		return nil
	}
	c.dc.streamBody()
	_, err := io.Copy(io.Discard, newDotReader(c.r, func(err error) error { return c.ioError(cmd, err) }))
	return err
}
