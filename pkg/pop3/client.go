package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
)

// pipelineWindow is how many commands may be outstanding when the server
// offers PIPELINING. The commands are a few bytes each, so the window never
// fills the socket buffers and cannot deadlock against a server that stops
// reading while it writes a large message.
const pipelineWindow = 64

// Error is a server's -ERR reply to a command, kept verbatim.
type Error struct {
	Command string // the command without secret arguments, e.g. "RETR 3" or "PASS"
	Text    string // the whole reply line, e.g. "-ERR [IN-USE] Mailbox is locked"
}

func (e *Error) Error() string { return fmt.Sprintf("pop3: %s refused: %s", e.Command, e.Text) }

// Client is a connection to a POP3 server. It implements mail.Inbound. It is
// not safe for concurrent use.
type Client struct {
	ep     mail.Endpoint
	dc     *deadlineConn // the connection as dialled, with deadlines
	conn   net.Conn      // dc, or a TLS connection on top of it after STLS
	r      *bufio.Reader
	w      *bufio.Writer
	ctrace *mail.Redactor // lines we send
	strace *mail.Redactor // lines the server sends
	trace  bool

	greeting string
	caps     []string
	capsOK   bool // caps reflect the current session state

	err     error // the first I/O or framing error; the connection is unusable after it
	authed  bool
	closed  bool
	nums    map[string]int // UIDL → message number, from the last listing
	sizes   map[int]int64  // message number → size
	deletes int            // messages marked with DELE in this session
	count   int            // messages by the last STAT, -1 before it
	// warnings are what the last listing got wrong without losing mail.
	warnings []string
}

var _ mail.Inbound = (*Client)(nil)

// Dial connects to ep, reads the greeting and, for encryption starttls,
// upgrades the connection with STLS. It fails when the server does not
// offer STLS rather than continue in the clear. Every step is bounded by
// ep.StepTimeout() and ctx.
func Dial(ctx context.Context, ep mail.Endpoint) (*Client, error) {
	conn, err := mail.Dial(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("pop3: %w", err)
	}
	c := &Client{
		ep:     ep,
		count:  -1,
		dc:     &deadlineConn{Conn: conn, timeout: ep.StepTimeout()},
		ctrace: mail.NewRedactor(ep.Trace, "pop3 C: "),
		strace: mail.NewRedactor(ep.Trace, "pop3 S: "),
		trace:  ep.Trace != nil,
	}
	c.setConn(c.dc)
	err = c.op(ctx, "greeting", func() error {
		c.dc.awaitReply()
		line, err := c.readLine("greeting")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+OK") {
			return c.serverError("greeting", ErrNotPOP3, "%s", notPOP3(ep.Addr(), line))
		}
		c.greeting = line
		return nil
	})
	if err == nil && ep.Encryption == mail.StartTLS {
		err = c.startTLS(ctx)
	}
	if err != nil {
		c.conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.r = bufio.NewReaderSize(conn, 64<<10)
	c.w = bufio.NewWriterSize(conn, 4<<10)
}

// Greeting is the server's greeting line, e.g. "+OK Dovecot ready.".
func (c *Client) Greeting() string { return c.greeting }

// TLSState returns the TLS state of the connection, and false when it is
// not encrypted.
func (c *Client) TLSState() (tls.ConnectionState, bool) {
	for _, conn := range []net.Conn{c.conn, c.dc.Conn} {
		if tc, ok := conn.(*tls.Conn); ok {
			return tc.ConnectionState(), true
		}
	}
	return tls.ConnectionState{}, false
}

// op runs one protocol exchange with ctx able to interrupt it. After an I/O
// error the connection is out of step with the server, so every later
// operation fails with that error.
func (c *Client) op(ctx context.Context, what string, f func() error) error {
	if c.closed {
		return errors.New("pop3: the connection is closed")
	}
	if c.err != nil {
		return fmt.Errorf("pop3: %s: the connection is unusable after an earlier error: %w", what, c.err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pop3: %s: %w", what, err)
	}
	release := c.dc.bind(ctx)
	err := f()
	release(c.err == nil)
	return err
}

// fail records an error that leaves the connection unusable and returns it.
func (c *Client) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return err
}

