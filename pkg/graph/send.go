package graph

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"strings"

	mmail "github.com/mailport/mailport/pkg/mail"
)

// MaxRequestBytes is Graph's limit on a request body: 4 MB. A larger
// sendMail request is refused with 413.
const MaxRequestBytes = 4_000_000

// MaxMIMEBytes is the largest message sendMail can carry: base64 turns
// every 3 octets into 4.
const MaxMIMEBytes = MaxRequestBytes / 4 * 3

// Send posts the raw MIME message read from r to /sendMail as base64
// (Content-Type text/plain), which Graph answers with 202 and a copy in
// Sent Items.
//
// Graph takes the recipients from the message's To, Cc and Bcc headers,
// not from an SMTP envelope; recipients of env that none of those headers
// name are added in a Bcc header so that no one is silently dropped.
// env.From is not used: Graph sends as the mailbox (or as the From header's
// address when the token may send on its behalf).
//
// The message is spooled to a temporary file, never held in memory; one
// above MaxMIMEBytes is refused with *TooLargeError before anything is sent.
// The spool file loses its name as soon as it is created (where the system
// allows it), so a crash leaves nothing behind in Options.TempDir.
func (c *Client) Send(ctx context.Context, env mmail.Envelope, r io.Reader) error {
	f, err := os.CreateTemp(c.spoolDir, "mailport-graph-send-*.eml")
	if err != nil {
		return wrapf(err, "spool message")
	}
	defer f.Close()
	if os.Remove(f.Name()) != nil {
		defer os.Remove(f.Name()) // Windows: not while it is open
	}
	n, err := io.Copy(f, io.LimitReader(r, MaxMIMEBytes+1))
	if err != nil {
		return wrapf(err, "read message")
	}
	if n > MaxMIMEBytes {
		return &TooLargeError{Size: n, Limit: MaxMIMEBytes}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return wrapf(err, "spool message")
	}
	prefix, err := bccPrefix(f, env.To)
	if err != nil {
		return err
	}
	total := int64(len(prefix)) + n
	if total > MaxMIMEBytes {
		return &TooLargeError{Size: total, Limit: MaxMIMEBytes}
	}
	open := func() (io.ReadCloser, error) {
		src := io.MultiReader(strings.NewReader(prefix), io.NewSectionReader(f, 0, n))
		return io.NopCloser(&base64Reader{src: src}), nil
	}
	resp, err := c.do(ctx, request{
		method:      http.MethodPost,
		url:         c.mailboxURL("/sendMail", nil),
		body:        open,
		length:      int64(base64.StdEncoding.EncodedLen(int(total))),
		contentType: "text/plain",
		what:        "the message",
		stream:      true,
	})
	var ge *Error
	if errors.As(err, &ge) && ge.StatusCode == http.StatusRequestEntityTooLarge {
		return fmt.Errorf("graph: send message: %w: %w", &TooLargeError{Size: total, Limit: MaxMIMEBytes}, err)
	}
	if err != nil {
		return wrapf(err, "send message")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("graph: send message: expected 202 Accepted, got %s", resp.Status)
	}
	if err := c.drain(resp.Body, "the answer to sendMail"); err != nil {
		return wrapf(err, "send message")
	}
	return nil
}

// bccPrefix reads the message header and returns a "Bcc:" header line
// naming the envelope recipients that no To, Cc or Bcc header lists.
func bccPrefix(r io.Reader, envelope []string) (string, error) {
	hdr, err := textproto.NewReader(bufio.NewReader(r)).ReadMIMEHeader()
	if err != nil && !(errors.Is(err, io.EOF) && len(hdr) > 0) {
		return "", wrapf(err, "the message has no valid header")
	}
	// Only addresses matter here, so encoded names in any charset are fine.
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, in io.Reader) (io.Reader, error) { return in, nil },
	}}
	listed := map[string]bool{}
	for _, field := range []string{"To", "Cc", "Bcc"} {
		for _, v := range hdr.Values(field) {
			if strings.TrimSpace(v) == "" {
				continue
			}
			addrs, err := p.ParseList(v)
			if err != nil {
				return "", wrapf(err, "the message's %s header %q does not parse", field, v)
			}
			for _, a := range addrs {
				listed[strings.ToLower(a.Address)] = true
			}
		}
	}
	var missing []string
	seen := map[string]bool{}
	for _, a := range envelope {
		l := strings.ToLower(strings.TrimSpace(a))
		if l == "" || listed[l] || seen[l] {
			continue
		}
		seen[l] = true
		missing = append(missing, strings.TrimSpace(a))
	}
	if len(listed) == 0 && len(missing) == 0 {
		return "", errors.New("graph: the message has no recipients (no To, Cc or Bcc header and none given)")
	}
	if len(missing) == 0 {
		return "", nil
	}
	return "Bcc: " + strings.Join(missing, ", ") + "\r\n", nil
}

// base64Reader encodes src as one unbroken base64 stream, a few KiB at a time.
type base64Reader struct {
	src io.Reader
	in  [3 * 1024]byte
	out [4 * 1024]byte
	buf []byte
	err error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := io.ReadFull(b.src, b.in[:])
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			b.err = io.EOF
		case err != nil:
			b.err = err
		}
		base64.StdEncoding.Encode(b.out[:], b.in[:n])
		b.buf = b.out[:base64.StdEncoding.EncodedLen(n)]
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

var (
	_ mmail.Inbound  = (*Client)(nil)
	_ mmail.Outbound = (*Client)(nil)
)
