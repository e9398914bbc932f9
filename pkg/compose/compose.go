// Package compose builds the message `mailport send` sends: an RFC 5322 /
// MIME message from a sender, recipients, a subject, a text and an HTML
// body, attachments and extra header fields — or, for `send --raw`, reads
// the envelope and Message-ID from an existing message without changing
// its bytes.
//
// Messages are written with github.com/emersion/go-message, which streams:
// attachments are read and base64-encoded as the message is written, so a
// 30 MB attachment costs a few kilobytes of memory. (go-mail's Msg.WriteTo,
// which the plan first named, encodes each attachment into a memory buffer
// before writing it: about 96 MiB allocated for a 30 MiB file.)
package compose

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	netmail "net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// Header is one extra header field, from `--header K:V`.
type Header struct {
	Name, Value string
}

// ParseHeader parses "Name: value" (the space after the colon is optional).
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	h := Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
	if !ok {
		return h, fmt.Errorf("header %q has no colon: write it as Name:value", s)
	}
	return h, h.check()
}

// Fields set from the Message's own fields, or that define the MIME
// structure, cannot be given as extra headers.
var reserved = map[string]string{
	"From": "the sender", "To": "a recipient list", "Cc": "a recipient list", "Bcc": "a recipient list",
	"Subject": "the subject", "Mime-Version": "", "Content-Type": "", "Content-Transfer-Encoding": "",
}

func (h Header) check() error {
	if h.Name == "" {
		return fmt.Errorf("header %q has no name: write it as Name:value", ":"+h.Value)
	}
	for _, r := range h.Name {
		if r <= ' ' || r >= 0x7f || r == ':' {
			return fmt.Errorf("header name %q is not valid: use letters, digits and dashes", h.Name)
		}
	}
	if strings.ContainsAny(h.Value, "\r\n") {
		return fmt.Errorf("header %s: the value must be a single line", h.Name)
	}
	if what, ok := reserved[textproto.CanonicalMIMEHeaderKey(h.Name)]; ok {
		if what == "" {
			return fmt.Errorf("header %s is derived from the message's parts and cannot be given", h.Name)
		}
		return fmt.Errorf("header %s is %s: set it with its own option, not as a header", h.Name, what)
	}
	return nil
}

// Message is a message to compose. From, To, Cc and Bcc hold addresses as
// users write them ("bob@example.com" or "Bob <bob@example.com>").
type Message struct {
	From        string
	To, Cc, Bcc []string
	Subject     string
	Text        string   // the plain-text body
	HTML        string   // the HTML body; with Text, the two are alternatives
	Attachments []string // file paths
	Headers     []Header
	// Date is the Date field; zero means the time of writing.
	Date time.Time
}

// Validate checks everything that can be checked before connecting: a
// sender, at least one recipient, every address, every extra header and
// every attachment file. The error is one sentence naming the culprit.
func (m *Message) Validate() error {
	if strings.TrimSpace(m.From) == "" {
		return errors.New("no sender: set the From address")
	}
	if _, err := parseOne("From", m.From); err != nil {
		return err
	}
	n := 0
	for _, f := range []struct {
		name  string
		addrs []string
	}{{"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}} {
		for _, a := range f.addrs {
			if _, err := parseOne(f.name, a); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return errors.New("no recipient: give at least one To, Cc or Bcc address")
	}
	for _, h := range m.Headers {
		if err := h.check(); err != nil {
			return err
		}
	}
	for _, p := range m.Attachments {
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("attachment %s does not exist", p)
		case err != nil:
			return fmt.Errorf("attachment %s cannot be read: %w", p, err)
		case st.IsDir():
			return fmt.Errorf("attachment %s is a directory, not a file", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("attachment %s cannot be read: %w", p, err)
		}
		f.Close()
	}
	return nil
}

// Sender is the bare From address, for the envelope.
func (m *Message) Sender() string {
	a, err := parseOne("From", m.From)
	if err != nil {
		return ""
	}
	return a.Address
}

// Recipients are the bare addresses of To, Cc and Bcc, in that order,
// each once: the envelope. Bcc addresses are never written into the
// message itself.
func (m *Message) Recipients() []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{m.To, m.Cc, m.Bcc} {
		for _, s := range list {
			a, err := parseOne("", s)
			if err != nil {
				continue
			}
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				out = append(out, a.Address)
			}
		}
	}
	return out
}

