// Package smtp is mailport's SMTP submission client: it implements
// mail.Outbound for `mailport send` and exposes the single protocol steps
// (greeting, EHLO capabilities, AUTH, a MAIL/RCPT probe) that `mailport
// test` checks one by one.
//
// It speaks SMTP itself on net/textproto rather than through go-mail
// v0.8.1 (whose smtp package is a net/smtp fork; its AUTH does return the
// server's 535 text after an XOAUTH2 challenge). The reasons, measured in
// the README's "Why SMTP and MIME are not on go-mail": the diagnosis needs
// the server's greeting and its full EHLO list, which smtp.NewClient
// discards and the EHLO parser keeps in a private map (only
// Extension(name) and HelloResponse's first line are exposed); go-mail
// sets one absolute deadline, WithTimeout from the start of Send, for a
// whole message, so a large upload to a server that reads steadily is cut
// off; and its message writer base64-encodes each attachment into memory
// (a 200 MB attachment peaks at about 780 MiB RSS). Messages here are
// streamed through textproto's dot-writer, so a message of any size is
// sent with a few kilobytes of buffer and its bytes change only where SMTP
// requires it (dot-stuffing and CRLF line ends).
//
// SendMessage is Send with what the caller knows and asks: the message's
// size and 8-bitness (checked against SIZE and 8BITMIME before MAIL FROM,
// declared with SIZE= and BODY=8BITMIME), delivery status notifications
// (NOTIFY=, RET=; the server must offer DSN) and whether to send to the
// accepted recipients when some are refused. Every recipient is tried and
// every refusal kept with the server's words (RecipientsRefusedError).
//
// Every step (a command and its whole reply, the greeting, the reply to a
// message) must finish within the endpoint's step timeout: the deadline is
// set when the step starts and what the server sends does not extend it,
// so a server that floods or trickles a reply forever is cut off in time.
// Only the upload of a message extends it, chunk by chunk, because that is
// the client's own progress. A reply line is at most 64 KiB and a reply at
// most 1,000 lines and 1 MiB (ErrLineTooLong, ErrReplyTooLong); a server
// that keeps sending past the deadline is ErrEndlessReply, and a greeting
// that is not an SMTP reply (an IMAP, POP3 or web server on the port) is
// ErrNotSMTP. The transcript goes to Endpoint.Trace with every secret
// redacted.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/mailport/mailport/internal/plural"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// HeloNameProperty is the account property that sets the name the client
// gives in EHLO (default: the machine's host name, else "localhost").
const HeloNameProperty = "smtp.helo_name"

// Client is one SMTP session. It is not safe for concurrent use.
type Client struct {
	ep   mail.Endpoint
	raw  net.Conn // the TCP connection (or the TLS one for ssl)
	conn *traceConn
	text *textproto.Conn

	greeting string
	ext      map[string]string // EHLO keywords (upper-cased) → parameters
	extOrder []string
	isTLS    bool
	authed   bool

	heloName string
	trace    *tracer

	// broken is set when the session can no longer be used (a timeout,
	// a cancelled context, a message cut short); later calls return it.
	broken   error
	timedOut bool // a step ran out of time
	closed   bool

	// mu guards the deadline so a cancelled context cannot be overridden
	// by a step that extends it.
	mu        sync.Mutex
	cancelled bool
}

var _ mail.Outbound = (*Client)(nil)

// ErrMechanismNotOffered is wrapped by Authenticate when the server offers
// no mechanism fitting the credentials.
var ErrMechanismNotOffered = errors.New("no suitable authentication mechanism offered")

// ReplyError is a server's refusal of a command. Text keeps the server's
// words verbatim (multi-line replies joined with a space), because the
// diagnosis matches on them.
type ReplyError struct {
	Command string // e.g. "RCPT TO:<bob@example.com>", "greeting"
	Code    int
	Text    string // e.g. "5.1.1 <bob@example.com>: Recipient address rejected"
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("the SMTP server refused %s: %d %s", e.Command, e.Code, e.Text)
}

