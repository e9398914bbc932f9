// Package mail holds what every mail protocol adapter shares: the
// protocol-neutral inbound and outbound interfaces, the dialer that applies an
// account's encryption, the SASL clients and the redacting protocol trace.
//
// The adapters live in pkg/imap, pkg/pop3, pkg/smtp and pkg/graph; callers
// (fetch, send, test) only see the interfaces below.
package mail

import (
	"context"
	"io"
	"time"
)

// AuthKind is how an account proves who it is.
type AuthKind string

const (
	AuthBasic  AuthKind = "basic"  // a password: SASL PLAIN / LOGIN, POP3 USER/PASS
	AuthOAuth2 AuthKind = "oauth2" // a bearer token: SASL XOAUTH2 / OAUTHBEARER, Graph bearer
)

// TokenFunc returns a current OAuth2 access token. It refreshes when needed;
// adapters call it right before they authenticate.
type TokenFunc func(ctx context.Context) (string, error)

// Credentials are what an adapter authenticates with.
type Credentials struct {
	Kind     AuthKind
	Username string    // the login (mailbox address)
	Password string    // for AuthBasic
	Token    TokenFunc // for AuthOAuth2
}

// Message identifies one message in an open folder.
type Message struct {
	// ID is unique on the server within the folder and its validity:
	// the IMAP UID, the POP3 UIDL or the Graph message id.
	ID       string
	Size     int64     // octets as the server reports them (0 when unknown)
	Received time.Time // internal date / received time; zero when the protocol has none (POP3)
}

// Folder is an opened folder.
type Folder struct {
	Name string // the path as configured, e.g. "Inbox/Endpoint"
	// Validity changes when the server renumbers IDs (IMAP UIDVALIDITY);
	// empty for protocols whose IDs never get reused (POP3 UIDL, Graph ids).
	Validity string
	Count    int // messages in the folder
}

// Criteria select messages to list. The zero value lists all.
type Criteria struct {
	Unseen bool      // only messages without \Seen / isRead (ignored by POP3)
	Since  time.Time // only messages received on or after this time (zero: no bound)
}

// Inbound is an authenticated-or-not connection to a mailbox server.
// Methods are not safe for concurrent use unless an adapter says so.
type Inbound interface {
	// Greeting is the server's greeting line (empty for Graph).
	Greeting() string
	// Capabilities lists what the server offers, upper-cased
	// (e.g. "AUTH=XOAUTH2", "STARTTLS", "UIDL", "SASL XOAUTH2").
	Capabilities(ctx context.Context) ([]string, error)
	// Authenticate logs in. A refusal is an *AuthError keeping the server's words.
	Authenticate(ctx context.Context, c Credentials) error
	// Open selects a folder ("" is the protocol's default, INBOX).
	Open(ctx context.Context, folder string) (*Folder, error)
	// List returns the messages of the open folder matching c, oldest first.
	List(ctx context.Context, c Criteria) ([]Message, error)
	// Fetch streams each message's raw RFC 5322 bytes to fn, in the order given.
	// The reader is valid only during the call and must be read to EOF or fn
	// must return an error. Adapters pipeline and never hold a whole message
	// in memory.
	Fetch(ctx context.Context, msgs []Message, fn func(Message, io.Reader) error) error
	// MarkSeen sets \Seen (IMAP) or isRead (Graph). POP3 returns ErrUnsupported.
	MarkSeen(ctx context.Context, ids []string) error
	// Move moves messages to another folder path. POP3 returns ErrUnsupported.
	Move(ctx context.Context, ids []string, dest string) error
	// Delete removes messages for good (POP3: at Close, when QUIT succeeds).
	Delete(ctx context.Context, ids []string) error
	// Close logs out and closes the connection.
	Close() error
}

// Envelope is the SMTP envelope of an outgoing message.
type Envelope struct {
	From string
	To   []string // every recipient, including Cc and Bcc
}

// Outbound sends messages.
type Outbound interface {
	// Send transmits the raw RFC 5322 message read from r to the envelope's recipients.
	Send(ctx context.Context, env Envelope, r io.Reader) error
	Close() error
}
