package graph

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/mailport/mailport/internal/plural"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// sizeProperty is PR_MESSAGE_SIZE, the only size Graph exposes. It is
// Exchange's storage size of the item, not the octets of its MIME form, so
// Message.Size from Graph is approximate (and 0 when the property is absent).
const sizeProperty = "Integer 0x0E08"

// listQuery builds the messages query. Graph refuses ($orderby with a
// $filter) unless the ordered property comes first in the filter
// (InefficientFilter), so any filter starts with receivedDateTime.
func (c *Client) listQuery(cr mail.Criteria) query {
	q := query{
		{"$select", "id,receivedDateTime,isRead"},
		{"$expand", "singleValueExtendedProperties($filter=id eq '" + sizeProperty + "')"},
	}
	if cr.Unseen || !cr.Since.IsZero() {
		since := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
		if !cr.Since.IsZero() {
			since = cr.Since.UTC()
		}
		f := "receivedDateTime ge " + since.Format(time.RFC3339)
		if cr.Unseen {
			f += " and isRead eq false"
		}
		q = append(q, [2]string{"$filter", f})
	}
	q = append(q, [2]string{"$orderby", "receivedDateTime asc"}, [2]string{"$top", strconv.Itoa(c.pageSize)})
	return q
}

// List returns the open folder's messages matching cr, oldest first,
// following every @odata.nextLink. Size is approximate (see sizeProperty).
//
// Nothing in a listing is taken on trust: a page is read item by item
// under maxJSONBody and maxPageItems; a message listed twice is listed
// once; an id no honest Graph sends ends the listing with an error; a
// nextLink to another origin, one pointing back at a page already read, or
// more than Options.MaxPages pages end it with an error too.
func (c *Client) List(ctx context.Context, cr mail.Criteria) ([]mail.Message, error) {
	c.mu.Lock()
	folder := c.current
	c.mu.Unlock()
	if folder == "" {
		return nil, errors.New("graph: list messages: no folder is open")
	}
	next := c.mailboxURL("/mailFolders/"+url.PathEscape(folder)+"/messages", c.listQuery(cr))
	seenPages := map[[sha256.Size]byte]int{sha256.Sum256([]byte(next)): 1}
	seenIDs := map[string]bool{}
	var out []mail.Message
	for page := 1; next != ""; page++ {
		if page > c.maxPages {
			return nil, fmt.Errorf("graph: list messages: %s sent more than %d pages (%s): giving up, as no folder has that many",
				c.serverName(), c.maxPages, plural.Of(len(out), "message", "messages"))
		}
		link, err := c.getPage(ctx, next, page, func(m apiMessage) error {
			if err := checkID(m.ID); err != nil {
				return fmt.Errorf("it lists %w", err)
			}
			if seenIDs[m.ID] {
				return nil // listed again (a page repeated by the server): fetched once
			}
			seenIDs[m.ID] = true
			out = append(out, mail.Message{ID: m.ID, Size: m.size(), Received: m.Received})
			return nil
		})
		if err != nil {
			return nil, wrapf(err, "list messages")
		}
		if link == "" {
			break
		}
		u, err := url.Parse(link)
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("graph: list messages: %s sent an @odata.nextLink that is not a URL (%.100q)", c.serverName(), link)
		}
		if !c.sameOrigin(u) {
			return nil, fmt.Errorf("graph: list messages: %s sent an @odata.nextLink to another host, port or scheme (%s): refusing to follow it, which would hand it the access token",
				c.serverName(), originOf(u))
		}
		h := sha256.Sum256([]byte(link))
		if p, ok := seenPages[h]; ok {
			return nil, fmt.Errorf("graph: list messages: %s sent an @odata.nextLink on page %d pointing back at page %d: giving up instead of listing the same messages for ever",
				c.serverName(), page, p)
		}
		seenPages[h] = page + 1
		next = link
	}
	return out, nil
}

