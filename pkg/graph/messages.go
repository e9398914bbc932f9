package graph

import (
	"context"
	"errors"
	"fmt"
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

// apiMessage is Graph's message resource, the fields we select.
type apiMessage struct {
	ID       string    `json:"id"`
	Received time.Time `json:"receivedDateTime"`
	IsRead   bool      `json:"isRead"`
	Props    []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"singleValueExtendedProperties"`
}

func (m apiMessage) size() int64 {
	for _, p := range m.Props {
		if n, err := strconv.ParseInt(p.Value, 10, 64); err == nil {
			return n
		}
	}
	return 0
}

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
func (c *Client) List(ctx context.Context, cr mail.Criteria) ([]mail.Message, error) {
	c.mu.Lock()
	folder := c.current
	c.mu.Unlock()
	if folder == "" {
		return nil, errors.New("graph: list messages: no folder is open")
	}
	next := c.mailboxURL("/mailFolders/"+url.PathEscape(folder)+"/messages", c.listQuery(cr))
	var out []mail.Message
	for next != "" {
		var page struct {
			Value    []apiMessage `json:"value"`
			NextLink string       `json:"@odata.nextLink"`
		}
		if err := c.getJSON(ctx, next, &page); err != nil {
			return nil, fmt.Errorf("graph: list messages: %w", err)
		}
		for _, m := range page.Value {
			out = append(out, mail.Message{ID: m.ID, Size: m.size(), Received: m.Received})
		}
		if page.NextLink != "" && !c.sameOrigin(page.NextLink) {
			return nil, fmt.Errorf("graph: list messages: refusing to follow @odata.nextLink to another host (%s)", page.NextLink)
		}
		next = page.NextLink
	}
	return out, nil
}

func (c *Client) messageURL(id, suffix string) string {
	return c.mailboxURL("/messages/"+url.PathEscape(id)+suffix, nil)
}

// OpenMessage streams one message's raw MIME. The caller closes the reader.
func (c *Client) OpenMessage(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, url: c.messageURL(id, "/$value"), idempotent: true})
	if err != nil {
		return nil, fmt.Errorf("graph: download message %s: %w", id, err)
	}
	return resp.Body, nil
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
				p.path, p.err = c.download(ctx, m.ID)
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
		return fmt.Errorf("graph: reopen prefetched message %s: %w", p.msg.ID, err)
	}
	defer os.Remove(p.path)
	defer f.Close()
	// Hide the *os.File: fn gets a plain stream, as from other adapters.
	return fn(p.msg, struct{ io.Reader }{f})
}

// download writes one message to a temporary file and returns its path.
func (c *Client) download(ctx context.Context, id string) (string, error) {
	body, err := c.OpenMessage(ctx, id)
	if err != nil {
		return "", err
	}
	defer body.Close()
	f, err := os.CreateTemp(c.tempDir, "mailport-graph-*.eml")
	if err != nil {
		return "", fmt.Errorf("graph: temporary file for message %s: %w", id, err)
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("graph: download message %s: %w", id, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("graph: write temporary file for message %s: %w", id, err)
	}
	return f.Name(), nil
}

// MarkSeen sets isRead on each message.
func (c *Client) MarkSeen(ctx context.Context, ids []string) error {
	return c.forEach(ctx, ids, func(ctx context.Context, id string) error {
		if err := c.sendJSON(ctx, http.MethodPatch, c.messageURL(id, ""), map[string]bool{"isRead": true}, nil, true); err != nil {
			return fmt.Errorf("graph: mark message %s read: %w", id, err)
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
		return nil, fmt.Errorf("graph: move to %q: %w", dest, err)
	}
	var mu sync.Mutex
	moved := make(map[string]string, len(ids))
	err = c.forEach(ctx, ids, func(ctx context.Context, id string) error {
		var m apiMessage
		if err := c.sendJSON(ctx, http.MethodPost, c.messageURL(id, "/move"), map[string]string{"destinationId": destID}, &m, false); err != nil {
			return fmt.Errorf("graph: move message %s to %q: %w", id, dest, err)
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
			return fmt.Errorf("graph: delete message %s: %w", id, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	})
}