// Temporary reports a 4xx reply: trying again later may work.
func (e *ReplyError) Temporary() bool { return e.Code/100 == 4 }

// Dial connects to the endpoint, reads the greeting and sends EHLO. With
// encryption ssl the connection is TLS from the start; with starttls the
// server must offer STARTTLS, the session is upgraded and EHLO is sent
// again; with none the session stays in plain text.
func Dial(ctx context.Context, ep mail.Endpoint) (*Client, error) {
	switch ep.Encryption {
	case mail.SSL, mail.StartTLS, mail.None:
	default:
		return nil, fmt.Errorf("unknown encryption %q for %s: use ssl, starttls or none", ep.Encryption, ep.Addr())
	}
	raw, err := mail.Dial(ctx, ep)
	if err != nil {
		var rh tls.RecordHeaderError
		if ep.Encryption == mail.SSL && errors.As(err, &rh) {
			return nil, fmt.Errorf("%w: the server answered in plain text, so use encryption starttls (port 587) or none", err)
		}
		return nil, err
	}
	c := &Client{ep: ep, raw: raw, heloName: heloName(ep), trace: newTracer(ep.Trace)}
	_, c.isTLS = raw.(*tls.Conn)
	c.setConn(raw)
	if err := c.start(ctx); err != nil {
		c.trace.flush()
		raw.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) start(ctx context.Context) error {
	err := c.step(ctx, "read the greeting", func() error {
		code, msg, err := readReply(c.text.R)
		var re *replyError
		if errors.As(err, &re) && re.kind == ErrBadReply {
			return notSMTP(re.line)
		}
		if err != nil {
			return err
		}
		c.greeting = fmt.Sprintf("%d %s", code, oneLine(msg))
		if code != 220 {
			return &ReplyError{Command: "the connection", Code: code, Text: oneLine(msg)}
		}
		return nil
	})
	if err != nil && c.timedOut && c.ep.Encryption != mail.SSL {
		// A TLS server waits for our handshake and never greets.
		return fmt.Errorf("%w; if the port expects TLS from the start (like 465), use encryption ssl", err)
	}
	if err != nil {
		return err
	}
	if err := c.ehlo(ctx); err != nil {
		return err
	}
	if c.ep.Encryption != mail.StartTLS {
		return nil
	}
	if _, ok := c.ext["STARTTLS"]; !ok {
		return fmt.Errorf("%s does not offer STARTTLS: use encryption ssl (port 465) if it speaks TLS from the start, or none", c.ep.Addr())
	}
	if _, err := c.cmd(ctx, "STARTTLS", 220, "STARTTLS"); err != nil {
		return err
	}
	tc, err := mail.UpgradeTLS(ctx, c.raw, c.ep)
	if err != nil {
		return err
	}
	c.raw, c.isTLS = tc, true
	c.setConn(tc)
	// RFC 3207: forget what was learnt in plain text and ask again.
	return c.ehlo(ctx)
}

// setConn (re)builds the text layer over conn, which is the TCP or the
// TLS connection; the tracer sits above TLS so it records the protocol.
func (c *Client) setConn(conn net.Conn) {
	c.conn = &traceConn{Conn: conn, t: c.trace}
	c.text = textproto.NewConn(c.conn)
}

func (c *Client) ehlo(ctx context.Context) error {
	c.ext, c.extOrder = map[string]string{}, nil
	code, msg, err := c.cmdAny(ctx, "EHLO", "EHLO %s", c.heloName)
	if err != nil {
		return err
	}
	if code == 250 {
		lines := strings.Split(msg, "\n")
		for _, l := range lines[1:] {
			kw, param, _ := strings.Cut(strings.TrimSpace(l), " ")
			kw = strings.ToUpper(kw)
			// Old servers write "AUTH=LOGIN PLAIN".
			if k, p, ok := strings.Cut(kw, "="); ok && k == "AUTH" {
				kw, param = k, strings.TrimSpace(p+" "+param)
			}
			if kw == "" {
				continue
			}
			if prev, seen := c.ext[kw]; seen {
				c.ext[kw] = strings.TrimSpace(prev + " " + param)
				continue
			}
			c.ext[kw] = param
			c.extOrder = append(c.extOrder, kw)
		}
		return nil
	}
	if code != 500 && code != 502 {
		return fmt.Errorf("EHLO at %s: %w", c.ep.Addr(), &ReplyError{Command: "EHLO", Code: code, Text: oneLine(msg)})
	}
	// An SMTP server from before ESMTP: no extensions, no AUTH.
	code, msg, err = c.cmdAny(ctx, "HELO", "HELO %s", c.heloName)
	if err != nil {
		return err
	}
	if code != 250 {
		return fmt.Errorf("HELO at %s: %w", c.ep.Addr(), &ReplyError{Command: "HELO", Code: code, Text: oneLine(msg)})
	}
	return nil
}

// Greeting is the server's 220 greeting, with its code, e.g.
// "220 smtp.office365.com Microsoft ESMTP MAIL Service ready".
func (c *Client) Greeting() string { return c.greeting }

// TLSConnectionState reports the TLS state when the session is encrypted.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.raw.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Capabilities lists the extensions of the latest EHLO reply, upper-cased
// and in the server's order: a keyword alone ("STARTTLS", "8BITMIME"), a
// keyword with its parameters ("SIZE=35882577"), and one "AUTH=MECH" per
// mechanism. It asks nothing new of the server; ctx is for the interface.
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	var caps []string
	for _, kw := range c.extOrder {
		param := c.ext[kw]
		switch {
		case kw == "AUTH":
			for _, m := range strings.Fields(param) {
				caps = append(caps, "AUTH="+strings.ToUpper(m))
			}
		case param == "":
			caps = append(caps, kw)
		default:
			caps = append(caps, kw+"="+strings.ToUpper(param))
		}
	}
	return caps, nil
}

