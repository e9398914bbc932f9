package fetchtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// Message is one message of a Mailbox.
type Message struct {
	ID       string
	Raw      []byte
	Received time.Time
	Seen     bool
}

// Mailbox is an in-memory mail.Inbound with one folder whose message ids
// (even hostile ones), validity and failures the test chooses. Its state
// outlives Close, so several "connections" (runs) can use it one after
// the other.
type Mailbox struct {
	mu       sync.Mutex
	Validity string
	msgs     []*Message
	moved    map[string][]*Message
	// FailFetchAfter, when positive, makes Fetch fail after handing over
	// that many messages (a connection lost).
	FailFetchAfter int
	// FailDelete makes Delete fail (the server refuses).
	FailDelete error
	calls      []string
}

// NewMailbox returns an empty mailbox with validity "1".
func NewMailbox() *Mailbox { return &Mailbox{Validity: "1", moved: map[string][]*Message{}} }

// Add puts a message into the folder.
func (m *Mailbox) Add(msg Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := msg
	m.msgs = append(m.msgs, &cp)
}

// IDs are the ids in the folder, in order.
func (m *Mailbox) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, x := range m.msgs {
		ids = append(ids, x.ID)
	}
	return ids
}

// SeenIDs are the ids marked seen, sorted.
func (m *Mailbox) SeenIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, x := range m.msgs {
		if x.Seen {
			ids = append(ids, x.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Moved returns the messages moved to folder.
func (m *Mailbox) Moved(folder string) []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Message
	for _, x := range m.moved[folder] {
		out = append(out, *x)
	}
	return out
}

// Renumber gives every message a new id (prefix + position) under a new
// validity, as an IMAP server does when UIDVALIDITY changes.
func (m *Mailbox) Renumber(validity, prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Validity = validity
	for i, x := range m.msgs {
		x.ID = fmt.Sprintf("%s%d", prefix, i+1)
	}
}

// Calls lists the operations asked for ("Delete 1,2", ...).
func (m *Mailbox) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

func (m *Mailbox) Greeting() string                                     { return "fake" }
func (m *Mailbox) Capabilities(context.Context) ([]string, error)       { return nil, nil }
func (m *Mailbox) Authenticate(context.Context, mail.Credentials) error { return nil }

func (m *Mailbox) Open(_ context.Context, folder string) (*mail.Folder, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if folder == "" {
		folder = "INBOX"
	}
	return &mail.Folder{Name: folder, Validity: m.Validity, Count: len(m.msgs)}, nil
}

func (m *Mailbox) List(_ context.Context, c mail.Criteria) ([]mail.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail.Message
	for _, x := range m.msgs {
		if c.Unseen && x.Seen || !c.Since.IsZero() && x.Received.Before(c.Since) {
			continue
		}
		out = append(out, mail.Message{ID: x.ID, Size: int64(len(x.Raw)), Received: x.Received})
	}
	return out, nil
}

func (m *Mailbox) find(id string) *Message {
	for _, x := range m.msgs {
		if x.ID == id {
			return x
		}
	}
	return nil
}

// ErrCut is what Fetch returns when FailFetchAfter strikes.
var ErrCut = errors.New("fetchtest: connection reset by peer")

func (m *Mailbox) Fetch(ctx context.Context, msgs []mail.Message, fn func(mail.Message, io.Reader) error) error {
	for i, want := range msgs {
		m.mu.Lock()
		x := m.find(want.ID)
		cut := m.FailFetchAfter > 0 && i >= m.FailFetchAfter
		var raw []byte
		if x != nil {
			raw = x.Raw
		}
		m.mu.Unlock()
		if cut {
			return ErrCut
		}
		if x == nil {
			continue
		}
		if err := fn(want, bytes.NewReader(raw)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (m *Mailbox) MarkSeen(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("MarkSeen %v", ids))
	for _, id := range ids {
		if x := m.find(id); x != nil {
			x.Seen = true
		}
	}
	return nil
}

func (m *Mailbox) remove(ids []string) []*Message {
	var gone []*Message
	keep := m.msgs[:0]
	del := map[string]bool{}
	for _, id := range ids {
		del[id] = true
	}
	for _, x := range m.msgs {
		if del[x.ID] {
			gone = append(gone, x)
		} else {
			keep = append(keep, x)
		}
	}
	m.msgs = keep
	return gone
}

func (m *Mailbox) Move(_ context.Context, ids []string, dest string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("Move %v %s", ids, dest))
	m.moved[dest] = append(m.moved[dest], m.remove(ids)...)
	return nil
}

func (m *Mailbox) Delete(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, fmt.Sprintf("Delete %v", ids))
	if m.FailDelete != nil {
		return m.FailDelete
	}
	m.remove(ids)
	return nil
}

func (m *Mailbox) Close() error { return nil }

var _ mail.Inbound = (*Mailbox)(nil)