// getPage GETs one listing page and hands its messages to each.
func (c *Client) getPage(ctx context.Context, u string, page int, each func(apiMessage) error) (string, error) {
	var next string
	what := fmt.Sprintf("page %d of the listing", page)
	err := c.getJSONWith(ctx, u, what, func(r io.Reader) error {
		n, err := parsePage(r, maxPageItems, each)
		next = n
		return err
	})
	return next, err
}

func (c *Client) messageURL(id, suffix string) string {
	return c.mailboxURL("/messages/"+url.PathEscape(id)+suffix, nil)
}

// OpenMessage streams one message's raw MIME. The caller closes the reader.
// The stream fails when the server stops sending for Timeout, sends too
// slowly (see Options.Timeout), or sends more than any message can hold;
// a caller reading it slower than 16 KB per Timeout is taken for a slow
// server too, so read it promptly (Fetch downloads to a file).
func (c *Client) OpenMessage(ctx context.Context, id string) (io.ReadCloser, error) {
	return c.openMessage(ctx, mail.Message{ID: id})
}

// openMessage is OpenMessage with the listing's size hint, which bounds
// how much is read (see messageLimit).
func (c *Client) openMessage(ctx context.Context, m mail.Message) (io.ReadCloser, error) {
	if err := checkID(m.ID); err != nil {
		return nil, fmt.Errorf("graph: download %w", err)
	}
	what := "message " + m.ID
	resp, err := c.do(ctx, request{method: http.MethodGet, url: c.messageURL(m.ID, "/$value"), idempotent: true, what: what, stream: true})
	if err != nil {
		return nil, wrapf(err, "download message %s", m.ID)
	}
	limit, reason := messageLimit(m.Size)
	capped := &capReader{r: resp.Body, left: limit, tooFn: func() error {
		return &TooLongError{Server: c.serverName(), What: what, Limit: limit, Reason: reason}
	}}
	return struct {
		io.Reader
		io.Closer
	}{capped, resp.Body}, nil
}

// messageLimit is the most a message's MIME may hold, given Graph's size
// hint (0: none), and why.
func messageLimit(hint int64) (int64, string) {
	if hint > 0 && hint < maxMessageBytes {
		if l := 2*hint + slackMessageBytes; l < maxMessageBytes {
			return l, fmt.Sprintf("Graph gave its size as %s, and its MIME form is never twice that plus %s", sizeText(hint), sizeText(slackMessageBytes))
		}
	}
	return maxMessageBytes, "Exchange Online refuses messages over 150 MB"
}

// StageIn makes Fetch download messages into dir, in files whose names
// start with prefix, instead of Options.TempDir: fetch stages them in its
// target directory under the store's temporary-file prefix, so a crash
// leaves nothing in $TMPDIR and the store's next start-up removes what it
// left.
func (c *Client) StageIn(dir, prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tempDir, c.tempPrefix = dir, prefix
}

func (c *Client) staging() (dir, prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir, prefix = c.tempDir, c.tempPrefix
	if dir == "" {
		dir = os.TempDir()
	}
	return dir, prefix
}

// prefetched is one message being downloaded ahead of its turn.
type prefetched struct {
	msg  mail.Message
	done chan struct{}
	path string
	err  error
}

// Fetch streams each message's raw MIME to fn in the order given. Up to
// Concurrency messages download at the same time into temporary files
// (memory stays flat whatever their size); fn reads them one by one in
// order. fn may call other methods of the Client. The Size of each
// mail.Message is Graph's approximate one; the stream is the exact MIME.
func (c *Client) Fetch(ctx context.Context, msgs []mail.Message, fn func(mail.Message, io.Reader) error) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// tokens bound the files on disk: Concurrency downloading or waiting,
	// plus the one fn is reading.
	tokens := make(chan struct{}, c.conc+1)
	queue := make(chan *prefetched, len(msgs))
	var wg sync.WaitGroup
	go func() {
		defer close(queue)
		for _, m := range msgs {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			p := &prefetched{msg: m, done: make(chan struct{})}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(p.done)
				p.path, p.err = c.download(ctx, m)
			}()
			queue <- p
		}
	}()
	cleanup := func() {
		cancel()
		for p := range queue { // drains once the producer has stopped
			<-p.done
			if p.path != "" {
				os.Remove(p.path)
			}
		}
		wg.Wait()
	}
	for p := range queue {
		<-p.done
		if p.err != nil {
			cleanup()
			return p.err
		}
		err := c.deliver(p, fn)
		<-tokens
		if err != nil {
			cleanup()
			return err
		}
	}
	wg.Wait()
	return ctx.Err()
}