// ioError turns a network error into one sentence and marks the connection
// broken.
func (c *Client) ioError(what string, err error) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("pop3: %s: %w", what, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		overall, got, silent := c.dc.replyState()
		slow, winGot := c.dc.tooSlow()
		switch {
		case slow:
			err = &ServerError{Step: what, Kind: ErrTooSlow, Text: fmt.Sprintf(
				"%s sent the message too slowly: %s in %s of waiting, when mailport expects at least %s in that time; the message stays on the server",
				c.ep.Addr(), plural.Of(winGot, "octet", "octets"), c.ep.StepTimeout(), plural.Of(minProgress, "octet", "octets"))}
		case got > 0 && silent >= c.ep.StepTimeout()/2:
			// Part of a reply, then silence: a stall, not a flood.
			err = fmt.Errorf("pop3: %s: %s sent %s of its reply and then nothing for %s: %w", what, c.ep.Addr(), plural.Of(got, "octet", "octets"), silent.Round(100*time.Millisecond), err)
		case overall && got > 0:
			err = &ServerError{Step: what, Kind: ErrEndlessReply, Text: fmt.Sprintf(
				"%s kept sending for %s (%s) without finishing its reply", c.ep.Addr(), c.ep.StepTimeout(), plural.Of(got, "octet", "octets"))}
		default:
			err = fmt.Errorf("pop3: %s: no answer from %s within %s: %w", what, c.ep.Addr(), c.ep.StepTimeout(), err)
		}
	default:
		err = fmt.Errorf("pop3: %s: connection to %s failed: %w", what, c.ep.Addr(), err)
	}
	return c.fail(err)
}

func (c *Client) secret(values ...string) {
	c.ctrace.Secret(values...)
	c.strace.Secret(values...)
}

// send buffers one command; flush sends what is buffered.
func (c *Client) send(line string) error {
	if c.trace {
		c.ctrace.Write([]byte(line + "\n"))
	}
	c.w.WriteString(line)
	if _, err := c.w.WriteString("\r\n"); err != nil {
		return c.ioError("send "+verb(line), err)
	}
	return nil
}

func (c *Client) flush() error {
	if err := c.w.Flush(); err != nil {
		return c.ioError("send", err)
	}
	return nil
}

// verb is a command's name, for error messages that must not carry
// arguments such as a password.
func verb(line string) string {
	if i := strings.IndexByte(line, ' '); i > 0 {
		return line[:i]
	}
	return line
}

// readLine reads one line without its line ending.
func (c *Client) readLine(what string) (string, error) {
	var buf []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		if err == nil || err == bufio.ErrBufferFull {
			buf = append(buf, chunk...)
			if len(buf) > maxLine {
				return "", c.serverError(what, ErrLineTooLong, "the POP3 server %s sent a line longer than 64 KiB", c.ep.Addr())
			}
			if err == nil {
				break
			}
			continue
		}
		return "", c.ioError(what, err)
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
	if c.trace {
		c.strace.Write([]byte(line + "\n"))
	}
	return line, nil
}

// readStatus reads a reply to cmd: the text after "+OK", or an *Error for
// "-ERR". Anything else means the client and server are out of step.
// It starts the reply deadline.
func (c *Client) readStatus(cmd string) (string, error) {
	c.dc.awaitReply()
	line, err := c.readLine(cmd)
	if err != nil {
		return "", err
	}
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return strings.TrimPrefix(strings.TrimPrefix(line, "+OK"), " "), nil
	case strings.HasPrefix(line, "-ERR"):
		return "", &Error{Command: cmd, Text: line}
	}
	return "", c.serverError(cmd, ErrBadReply, "%s sent %s where a POP3 server answers +OK or -ERR", c.ep.Addr(), quote(line))
}

// readMulti reads the lines of a multi-line reply up to the terminating
// ".", with dot-stuffing undone. A reply of more than limit lines is an
// error; what names the lines in it ("UIDL listing", "CAPA reply").
func (c *Client) readMulti(cmd string, limit int, what string, fn func(line string) error) error {
	for n := 0; ; n++ {
		line, err := c.readLine(cmd)
		if err != nil {
			return err
		}
		if line == "." {
			return nil
		}
		if n == limit {
			unit := "lines"
			if strings.HasSuffix(what, "listing") {
				unit = "entries"
			}
			return c.serverError(cmd, ErrListingTooLong, "the %s of %s passed %s %s", what, c.ep.Addr(), thousands(limit), unit)
		}
		line = strings.TrimPrefix(line, ".") // undo dot-stuffing
		if err := fn(line); err != nil {
			return err
		}
	}
}

// simple sends one command and reads its single-line reply.
func (c *Client) simple(cmd string) (string, error) {
	if err := c.send(cmd); err != nil {
		return "", err
	}
	if err := c.flush(); err != nil {
		return "", err
	}
	return c.readStatus(verb(cmd))
}

