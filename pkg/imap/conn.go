package imap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailport/mailport/pkg/mail"
)

// Client is one IMAP connection. It implements mail.Inbound. Its methods
// are not safe for concurrent use.
type Client struct {
	ep       mail.Endpoint
	c        *imapclient.Client
	conn     *wireConn
	red      *transcript // nil when no trace was asked for
	greeting string

	// watchdog closes the connection when the server stays silent for a
	// whole step while we wait for it.
	watchdog *time.Timer
	timedOut atomic.Bool

	dead     atomic.Bool // the connection was closed under us (timeout, cancel, auth failure)
	closed   bool
	delim    rune // hierarchy delimiter; 0 with delimKnown means a flat namespace
	hasDelim bool
	selected string // the server-side name of the selected mailbox
}

var _ mail.Inbound = (*Client)(nil)

// Dial connects to ep and reads the server's greeting. With encryption
// starttls it upgrades the connection before returning, so capabilities and
// authentication only ever travel over TLS. A nil error means the server
// greeted us with OK or PREAUTH.
func Dial(ctx context.Context, ep mail.Endpoint) (*Client, error) {
	raw, err := mail.Dial(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("imap: %w", err)
	}
	return attach(ctx, raw, ep)
}

// attach runs the handshake on raw, a connection to ep as mail.Dial
// returns it, and starts imapclient on it. It closes raw on failure.
func attach(ctx context.Context, raw net.Conn, ep mail.Endpoint) (*Client, error) {
	var red *transcript
	if ep.Trace != nil {
		red = newTranscript(ep.Trace)
	}

	conn, greeting, replay, err := handshake(ctx, raw, ep, red)
	if err != nil {
		raw.Close()
		if red != nil {
			red.Flush()
		}
		return nil, err
	}

	wc := &wireConn{Conn: conn, pre: replay, step: ep.StepTimeout(), m: newMeter(ep.Addr())}
	if red != nil {
		wc.trace = red
	}
	c := &Client{
		ep:       ep,
		c:        imapclient.New(wc, &imapclient.Options{}),
		conn:     wc,
		red:      red,
		greeting: greeting,
	}
	c.watchdog = time.AfterFunc(time.Hour, c.expire)
	c.watchdog.Stop()
	if err := c.limitedStep(ctx, "read greeting", "the greeting", maxLine, maxStep, c.c.WaitGreeting); err != nil {
		c.abort()
		return nil, err
	}
	return c, nil
}