// WriteMessage validates the message and writes it to w, streaming
// attachments from their files. It returns the Message-ID with its angle
// brackets (an extra "Message-ID" header, when given, is used). It is not
// named WriteTo because io.WriterTo's signature is different.
func (m *Message) WriteMessage(w io.Writer) (messageID string, err error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	msgID, err := m.messageID()
	if err != nil {
		return "", err
	}
	return msgID, m.write(w, msgID)
}

// Stream validates the message and returns a reader of its bytes, written
// by a goroutine as they are read, and its Message-ID — the shape
// smtp.Client.Send wants. Close the reader when done: closing it early
// (say, after a refused recipient) stops the writer. A failure to write
// (an attachment that became unreadable) is returned by Read, so the
// sender abandons the message instead of sending it cut short.
func (m *Message) Stream() (io.ReadCloser, string, error) {
	if err := m.Validate(); err != nil {
		return nil, "", err
	}
	msgID, err := m.messageID()
	if err != nil {
		return nil, "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(m.write(pw, msgID)) }()
	return pr, msgID, nil
}

// Size composes the message with messageID (the one Stream returned)
// into a counter and returns its size in octets, reading the attachments
// once more. With Date set, it is the size of what Stream writes: the
// multipart boundaries are random but of a fixed length.
func (m *Message) Size(messageID string) (int64, error) {
	var c counter
	if err := m.write(&c, messageID); err != nil {
		return 0, err
	}
	return int64(c), nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// messageID is the given Message-ID header, else a new one.
func (m *Message) messageID() (string, error) {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, "Message-ID") {
			id := strings.TrimSpace(h.Value)
			if !strings.HasPrefix(id, "<") {
				id = "<" + id + ">"
			}
			return id, nil
		}
	}
	from, err := parseOne("From", m.From)
	if err != nil {
		return "", err
	}
	return newMessageID(from.Address)
}

// write writes the validated message with msgID.
func (m *Message) write(w io.Writer, msgID string) error {
	from, _ := parseOne("From", m.From)
	to, _ := parseList("To", m.To)
	cc, _ := parseList("Cc", m.Cc)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}

	// go-message writes fields in the reverse order of adding them, so
	// they are added last-first to read naturally.
	fields := func(h *mail.Header) {
		for i := len(m.Headers) - 1; i >= 0; i-- {
			if hd := m.Headers[i]; !strings.EqualFold(hd.Name, "Message-ID") {
				h.Add(hd.Name, encodeText(hd.Value))
			}
		}
		h.Set("Message-ID", msgID)
		h.SetSubject(m.Subject)
		if len(cc) > 0 {
			h.SetAddressList("Cc", cc)
		}
		if len(to) > 0 {
			h.SetAddressList("To", to)
		}
		h.SetAddressList("From", []*mail.Address{from})
		h.SetDate(date)
	}
	return m.writeBody(w, fields)
}

// writeBody writes the message: the top header is the MIME fields (set
// first, so they come last) and then fields adds the message's own.
func (m *Message) writeBody(w io.Writer, fields func(*mail.Header)) error {
	texts := m.textParts()
	var top mail.Header
	if len(m.Attachments) == 0 && len(texts) == 1 {
		textHeader(&top.Header, texts[0])
		top.Set("MIME-Version", "1.0")
		fields(&top)
		pw, err := message.CreateWriter(w, top.Header)
		if err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
		return writeAndClose(pw, texts[0])
	}
	var err error
	var mixed *message.Writer
	body := (*message.Writer)(nil) // where the text parts go
	// A boundary set here keeps go-message from re-adding Content-Type,
	// which would move it to the top.
	if len(m.Attachments) > 0 {
		top.SetContentType("multipart/mixed", map[string]string{"boundary": newBoundary()})
		top.Set("MIME-Version", "1.0")
		fields(&top)
		if mixed, err = message.CreateWriter(w, top.Header); err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
		body = mixed
		if len(texts) > 1 {
			var ah message.Header
			ah.SetContentType("multipart/alternative", nil)
			if body, err = mixed.CreatePart(ah); err != nil {
				return fmt.Errorf("write the message: %w", err)
			}
		}
	} else {
		top.SetContentType("multipart/alternative", map[string]string{"boundary": newBoundary()})
		top.Set("MIME-Version", "1.0")
		fields(&top)
		if body, err = message.CreateWriter(w, top.Header); err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
	}
	for _, t := range texts {
		var th message.Header
		textHeader(&th, t)
		pw, err := body.CreatePart(th)
		if err != nil {
			return fmt.Errorf("write the %s body: %w", t.mediaType, err)
		}
		if err := writeAndClose(pw, t); err != nil {
			return err
		}
	}
	if body != mixed {
		if err := body.Close(); err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
	}
	if mixed == nil {
		return nil
	}
	for _, p := range m.Attachments {
		if err := writeAttachment(mixed, p); err != nil {
			return err
		}
	}
	if err := mixed.Close(); err != nil {
		return fmt.Errorf("write the message: %w", err)
	}
	return nil
}

