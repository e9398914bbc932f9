package pop3

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on what the client accepts from a server. No honest server comes
// near them; a server that passes one is broken or hostile, and the client
// stops rather than grow without bound.
const (
	// maxLine bounds a status, listing or AUTH line (RFC 1939 allows 512
	// octets). Message bodies are streamed, bounded by slackMessage and
	// maxMessage below.
	maxLine = 64 << 10
	// maxListing bounds the entries of a UIDL or LIST listing. Each entry
	// costs about 150 bytes of memory at the longest UIDL RFC 1939 allows,
	// so a listing at the limit stays under 64 MB.
	maxListing = 300_000
	// maxUIDL is RFC 1939's limit on a unique-id: 70 octets.
	maxUIDL = 70
	// maxSize is the largest LIST size taken as a hint; a larger one (or
	// a negative one) counts as unknown.
	maxSize = 1 << 40
	// slackMessage is how far a message body may pass twice its LIST
	// size before it is cut off (sizes are hints: servers count line
	// ends and dot-stuffing differently, but never by a factor of two).
	slackMessage = 16_000_000
	// maxMessage bounds a body whose LIST size is unknown.
	maxMessage = 512_000_000
	// maxCapa bounds the lines of a CAPA reply (a real one has about 15).
	maxCapa = 1000
)

// Sentinels for the ways a server can misbehave; the errors that Dial and
// the Client's methods return wrap them (test with errors.Is), and their
// text names the server and what it did.
var (
	// ErrLineTooLong: the server sent a line longer than 64 KiB.
	ErrLineTooLong = errors.New("pop3: the server sent a line longer than 64 KiB")
	// ErrListingTooLong: a listing passed 300,000 entries (or a CAPA reply
	// 1,000 lines).
	ErrListingTooLong = errors.New("pop3: the server's listing passed the limit")
	// ErrEndlessReply: the server kept sending a reply for a whole step
	// timeout without finishing it.
	ErrEndlessReply = errors.New("pop3: the server kept sending without finishing its reply")
	// ErrTooSlow: a message body brought less than 16,000 octets in a
	// step timeout window: the server drips it to keep the connection
	// alive without ever finishing.
	ErrTooSlow = errors.New("pop3: the server sends the message too slowly")
	// ErrMessageTooLong: a message body went far past its LIST size (twice
	// it plus 16 MB, or 512 MB when the size is unknown).
	ErrMessageTooLong = errors.New("pop3: the server sent far more of a message than its size")
	// ErrNotPOP3: the server's greeting is not a POP3 greeting (for
	// example an IMAP, SMTP or HTTP server on the port).
	ErrNotPOP3 = errors.New("pop3: the server does not speak POP3")
	// ErrBadReply: a reply that breaks the protocol (a listing line that
	// cannot be read, a message number that does not exist).
	ErrBadReply = errors.New("pop3: the server's reply breaks the protocol")
)

// ServerError is a misbehaviour of the server, described in one sentence.
// It unwraps to one of the sentinels above. ErrEndlessReply deliberately
// does not unwrap to a timeout: the server was not silent, and a diagnosis
// must not call it so.
type ServerError struct {
	Step string // e.g. "UIDL", "greeting"
	Text string // what happened, naming the server
	Kind error  // a sentinel
}

func (e *ServerError) Error() string { return "pop3: " + e.Step + ": " + e.Text }

// Unwrap returns the sentinel.
func (e *ServerError) Unwrap() error { return e.Kind }

func (c *Client) serverError(step string, kind error, format string, args ...any) error {
	return c.fail(&ServerError{Step: step, Text: fmt.Sprintf(format, args...), Kind: kind})
}

// notPOP3 explains a greeting that is not "+OK ...".
func notPOP3(addr, line string) string {
	what := ""
	switch {
	case strings.HasPrefix(line, "* OK") || strings.HasPrefix(line, "* PREAUTH") || strings.HasPrefix(line, "* BYE"):
		what = " (an IMAP server's greeting: use protocol imap, or the POP3 port, usually 995 or 110)"
	case strings.HasPrefix(line, "HTTP/"):
		what = " (a web server's answer: the port is not a mail port)"
	case len(line) >= 4 && strings.HasPrefix(line, "220") && (line[3] == ' ' || line[3] == '-'):
		what = " (an SMTP server's greeting: the port is an SMTP port, POP3 is usually 995 or 110)"
	case strings.HasPrefix(line, "\x16\x03"):
		what = " (a TLS handshake: use encryption ssl)"
	}
	return fmt.Sprintf("%s did not greet with +OK, so it is not a POP3 server: it sent %s%s", addr, quote(line), what)
}

// quote quotes what the server sent for an error message, cut to 100
// octets.
func quote(s string) string {
	if len(s) > 100 {
		return fmt.Sprintf("%q…", s[:100])
	}
	return fmt.Sprintf("%q", s)
}

// thousands writes n with commas: 300,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
