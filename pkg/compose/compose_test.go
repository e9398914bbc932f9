package compose_test

import (
	"github.com/mailport/mailport/internal/heapmeter"

	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/mailport/mailport/pkg/compose"
	mp "github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// a minimal PNG header, enough for content sniffing
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0x42}, 200)...)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type part struct {
	contentType string
	params      map[string]string
	filename    string
	body        []byte
}

// parse reads a composed message back with go-message, as a mail client
// would, and returns the header and the leaf parts in order.
func parse(t *testing.T, raw []byte) (mail.Header, []part) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("composed message does not parse: %v\n%s", err, raw)
	}
	var parts []part
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		ct, params, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		var fn string
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			fn, _ = ah.Filename()
		}
		parts = append(parts, part{ct, params, fn, body})
	}
	return r.Header, parts
}

func TestComposeMultipart(t *testing.T) {
	pdf := writeFile(t, "report.pdf", []byte("%PDF-1.4\n% not really a pdf\n"))
	png := writeFile(t, "picture.unknownext", pngBytes)
	bin := writeFile(t, "data.bin", []byte{0, 1, 2, 3, 0xff})
	m := compose.Message{
		From:        "Alice Ärger <alice@example.com>",
		To:          []string{"bob@example.net", `"Smith, Ann" <ann@example.org>`},
		Cc:          []string{"carol@example.org"},
		Bcc:         []string{"secret-boss@example.com"},
		Subject:     "Quarterly report — Grüße",
		Text:        "Hello Bob,\nsee attached.\n.a line with a dot\n",
		HTML:        "<p>Hello <b>Bob</b></p>",
		Attachments: []string{pdf, png, bin},
		Headers:     []compose.Header{{Name: "X-Ticket", Value: "SR-1234"}, {Name: "Reply-To", Value: "desk@example.com"}},
		Date:        time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC),
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	var buf bytes.Buffer
	id, err := m.WriteMessage(&buf)
	if err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	raw := buf.Bytes()
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q, want <...@example.com>", id)
	}
	// A header-field check, not a substring one: random MIME boundaries are
	// hex and may contain "bcc".
	if hasHeaderField(raw, "Bcc") || bytes.Contains(raw, []byte("secret-boss")) {
		t.Errorf("the Bcc address is visible in the message:\n%s", raw)
	}
	for _, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line of %d octets exceeds RFC 5322's limit", len(line))
		}
		for _, b := range line {
			if b >= 0x80 {
				t.Fatalf("8-bit byte in a composed message line %q", line)
			}
		}
	}

	h, parts := parse(t, raw)
	if got, _ := h.Subject(); got != m.Subject {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	from, _ := h.AddressList("From")
	if len(from) != 1 || from[0].Name != "Alice Ärger" || from[0].Address != "alice@example.com" {
		t.Errorf("From = %v", from)
	}
	to, _ := h.AddressList("To")
	if len(to) != 2 || to[1].Name != "Smith, Ann" || to[1].Address != "ann@example.org" {
		t.Errorf("To = %v", to)
	}
	if cc, _ := h.AddressList("Cc"); len(cc) != 1 || cc[0].Address != "carol@example.org" {
		t.Errorf("Cc = %v", cc)
	}
	if got, _ := h.MessageID(); "<"+got+">" != id {
		t.Errorf("Message-ID field %q does not match the returned %q", got, id)
	}
	if d, _ := h.Date(); !d.Equal(m.Date) {
		t.Errorf("Date = %v, want %v", d, m.Date)
	}
	if h.Get("X-Ticket") != "SR-1234" || h.Get("Reply-To") != "desk@example.com" || h.Get("Mime-Version") != "1.0" {
		t.Errorf("extra headers missing: X-Ticket=%q Reply-To=%q MIME-Version=%q", h.Get("X-Ticket"), h.Get("Reply-To"), h.Get("Mime-Version"))
	}
	if ct, _, _ := h.ContentType(); ct != "multipart/mixed" {
		t.Errorf("top Content-Type = %q, want multipart/mixed", ct)
	}
	if !bytes.Contains(raw, []byte("Content-Type: multipart/alternative")) {
		t.Error("text and HTML are not multipart/alternative")
	}

	want := []part{
		{contentType: "text/plain", body: []byte(m.Text)},
		{contentType: "text/html", body: []byte(m.HTML)},
		{contentType: "application/pdf", filename: "report.pdf", body: mustRead(t, pdf)},
		{contentType: "image/png", filename: "picture.unknownext", body: pngBytes},
		{contentType: "application/octet-stream", filename: "data.bin", body: []byte{0, 1, 2, 3, 0xff}},
	}
	if len(parts) != len(want) {
		t.Fatalf("got %d parts, want %d", len(parts), len(want))
	}
	for i, w := range want {
		g := parts[i]
		// A text part read back has CRLF line ends, as mail does.
		body := g.body
		if strings.HasPrefix(g.contentType, "text/") {
			body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
		}
		if g.contentType != w.contentType || g.filename != w.filename || !bytes.Equal(body, w.body) {
			t.Errorf("part %d = %s %q %q, want %s %q %q", i, g.contentType, g.filename, trunc(g.body), w.contentType, w.filename, trunc(w.body))
		}
		if strings.HasPrefix(w.contentType, "text/") && g.params["charset"] != "utf-8" {
			t.Errorf("part %d charset = %q, want utf-8", i, g.params["charset"])
		}
	}

	if got, want := m.Recipients(), []string{"bob@example.net", "ann@example.org", "carol@example.org", "secret-boss@example.com"}; !slices.Equal(got, want) {
		t.Errorf("Recipients() = %v, want %v", got, want)
	}
	if m.Sender() != "alice@example.com" {
		t.Errorf("Sender() = %q", m.Sender())
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func trunc(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

func TestComposeTextOnlyIsSinglePart(t *testing.T) {
	m := compose.Message{From: "alice@example.com", To: []string{"bob@example.net"}, Subject: "hi", Text: "just text ✓\n"}
	var buf bytes.Buffer
	if _, err := m.WriteMessage(&buf); err != nil {
		t.Fatal(err)
	}
	h, parts := parse(t, buf.Bytes())
	if ct, params, _ := h.ContentType(); ct != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %s %v, want text/plain; charset=utf-8", ct, params)
	}
	if len(parts) != 1 || string(bytes.ReplaceAll(parts[0].body, []byte("\r\n"), []byte("\n"))) != m.Text {
		t.Errorf("parts = %+v", parts)
	}
}

func TestValidate(t *testing.T) {
	ok := compose.Message{From: "alice@example.com", To: []string{"bob@example.net"}}
	tests := []struct {
		name string
		edit func(*compose.Message)
		want string
	}{
		{"no recipient", func(m *compose.Message) { m.To = nil }, "no recipient: give at least one To, Cc or Bcc address"},
		{"only bcc is enough", func(m *compose.Message) { m.To, m.Bcc = nil, []string{"x@example.com"} }, ""},
		{"bad to", func(m *compose.Message) { m.To = []string{"bob.example.net"} }, `To: "bob.example.net" is not an email address: it has no @`},
		{"bad cc", func(m *compose.Message) { m.Cc = []string{"a@b@c"} }, `Cc: "a@b@c" is not an email address: it has more than one @`},
		{"no from", func(m *compose.Message) { m.From = "" }, "no sender"},
		{"missing attachment", func(m *compose.Message) { m.Attachments = []string{"/nonexistent/report.pdf"} }, "attachment /nonexistent/report.pdf does not exist"},
		{"directory attachment", func(m *compose.Message) { m.Attachments = []string{os.TempDir()} }, "is a directory"},
		{"reserved header", func(m *compose.Message) { m.Headers = []compose.Header{{Name: "bcc", Value: "x@y.z"}} }, "header bcc is a recipient list: set it with its own option"},
		{"content-type header", func(m *compose.Message) { m.Headers = []compose.Header{{Name: "Content-Type", Value: "text/x"}} }, "cannot be given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			err := m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error is not one line: %q", err)
			}
			if _, werr := m.WriteMessage(io.Discard); werr == nil {
				t.Error("WriteMessage wrote an invalid message")
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	h, err := compose.ParseHeader("X-Priority:1")
	if err != nil || h != (compose.Header{Name: "X-Priority", Value: "1"}) {
		t.Errorf("ParseHeader(X-Priority:1) = %+v, %v", h, err)
	}
	h, err = compose.ParseHeader("Reply-To: desk@example.com")
	if err != nil || h.Value != "desk@example.com" {
		t.Errorf("ParseHeader = %+v, %v", h, err)
	}
	for _, bad := range []string{"NoColon", ": value", "Bad Name: x", "Subject: hi", "To: x@y.z"} {
		if _, err := compose.ParseHeader(bad); err == nil {
			t.Errorf("ParseHeader(%q) accepted", bad)
		}
	}
}

func TestAddressLists(t *testing.T) {
	got, err := compose.SplitAddresses([]string{"a@x.org", `b@y.org, "Smith, Ann" <ann@z.org>`, ""})
	want := []string{"a@x.org", "b@y.org", `"Smith, Ann" <ann@z.org>`}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("SplitAddresses = %q, %v; want %q", got, err, want)
	}
	if _, err := compose.ParseAddressList("a@x.org, not an address"); err == nil {
		t.Error("ParseAddressList accepted a bad address")
	}
}

func TestComposeBccOnlyInEnvelope(t *testing.T) {
	s, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := compose.Message{From: "alice@example.com", To: []string{"bob@example.net"}, Bcc: []string{"hidden@example.org"}, Subject: "s", Text: "t"}
	c, err := smtp.Dial(context.Background(), mp.Endpoint{Host: s.Host(), Port: s.Port(), Encryption: mp.None})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, id, err := m.Stream()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := c.Send(context.Background(), mp.Envelope{From: m.Sender(), To: m.Recipients()}, r); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()[0]
	if !slices.Equal(got.To, []string{"bob@example.net", "hidden@example.org"}) {
		t.Errorf("envelope recipients = %v", got.To)
	}
	if bytes.Contains(got.Data, []byte("hidden@example.org")) {
		t.Errorf("the Bcc address reached the message:\n%s", got.Data)
	}
	if !bytes.Contains(got.Data, []byte("Message-Id: "+id)) && !bytes.Contains(got.Data, []byte("Message-ID: "+id)) {
		t.Errorf("the delivered message lacks Message-ID %s:\n%s", id, got.Data)
	}
}

func TestStreamClosedEarlyAndFailingAttachment(t *testing.T) {
	p := writeFile(t, "a.pdf", bytes.Repeat([]byte("x"), 1<<20))
	m := compose.Message{From: "alice@example.com", To: []string{"bob@example.net"}, Attachments: []string{p}}
	r, _, err := m.Stream()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	// Closing early ends the pipe: reading again fails at once instead of
	// hanging, and the writer's next Write fails, ending its goroutine.
	r.Close()
	if _, err := r.Read(buf); err == nil {
		t.Error("Read after Close worked")
	}

	// An attachment that vanishes between Validate and writing surfaces
	// as a read error, so a sender abandons the message.
	r2, _, err := m.Stream()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r2); err == nil || !strings.Contains(err.Error(), "a.pdf") {
		t.Errorf("reading a message whose attachment vanished: err = %v, want one naming a.pdf", err)
	}
}

func TestCompose30MBAttachmentMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30 MB")
	}
	p := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for i := 0; i < (30<<20)/len(chunk); i++ {
		f.Write(chunk)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	m := compose.Message{From: "alice@example.com", To: []string{"bob@example.net"}, Text: "see attached", Attachments: []string{p}}
	h := sha256.New()
	var n countWriter
	peak := measurePeakHeap(func() {
		if _, err := m.WriteMessage(io.MultiWriter(h, &n)); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("composed %d MiB with a peak heap growth of %.1f MiB", n>>20, float64(peak)/(1<<20))
	if n < 40<<20 {
		t.Errorf("composed only %d bytes for a 30 MiB attachment", n)
	}
	if peak > 8<<20 {
		t.Errorf("heap grew by %d bytes while composing a 30 MiB attachment; it must stay flat", peak)
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

func measurePeakHeap(fn func()) uint64 { return uint64(max(heapmeter.Peak(fn), 0)) }

// hasHeaderField reports whether any line of raw (header or part header)
// starts with the field name, case-insensitively.
func hasHeaderField(raw []byte, name string) bool {
	prefix := strings.ToLower(name) + ":"
	for _, line := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), prefix) {
			return true
		}
	}
	return false
}

// TestComposedMessageIs7Bit backs `send`'s promise to the SMTP server that
// a composed message is 7-bit (no BODY=8BITMIME needed): non-ASCII text,
// subject, names, header values and binary attachments are all encoded.
func TestComposedMessageIs7Bit(t *testing.T) {
	bin := writeFile(t, "dätä.bin", []byte{0, 0x80, 0xff, 0xc3, 0xa9})
	m := compose.Message{
		From:        "Jörg Ärger <jorg@example.com>",
		To:          []string{"Zoë <zoe@example.net>"},
		Cc:          []string{"\"Müller, Ann\" <ann@example.org>"},
		Subject:     "Grüße — 東京",
		Text:        "café\nnaïve 東京\n",
		HTML:        "<p>café</p>",
		Attachments: []string{bin},
		Headers:     []compose.Header{{Name: "X-Note", Value: "überall"}},
	}
	var buf bytes.Buffer
	if _, err := m.WriteMessage(&buf); err != nil {
		t.Fatal(err)
	}
	if i := bytes.IndexFunc(buf.Bytes(), func(r rune) bool { return r >= 0x80 }); i >= 0 {
		t.Fatalf("an 8-bit octet at %d:\n%s", i, buf.Bytes())
	}
}

// TestSizeIsWhatStreamWrites: send measures a composed message for a
// server's SIZE limit by composing it once more.
func TestSizeIsWhatStreamWrites(t *testing.T) {
	pdf := writeFile(t, "report.pdf", bytes.Repeat([]byte("%PDF-1.4 binary \x00\xff\n"), 5000))
	for _, m := range []compose.Message{
		{From: "a@example.com", To: []string{"b@example.net"}, Subject: "plain", Text: "hello\n"},
		{From: "Ärger <a@example.com>", To: []string{"b@example.net"}, Subject: "Grüße", Text: "café\n", HTML: "<p>café</p>", Attachments: []string{pdf}},
		{From: "a@example.com", To: []string{"b@example.net"}, Subject: "alt", Text: "t", HTML: "<p>h</p>"},
	} {
		m.Date = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		r, id, err := m.Stream()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.Size(id)
		if err != nil || n != int64(len(b)) {
			t.Errorf("%s: Size = %d, %v; Stream wrote %d octets", m.Subject, n, err, len(b))
		}
	}
}