// Capabilities returns the server's CAPA list (see the package
// documentation for the form). A server without CAPA yields an empty list.
// The list is asked again after STLS and after authentication, when it may
// change.
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	if c.capsOK {
		return append([]string(nil), c.caps...), nil
	}
	err := c.op(ctx, "CAPA", func() error {
		if _, err := c.simple("CAPA"); err != nil {
			var perr *Error
			if errors.As(err, &perr) {
				c.caps, c.capsOK = nil, true // RFC 1939 servers have no CAPA
				return nil
			}
			return err
		}
		var caps []string
		err := c.readMulti("CAPA", maxCapa, "CAPA reply", func(line string) error {
			f := strings.Fields(strings.ToUpper(line))
			switch {
			case len(f) == 0:
			case f[0] == "SASL" && len(f) > 1:
				for _, m := range f[1:] {
					caps = append(caps, "SASL "+m)
				}
			default:
				caps = append(caps, strings.Join(f, " "))
			}
			return nil
		})
		if err != nil {
			return err
		}
		c.caps, c.capsOK = caps, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append([]string(nil), c.caps...), nil
}

// has reports whether the last CAPA listed name as a whole entry or as the
// keyword of one ("SASL XOAUTH2", or "EXPIRE" for "EXPIRE 0").
func (c *Client) has(name string) bool {
	for _, cp := range c.caps {
		if cp == name || strings.HasPrefix(cp, name+" ") {
			return true
		}
	}
	return false
}

// saslMechanisms lists the mechanisms of the last CAPA.
func (c *Client) saslMechanisms() []string {
	var ms []string
	for _, cp := range c.caps {
		if m, ok := strings.CutPrefix(cp, "SASL "); ok {
			ms = append(ms, m)
		}
	}
	return ms
}

// pipelining reports whether commands may be sent ahead of replies.
func (c *Client) pipelining(ctx context.Context) bool {
	if !c.capsOK {
		if _, err := c.Capabilities(ctx); err != nil {
			return false
		}
	}
	return c.has("PIPELINING")
}

func (c *Client) startTLS(ctx context.Context) error {
	if _, err := c.Capabilities(ctx); err != nil {
		return err
	}
	if !c.has("STLS") {
		return fmt.Errorf("pop3: %s does not offer STLS, so encryption starttls is impossible: use encryption ssl (usually port 995)", c.ep.Addr())
	}
	return c.op(ctx, "STLS", func() error {
		if _, err := c.simple("STLS"); err != nil {
			return err
		}
		// Bytes already waiting would have been injected before the TLS
		// handshake by someone on the path.
		if c.r.Buffered() > 0 {
			return c.fail(fmt.Errorf("pop3: %s sent data after accepting STLS, before TLS started; refusing to continue", c.ep.Addr()))
		}
		c.dc.clearReply() // the handshake has its own timeout
		tc, err := mail.UpgradeTLS(ctx, c.dc, c.ep)
		if err != nil {
			return c.fail(fmt.Errorf("pop3: %w", err))
		}
		c.setConn(tc)
		c.capsOK = false
		return nil
	})
}

// Stat returns the number of messages and their total size in octets.
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	err = c.op(ctx, "STAT", func() error {
		text, err := c.simple("STAT")
		if err != nil {
			return err
		}
		f := strings.Fields(text)
		if len(f) >= 2 {
			count, err = strconv.Atoi(f[0])
			if err == nil {
				size, err = strconv.ParseInt(f[1], 10, 64)
			}
		}
		if len(f) < 2 || err != nil || count < 0 {
			return fmt.Errorf("pop3: STAT: cannot read the server's reply %q", text)
		}
		c.count = count
		return nil
	})
	return count, size, err
}

// Noop asks the server to do nothing, which keeps the session alive.
func (c *Client) Noop(ctx context.Context) error {
	return c.op(ctx, "NOOP", func() error {
		_, err := c.simple("NOOP")
		return err
	})
}

// Reset (RSET) unmarks every message marked for deletion in this session.
func (c *Client) Reset(ctx context.Context) error {
	return c.op(ctx, "RSET", func() error {
		if _, err := c.simple("RSET"); err != nil {
			return err
		}
		c.deletes = 0
		c.nums, c.sizes = nil, nil // deleted messages are back; list again
		c.count = -1
		return nil
	})
}

// Close sends QUIT, which makes the server remove the messages marked for
// deletion, and closes the connection. It reports an error when deletions
// were marked but could not be committed. On a nil or never-connected
// Client it does nothing.
func (c *Client) Close() error {
	if c == nil || c.closed || c.conn == nil {
		return nil
	}
	var err error
	if c.err == nil {
		err = c.op(context.Background(), "QUIT", func() error {
			_, err := c.simple("QUIT")
			return err
		})
		var perr *Error
		switch {
		case err == nil || c.deletes == 0:
			err = nil // nothing depended on QUIT; the connection is closed below anyway
		case errors.As(err, &perr):
			err = fmt.Errorf("pop3: the server did not remove the %s marked for deletion: %s", plural.Of(c.deletes, "message", "messages"), perr.Text)
		default:
			err = fmt.Errorf("pop3: the %s marked for deletion %s on the server because QUIT failed: %w", plural.Of(c.deletes, "message", "messages"), plural.Word(c.deletes, "stays", "stay"), err)
		}
	} else if c.deletes > 0 {
		err = fmt.Errorf("pop3: the %s marked for deletion %s on the server because the connection failed before QUIT: %w", plural.Of(c.deletes, "message", "messages"), plural.Word(c.deletes, "stays", "stay"), c.err)
	}
	c.closed = true
	c.conn.Close()
	if c.trace {
		c.ctrace.Flush()
		c.strace.Flush()
	}
	return err
}