// MaxMessageSize is the message size limit the server announced with
// SIZE, in octets; 0 when it announced none. Checking a known size
// against it saves uploading a message the server will refuse.
func (c *Client) MaxMessageSize() int64 {
	var n int64
	if _, err := fmt.Sscan(c.ext["SIZE"], &n); err != nil || n < 0 {
		return 0
	}
	return n
}

// Close ends the session with QUIT and closes the connection. It is safe
// to call more than once, and on a nil or never-connected Client, where it
// does nothing.
func (c *Client) Close() error {
	if c == nil || c.closed || c.raw == nil {
		return nil
	}
	if c.broken == nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.ep.StepTimeout())
		// A refused or unanswered QUIT changes nothing for the caller:
		// whatever was sent was already confirmed.
		_, _, _ = c.cmdAny(ctx, "QUIT", "QUIT")
		cancel()
	}
	c.closed = true
	c.trace.flush()
	if err := c.raw.Close(); err != nil && c.broken == nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close the connection to %s: %w", c.ep.Addr(), err)
	}
	return nil
}

func (c *Client) usable() error {
	if c.closed {
		return fmt.Errorf("the SMTP session with %s is closed", c.ep.Addr())
	}
	return c.broken
}

// step runs one network exchange under the step timeout and ctx. A
// timeout or a cancellation breaks the session: the reply may still come,
// and reading on would pair it with the wrong command.
func (c *Client) step(ctx context.Context, what string, fn func() error) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	c.mu.Lock()
	cancelled := c.cancelled
	c.mu.Unlock()
	if cancelled {
		// An earlier context ended while the connection was idle; its
		// deadline is still set.
		c.broken = fmt.Errorf("%s with %s: an earlier operation was cancelled", what, c.ep.Addr())
		return c.broken
	}
	c.extendDeadline()
	c.conn.got = 0
	stop := context.AfterFunc(ctx, c.cancel)
	err := fn()
	if !stop() {
		c.broken = fmt.Errorf("%s with %s: %w", what, c.ep.Addr(), ctx.Err())
		return c.broken
	}
	c.mu.Lock()
	c.raw.SetDeadline(time.Time{})
	c.mu.Unlock()
	if err == nil {
		return nil
	}
	var re *ReplyError
	if errors.As(err, &re) {
		return err
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && c.conn.got > 0 && time.Since(c.conn.last) >= c.ep.StepTimeout()/2:
		// Part of a reply, then silence: a stall, not a flood.
		c.broken = fmt.Errorf("%s: %s sent %s of its reply and then nothing for %s",
			what, c.ep.Addr(), plural.Of(c.conn.got, "octet", "octets"), time.Since(c.conn.last).Round(100*time.Millisecond))
	case errors.As(err, &ne) && ne.Timeout() && c.conn.got > 0:
		// The deadline of a step is not extended by what arrives: a
		// server that trickles or floods a reply forever ends here.
		c.broken = &replyError{kind: ErrEndlessReply, text: fmt.Sprintf("%s: %s kept sending for %s (%s) without finishing its reply",
			what, c.ep.Addr(), c.ep.StepTimeout(), plural.Of(c.conn.got, "octet", "octets"))}
	case errors.As(err, &ne) && ne.Timeout():
		c.timedOut = true
		c.broken = fmt.Errorf("%s: no answer from %s within %s", what, c.ep.Addr(), c.ep.StepTimeout())
	default:
		c.broken = fmt.Errorf("%s with %s: %w", what, c.ep.Addr(), err)
	}
	return c.broken
}