// handshake reads the greeting on raw and, for starttls, runs STARTTLS and
// the TLS handshake. It returns the connection imapclient should use, the
// greeting line, and the bytes imapclient must read first: the greeting
// (without its pre-TLS CAPABILITY code after STARTTLS, so imapclient asks
// again over TLS) and anything already buffered.
func handshake(ctx context.Context, raw net.Conn, ep mail.Endpoint, red *transcript) (net.Conn, string, []byte, error) {
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	started := false // the server sent part of a greeting
	fail := func(err error) (net.Conn, string, []byte, error) {
		if ctx.Err() != nil {
			return nil, "", nil, fmt.Errorf("imap: connect to %s: %w", ep.Addr(), ctx.Err())
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && started {
			return nil, "", nil, fmt.Errorf("imap: %s did not finish its greeting within %s: %w", ep.Addr(), ep.StepTimeout(), os.ErrDeadlineExceeded)
		}
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, "", nil, fmt.Errorf("imap: %s sent no greeting within %s (a port that expects TLS from the first byte stays silent like this; there, use encryption ssl): %w", ep.Addr(), ep.StepTimeout(), os.ErrDeadlineExceeded)
		}
		return nil, "", nil, err
	}
	// One deadline for the whole handshake: a server that trickles or
	// floods lines cannot extend it.
	raw.SetDeadline(time.Now().Add(ep.StepTimeout()))

	br := bufio.NewReaderSize(raw, maxGreeting)
	line, err := readLine(br, red)
	started = len(line) > 0
	if errors.Is(err, bufio.ErrBufferFull) {
		return fail(fmt.Errorf("imap: %w", &ServerError{Addr: ep.Addr(), Kind: FaultLineTooLong, Did: fmt.Sprintf("sent a greeting line longer than %s", kib(maxGreeting))}))
	}
	if err != nil {
		return fail(fmt.Errorf("imap: read greeting from %s: %w", ep.Addr(), err))
	}
	greeting := strings.TrimRight(line, "\r\n")
	status, text := splitStatus(greeting)
	switch {
	case strings.HasPrefix(greeting, "* ") && (status == "OK" || status == "PREAUTH"):
	case strings.HasPrefix(greeting, "* ") && status == "BYE":
		return fail(fmt.Errorf("imap: %s refused the connection: %s", ep.Addr(), truncate(text, maxWords)))
	default:
		return fail(fmt.Errorf("imap: %w", notIMAP(ep.Addr(), greeting)))
	}

	if ep.Encryption != mail.StartTLS {
		replay := append([]byte(line), peekAll(br)...)
		raw.SetDeadline(time.Time{})
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return raw, greeting, replay, nil
	}

	if status == "PREAUTH" {
		// RFC 9051 7.1.4: a pre-authenticated connection cannot be upgraded.
		return fail(fmt.Errorf("imap: %s sent PREAUTH on a connection that must be upgraded with STARTTLS", ep.Addr()))
	}
	if br.Buffered() > 0 {
		return fail(fmt.Errorf("imap: %s sent data before STARTTLS; refusing to continue", ep.Addr()))
	}
	const cmd = "S0 STARTTLS\r\n"
	if red != nil {
		red.client.Write([]byte(cmd))
	}
	if _, err := io.WriteString(raw, cmd); err != nil {
		return fail(fmt.Errorf("imap: send STARTTLS to %s: %w", ep.Addr(), err))
	}
	for {
		line, err := readLine(br, red)
		if errors.Is(err, bufio.ErrBufferFull) {
			return fail(fmt.Errorf("imap: %w", &ServerError{Addr: ep.Addr(), Kind: FaultLineTooLong, Did: fmt.Sprintf("sent a line longer than %s in reply to STARTTLS", kib(maxGreeting))}))
		}
		if err != nil {
			return fail(fmt.Errorf("imap: read STARTTLS response from %s: %w", ep.Addr(), err))
		}
		if !strings.HasPrefix(line, "S0 ") {
			continue // untagged data, e.g. a CAPABILITY response
		}
		st, txt := splitStatus(strings.TrimRight(line, "\r\n"))
		if st != "OK" {
			return fail(fmt.Errorf("imap: %s refused STARTTLS: %s %s", ep.Addr(), truncate(st, 20), truncate(txt, maxWords)))
		}
		break
	}
	if br.Buffered() > 0 {
		// Anything sent before the handshake could have been injected by a
		// man in the middle (CVE-2011-0411 class).
		return fail(fmt.Errorf("imap: %s sent data after accepting STARTTLS; refusing to continue", ep.Addr()))
	}
	raw.SetDeadline(time.Time{})
	tc, err := mail.UpgradeTLS(ctx, raw, ep)
	if err != nil {
		return fail(fmt.Errorf("imap: %w", err))
	}
	return tc, greeting, []byte("* OK " + stripCode(text) + "\r\n"), nil
}

// notIMAP names what a greeting that is not IMAP's looks like.
func notIMAP(addr, greeting string) *ServerError {
	kind := "which is not an IMAP greeting: check the host and port"
	switch g := strings.ToUpper(greeting); {
	case strings.HasPrefix(g, "+OK"):
		kind = "which is a POP3 server's greeting: check the port (IMAP is 993 with ssl, 143 otherwise)"
	case len(g) >= 4 && g[:3] == "220" && (g[3] == ' ' || g[3] == '-'):
		kind = "which is an SMTP server's greeting: check the port (IMAP is 993 with ssl, 143 otherwise)"
	case strings.HasPrefix(g, "HTTP/"):
		kind = "which is a web server's answer: check the port (IMAP is 993 with ssl, 143 otherwise)"
	case strings.HasPrefix(g, "* "):
		kind = "which is not an IMAP greeting (it must be * OK, * PREAUTH or * BYE)"
	}
	return &ServerError{Addr: addr, Kind: FaultNotIMAP, Did: fmt.Sprintf("greeted with %q, %s", truncate(greeting, 80), kind)}
}