func (c *Client) deliver(p *prefetched, fn func(mail.Message, io.Reader) error) error {
	f, err := os.Open(p.path)
	if err != nil {
		os.Remove(p.path)
		return wrapf(err, "reopen prefetched message %s", p.msg.ID)
	}
	defer os.Remove(p.path)
	defer f.Close()
	// Hide the *os.File: fn gets a plain stream, as from other adapters.
	return fn(p.msg, struct{ io.Reader }{f})
}

// download writes one message to a temporary file and returns its path.
func (c *Client) download(ctx context.Context, m mail.Message) (string, error) {
	body, err := c.openMessage(ctx, m)
	if err != nil {
		return "", err
	}
	defer body.Close()
	dir, prefix := c.staging()
	f, err := os.CreateTemp(dir, prefix+"graph-*.eml")
	if err != nil {
		return "", wrapf(err, "temporary file for message %s", m.ID)
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", wrapf(err, "download message %s", m.ID)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", wrapf(err, "write temporary file for message %s", m.ID)
	}
	return f.Name(), nil
}

// MarkSeen sets isRead on each message.
func (c *Client) MarkSeen(ctx context.Context, ids []string) error {
	return c.forEach(ctx, ids, func(ctx context.Context, id string) error {
		if err := c.sendJSON(ctx, http.MethodPatch, c.messageURL(id, ""), map[string]bool{"isRead": true}, nil, true); err != nil {
			return wrapf(err, "mark message %s read", id)
		}
		return nil
	})
}

// Move moves messages to the folder path dest.
func (c *Client) Move(ctx context.Context, ids []string, dest string) error {
	_, err := c.MoveMessages(ctx, ids, dest)
	return err
}

// MoveMessages moves messages to the folder path dest and returns their
// new ids (Exchange gives a moved message a new id), keyed by the old.
func (c *Client) MoveMessages(ctx context.Context, ids []string, dest string) (map[string]string, error) {
	if len(splitPath(dest)) == 0 {
		return nil, errors.New("graph: move: no destination folder given")
	}
	destID, err := c.folderID(ctx, dest)
	if err != nil {
		return nil, wrapf(err, "move to %q", dest)
	}
	var mu sync.Mutex
	moved := make(map[string]string, len(ids))
	err = c.forEach(ctx, ids, func(ctx context.Context, id string) error {
		var m apiMessage
		if err := c.sendJSON(ctx, http.MethodPost, c.messageURL(id, "/move"), map[string]string{"destinationId": destID}, &m, false); err != nil {
			return wrapf(err, "move message %s to %q", id, dest)
		}
		mu.Lock()
		moved[id] = m.ID
		mu.Unlock()
		return nil
	})
	return moved, err
}

// Delete deletes messages. Graph's DELETE takes them out of the folder
// (Exchange keeps them in Recoverable Items for its retention time).
func (c *Client) Delete(ctx context.Context, ids []string) error {
	return c.forEach(ctx, ids, func(ctx context.Context, id string) error {
		resp, err := c.do(ctx, request{method: http.MethodDelete, url: c.messageURL(id, ""), idempotent: true})
		if err != nil {
			return wrapf(err, "delete message %s", id)
		}
		defer resp.Body.Close()
		if err := c.drain(resp.Body, "the answer to deleting message "+id); err != nil {
			return wrapf(err, "delete message %s", id)
		}
		return nil
	})
}
