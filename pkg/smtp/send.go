package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mailport/mailport/pkg/mail"
)

// Probe asks the server whether it would take mail from one address to
// another — MAIL FROM, RCPT TO, then RSET — without sending any. A refusal
// is a *ReplyError with the server's words (e.g. "550 5.7.60 SMTP; Client
// does not have permissions to send as this sender").
func (c *Client) Probe(ctx context.Context, from, to string) error {
	if err := checkAddr(from); err != nil {
		return err
	}
	if err := checkAddr(to); err != nil {
		return err
	}
	_, err := c.cmd(ctx, "MAIL FROM:<"+from+">", 250, "MAIL FROM:<%s>", from)
	if err == nil {
		_, err = c.cmd(ctx, "RCPT TO:<"+to+">", 250, "RCPT TO:<%s>", to)
		if re := (*ReplyError)(nil); errors.As(err, &re) && re.Code == 251 {
			err = nil // "user not local; will forward" is a yes
		}
	}
	if rerr := c.reset(ctx); err == nil {
		err = rerr
	}
	return err
}

// Send transmits the message read from r to the envelope's recipients,
// knowing nothing about it beyond the envelope: it is SendMessage with
// zero SendOptions, and so sends nothing if any recipient is refused.
func (c *Client) Send(ctx context.Context, env mail.Envelope, r io.Reader) error {
	_, err := c.SendMessage(ctx, env, SendOptions{}, r)
	return err
}

// SendMessage transmits the message read from r to the envelope's
// recipients. The bytes are streamed as they are read: SMTP's
// dot-stuffing is added, bare LF line ends become CRLF, and a missing
// final line end is added; nothing else changes. If reading r fails
// midway, the connection is dropped before the final "." so the server
// discards the partial message.
//
// What opts says is checked against the server's EHLO before MAIL FROM: a
// message larger than the SIZE limit, an 8-bit message to a server without
// 8BITMIME and a DSN request to a server without DSN are refused without
// sending a command. Every recipient is then tried with RCPT TO and every
// refusal is kept with the server's words; unless opts.Partial allows
// sending to the accepted ones, any refusal means RSET, nothing sent, and a
// *RecipientsRefusedError listing them all. The Report says who was
// accepted and who refused.
func (c *Client) SendMessage(ctx context.Context, env mail.Envelope, opts SendOptions, r io.Reader) (*Report, error) {
	if len(env.To) == 0 {
		return nil, errors.New("no recipients: give at least one address to send to")
	}
	if env.From != "" {
		if err := checkAddr(env.From); err != nil {
			return nil, err
		}
	}
	for _, to := range env.To {
		if err := checkAddr(to); err != nil {
			return nil, err
		}
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	params, err := c.mailParams(env, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.cmd(ctx, "MAIL FROM:<"+env.From+">", 250, "MAIL FROM:<%s>%s", env.From, params); err != nil {
		return nil, err
	}
	rcptParams := ""
	if len(opts.Notify) > 0 {
		rcptParams = " NOTIFY=" + strings.Join(opts.Notify, ",")
	}
	rep := &Report{}
	for _, to := range env.To {
		command := "RCPT TO:<" + to + ">"
		code, msg, err := c.cmdAny(ctx, command, "RCPT TO:<%s>%s", to, rcptParams)
		if err != nil {
			return nil, err
		}
		if code == 250 || code == 251 { // 251: "user not local; will forward"
			rep.Accepted = append(rep.Accepted, to)
			continue
		}
		rep.Refused = append(rep.Refused, RefusedRecipient{Address: to, Code: code, Text: oneLine(msg)})
	}
	if len(rep.Refused) > 0 && (!opts.Partial || len(rep.Accepted) == 0) {
		rerr := &RecipientsRefusedError{Server: c.ep.Addr(), Refused: rep.Refused, Total: len(env.To)}
		if err := c.reset(ctx); err != nil {
			return rep, fmt.Errorf("%w; then RSET failed: %v", rerr, err)
		}
		return rep, rerr
	}
	if _, err := c.cmd(ctx, "DATA", 354, "DATA"); err != nil {
		_ = c.reset(ctx)
		return rep, err
	}
	return rep, c.data(ctx, r)
}

// data streams the message, then reads the server's verdict.
func (c *Client) data(ctx context.Context, r io.Reader) error {
	if err := c.usable(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	c.trace.startData()
	w := c.text.DotWriter()
	buf := make([]byte, 32*1024)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			// Each chunk gets a fresh step timeout: a large message on a
			// slow line is progress, not a hang.
			c.extendDeadline()
			if _, err := w.Write(buf[:n]); err != nil {
				return c.breakData(ctx, fmt.Errorf("send the message to %s: %w", c.ep.Addr(), err))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return c.breakData(ctx, fmt.Errorf("read the message to send: %w", rerr))
		}
	}
	c.extendDeadline()
	if err := w.Close(); err != nil {
		return c.breakData(ctx, fmt.Errorf("send the message to %s: %w", c.ep.Addr(), err))
	}
	if !stop() {
		return c.breakData(ctx, ctx.Err())
	}
	c.trace.endData()
	// The verdict on the whole message is one more step.
	err := c.step(ctx, "the reply to the message", func() error {
		code, msg, err := readReply(c.text.R)
		if err != nil {
			return err
		}
		if code != 250 {
			return &ReplyError{Command: "the message", Code: code, Text: oneLine(msg)}
		}
		return nil
	})
	return err
}

// breakData abandons a DATA transfer: without the final "." the server
// must not deliver, so closing the connection is the only safe way out.
func (c *Client) breakData(ctx context.Context, err error) error {
	c.trace.endData()
	if ctx.Err() != nil {
		err = fmt.Errorf("send the message to %s: %w", c.ep.Addr(), ctx.Err())
	}
	c.broken = err
	c.raw.Close()
	return err
}

func (c *Client) reset(ctx context.Context) error {
	_, err := c.cmd(ctx, "RSET", 250, "RSET")
	return err
}

// checkAddr refuses what would break the command line; the server judges
// the rest.
func checkAddr(a string) error {
	if a == "" || strings.ContainsAny(a, "\r\n<> \t") || !strings.Contains(a, "@") {
		return fmt.Errorf("%q is not a plain mail address (like name@example.com) usable in the SMTP envelope", a)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