type textPart struct{ mediaType, body string }

// textParts are the bodies, plainest first as multipart/alternative wants.
// With neither body there is still an empty text part.
func (m *Message) textParts() []textPart {
	var parts []textPart
	if m.Text != "" || m.HTML == "" {
		parts = append(parts, textPart{"text/plain", m.Text})
	}
	if m.HTML != "" {
		parts = append(parts, textPart{"text/html", m.HTML})
	}
	return parts
}

// textHeader declares a text body as UTF-8 quoted-printable, which keeps
// lines short and 7-bit whatever the text holds.
func textHeader(h *message.Header, t textPart) {
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	h.SetContentType(t.mediaType, map[string]string{"charset": "utf-8"})
}

func writeAndClose(pw *message.Writer, t textPart) error {
	if _, err := io.WriteString(pw, t.body); err != nil {
		return fmt.Errorf("write the %s body: %w", t.mediaType, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write the %s body: %w", t.mediaType, err)
	}
	return nil
}

func writeAttachment(mixed *message.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("attachment %s cannot be read: %w", path, err)
	}
	defer f.Close()
	ct, err := DetectContentType(path, f)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	var h mail.AttachmentHeader
	h.Set("Content-Transfer-Encoding", "base64")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = "application/octet-stream", map[string]string{}
	}
	params["name"] = name
	h.SetContentType(mt, params)
	h.SetFilename(name)
	pw, err := mixed.CreatePart(h.Header)
	if err != nil {
		return fmt.Errorf("attachment %s: %w", path, err)
	}
	if _, err := io.Copy(pw, f); err != nil {
		return fmt.Errorf("attachment %s: %w", path, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("attachment %s: %w", path, err)
	}
	return nil
}

// DetectContentType names a file's media type from its extension, or,
// when the extension is unknown, from its first 512 bytes. f is left at
// its start.
func DetectContentType(path string, f io.ReadSeeker) (string, error) {
	if ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(path))); ct != "" {
		return ct, nil
	}
	buf := make([]byte, 512)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("attachment %s cannot be read: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("attachment %s: %w", path, err)
	}
	return http.DetectContentType(buf[:n]), nil
}

// ParseAddressList parses a comma-separated list of addresses such as
// `bob@example.com, "Smith, Ann" <ann@example.com>` and returns each
// address as given: "Name <addr>" or the bare address.
func ParseAddressList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	list, err := netmail.ParseAddressList(s)
	if err != nil {
		return nil, addressError(s, err, true)
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, format(a))
	}
	return out, nil
}

// SplitAddresses flattens repeatable, comma-separated flag values
// (`--to a@x --to "b@y, c@z"`) into one list.
func SplitAddresses(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		list, err := ParseAddressList(v)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

func format(a *netmail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

func parseOne(field, s string) (*mail.Address, error) {
	a, err := netmail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		if field == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", field, addressError(s, err, false))
	}
	return (*mail.Address)(a), nil
}

func parseList(field string, list []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, s := range list {
		a, err := parseOne(field, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// newMessageID makes "<random@domain>" with the sender's domain, so the
// id does not reveal the machine's name.
func newMessageID(from string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a Message-ID: %w", err)
	}
	domain := "mailport.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">", nil
}

// newBoundary is a random multipart boundary; 30 hex digits cannot occur
// in base64 or quoted-printable lines by chance.
func newBoundary() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return "mailport-" + hex.EncodeToString(b)
}

// encodeText applies RFC 2047 to a header value that is not ASCII.
func encodeText(s string) string {
	return mime.QEncoding.Encode("utf-8", s)
}