func (c *Client) cancel() {
	c.mu.Lock()
	c.cancelled = true
	c.raw.SetDeadline(time.Unix(1, 0))
	c.mu.Unlock()
}

// extendDeadline gives the connection another step timeout, unless the
// context was cancelled meanwhile.
func (c *Client) extendDeadline() {
	c.mu.Lock()
	if !c.cancelled {
		c.raw.SetDeadline(time.Now().Add(c.ep.StepTimeout()))
	}
	c.mu.Unlock()
}

// cmdAny sends a command and returns whatever reply comes.
func (c *Client) cmdAny(ctx context.Context, what, format string, args ...any) (int, string, error) {
	var code int
	var msg string
	err := c.step(ctx, what, func() error {
		id, err := c.text.Cmd(format, args...)
		if err != nil {
			return err
		}
		c.text.StartResponse(id)
		defer c.text.EndResponse(id)
		code, msg, err = readReply(c.text.R)
		return err
	})
	return code, msg, err
}

// cmd sends a command and turns any reply but want into a *ReplyError
// naming command.
func (c *Client) cmd(ctx context.Context, command string, want int, format string, args ...any) (string, error) {
	code, msg, err := c.cmdAny(ctx, command, format, args...)
	if err != nil {
		return "", err
	}
	if code != want {
		return msg, &ReplyError{Command: command, Code: code, Text: oneLine(msg)}
	}
	return msg, nil
}

func oneLine(msg string) string { return strings.ReplaceAll(msg, "\n", " ") }

var (
	hostnameRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	addrLiteralRE = regexp.MustCompile(`^\[[0-9A-Fa-f:.]+\]$|^\[IPv6:[0-9A-Fa-f:.]+\]$`)
)

func heloName(ep mail.Endpoint) string {
	// The name goes into a command line, so only a host name or an
	// address literal is taken.
	if n := strings.TrimSpace(ep.Properties[HeloNameProperty]); hostnameRE.MatchString(n) || addrLiteralRE.MatchString(n) {
		return n
	}
	if h, err := os.Hostname(); err == nil && hostnameRE.MatchString(h) {
		return h
	}
	return "localhost"
}