// readLine reads one LF-terminated line and traces it. A line longer than
// br's buffer is bufio.ErrBufferFull. On an error it returns what it read.
func readLine(br *bufio.Reader, red *transcript) (string, error) {
	b, err := br.ReadSlice('\n')
	if red != nil {
		red.server.Write(b)
	}
	return string(b), err
}

func peekAll(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return bytes.Clone(b)
}

// splitStatus splits "* OK [CODE] text" or "TAG OK text" into "OK" and the rest.
func splitStatus(line string) (status, text string) {
	_, rest, _ := strings.Cut(line, " ")
	status, text, _ = strings.Cut(rest, " ")
	return strings.ToUpper(status), text
}

// stripCode drops a leading "[...] " response code.
func stripCode(text string) string {
	if strings.HasPrefix(text, "[") {
		if i := strings.Index(text, "]"); i >= 0 {
			return strings.TrimSpace(text[i+1:])
		}
	}
	return text
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Greeting is the server's greeting line as sent, e.g.
// "* OK [CAPABILITY IMAP4rev1 ...] Dovecot ready.".
func (c *Client) Greeting() string { return c.greeting }

// step runs f, a wait on the server, as one network step: the context's
// cancellation and the step timeout both close the connection, which makes
// f return. The timeout is a deadline for the whole step, armed once: a
// server that trickles or floods responses cannot extend it, so a step
// ends within one step timeout whatever the server does. What the server
// sends meanwhile is held to maxLine per line and maxStep in all.
func (c *Client) step(ctx context.Context, what string, f func() error) error {
	return c.limitedStep(ctx, what, "the reply to "+what, maxLine, maxStep, f)
}

// limitedStep is step with the reply named for errors and its own limits.
func (c *Client) limitedStep(ctx context.Context, what, reply string, line, budget int64, f func() error) error {
	end, err := c.begin(ctx, what)
	if err != nil {
		return err
	}
	defer end()
	c.conn.m.reset(reply, line, budget)
	if err := c.wait(f); err != nil {
		return c.wrap(ctx, what, err)
	}
	return nil
}

// begin ties the connection to ctx for a longer operation made of several
// waits; end must be called when it is over.
func (c *Client) begin(ctx context.Context, what string) (end func(), err error) {
	if c.closed {
		return nil, fmt.Errorf("imap %s: the connection is closed", what)
	}
	if f := c.conn.m.err(); f != nil {
		// The server went past a limit between two commands.
		c.abort()
		return nil, fmt.Errorf("imap %s: %w", what, f)
	}
	if c.dead.Load() {
		return nil, fmt.Errorf("imap %s: the connection to %s was closed after an earlier error", what, c.ep.Addr())
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("imap %s: %w", what, err)
	}
	stop := context.AfterFunc(ctx, c.abort)
	return func() {
		stop()
		if ctx.Err() != nil {
			// Cancelled: AfterFunc may not have run yet (or still be
			// running in its goroutine). Close here too, so the next
			// call finds the connection closed rather than half-used.
			c.abort()
		}
		// What comes before the next command is held to the usual limits.
		c.conn.m.reset("data sent between commands", maxLine, maxStep)
	}, nil
}

// wait runs f with the watchdog armed.
func (c *Client) wait(f func() error) error {
	c.watchdog.Reset(c.ep.StepTimeout())
	err := f()
	c.watchdog.Stop()
	return err
}

// wrap turns an error seen during what into one sentence that says whether
// the server failed, went silent, or the caller gave up.
func (c *Client) wrap(ctx context.Context, what string, err error) error {
	if f := c.conn.m.err(); f != nil {
		c.abort()
		return fmt.Errorf("imap %s: %w", what, f)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("imap %s on %s: %w", what, c.ep.Addr(), ctx.Err())
	case c.timedOut.Load() && c.conn.m.received() > 0:
		// A server that keeps sending (a trickle, a flood the decoder
		// cannot keep up with) is stopped by the same deadline.
		return fmt.Errorf("imap %s: %s did not finish its reply within %s (it sent %s meanwhile): %w", what, c.ep.Addr(), c.ep.StepTimeout(), humanBytes(c.conn.m.received()), os.ErrDeadlineExceeded)
	case c.timedOut.Load():
		return fmt.Errorf("imap %s: %s did not answer within %s: %w", what, c.ep.Addr(), c.ep.StepTimeout(), os.ErrDeadlineExceeded)
	case c.dead.Load() && !isIMAPError(err):
		return fmt.Errorf("imap %s: the connection to %s was lost: %w", what, c.ep.Addr(), err)
	}
	return fmt.Errorf("imap %s on %s: %w", what, c.ep.Addr(), err)
}

func (c *Client) expire() {
	c.timedOut.Store(true)
	c.abort()
}

// abort closes the network connection without a word to the server. It is
// safe from any goroutine; imapclient notices and fails what is pending.
func (c *Client) abort() {
	c.dead.Store(true)
	c.conn.Conn.Close()
}

// Close logs out and closes the connection. It is safe to call more than
// once, and on a nil or never-connected Client, where it does nothing.
func (c *Client) Close() error {
	if c == nil || c.closed || c.c == nil || c.conn == nil {
		return nil
	}
	defer func() {
		c.closed = true
		if c.watchdog != nil {
			c.watchdog.Stop()
		}
		if c.red != nil {
			c.red.Flush()
		}
	}()
	if c.dead.Load() || c.conn.m.err() != nil {
		c.conn.Conn.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.ep.StepTimeout())
	defer cancel()
	err := c.step(ctx, "LOGOUT", func() error { return c.c.Logout().Wait() })
	// The server closes after LOGOUT; what imapclient reports about that is noise.
	c.abort()
	c.c.Close()
	return err
}

// wireConn sits between imapclient and the network. It replays bytes we
// read ourselves during the handshake, writes the transcript, holds what
// the server sends to the meter's limits, ignores imapclient's fixed read
// deadlines (the Client times its own waits), and fixes imapclient's empty
// SASL response.
type wireConn struct {
	net.Conn
	step  time.Duration
	trace *transcript
	m     *meter

	pre []byte // only the decoder goroutine reads

	// emptySASL is set during AUTHENTICATE: an empty response must be an
	// empty line, not imapclient's "=".
	emptySASL atomic.Bool
}

func (w *wireConn) Read(p []byte) (int, error) {
	if len(w.pre) > 0 {
		n := copy(p, w.pre)
		w.pre = w.pre[n:]
		if err := w.m.count(p[:n]); err != nil {
			return 0, err
		}
		return n, nil
	}
	if f := w.m.err(); f != nil {
		return 0, f
	}
	n, err := w.Conn.Read(p)
	if n > 0 && w.trace != nil {
		w.trace.server.Write(p[:n])
	}
	if n > 0 {
		if lerr := w.m.count(p[:n]); lerr != nil {
			// Nothing past a limit reaches the decoder.
			return 0, lerr
		}
	}
	return n, err
}

func (w *wireConn) Write(p []byte) (int, error) {
	if w.emptySASL.Load() && string(p) == "=\r\n" {
		if w.trace != nil {
			w.trace.client.Write([]byte("\r\n"))
		}
		if _, err := w.Conn.Write([]byte("\r\n")); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.trace != nil {
		w.trace.client.Write(p)
	}
	return w.Conn.Write(p)
}

func (w *wireConn) SetReadDeadline(time.Time) error { return nil }

func (w *wireConn) SetDeadline(t time.Time) error { return w.SetWriteDeadline(t) }

// SetWriteDeadline keeps imapclient's "a deadline or none" but uses our step.
func (w *wireConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		return w.Conn.SetWriteDeadline(t)
	}
	return w.Conn.SetWriteDeadline(time.Now().Add(w.step))
}
