package compose_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/compose"
	mp "github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

const rawMsg = "Return-Path: <bounce@example.com>\r\n" +
	"From: =?iso-8859-1?q?J=F6rg?= <jorg@example.com>\r\n" +
	"To: bob@example.net,\r\n \"Smith, Ann\" <ann@example.org>\r\n" +
	"Cc: carol@example.org\r\n" +
	"Bcc: hidden@example.org\r\n" +
	"Subject: raw\r\n" +
	"Message-ID: <raw-1@example.com>\r\n" +
	"\r\n" +
	".a body line with a dot\r\n" +
	"To: not-a-header@example.com\r\n" +
	"8-bit: caf\xe9\r\n"

func TestReadRawHeader(t *testing.T) {
	info, err := compose.ReadRawHeader(strings.NewReader(rawMsg))
	if err != nil {
		t.Fatal(err)
	}
	if info.From != "jorg@example.com" || info.MessageID != "<raw-1@example.com>" {
		t.Errorf("From = %q, MessageID = %q", info.From, info.MessageID)
	}
	want := []string{"bob@example.net", "ann@example.org", "carol@example.org", "hidden@example.org"}
	if got := info.Recipients(); !slices.Equal(got, want) {
		t.Errorf("Recipients() = %v, want %v", got, want)
	}
	if !slices.Equal(info.Bcc, []string{"hidden@example.org"}) {
		t.Errorf("Bcc = %v", info.Bcc)
	}
}

func TestReadRawHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"mbox line":   "From alice@example.com Mon Jan  1 00:00:00 2026\r\nSubject: x\r\n\r\nbody\r\n",
		"bad address": "From: a@example.com\r\nTo: not an address\r\n\r\nbody\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := compose.ReadRawHeader(strings.NewReader(in))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// countingReader counts what the header parser consumed.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadRawHeaderReadsOnlyTheHeader(t *testing.T) {
	body := strings.Repeat("x", 10<<20)
	cr := &countingReader{r: strings.NewReader("From: a@example.com\r\nTo: b@example.net\r\n\r\n" + body)}
	if _, err := compose.ReadRawHeader(cr); err != nil {
		t.Fatal(err)
	}
	if cr.n > 64<<10 {
		t.Errorf("read %d bytes of a 10 MB message to parse its header", cr.n)
	}
}

func TestOpenRawFileAndStdin(t *testing.T) {
	p := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(p, []byte(rawMsg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, arg string
		stdin     io.Reader
	}{{"file", p, nil}, {"stdin", "-", strings.NewReader(rawMsg)}} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := compose.OpenRaw(tc.arg, tc.stdin)
			if err != nil {
				t.Fatal(err)
			}
			if raw.Size != int64(len(rawMsg)) || raw.MessageID != "<raw-1@example.com>" || len(raw.Recipients()) != 4 {
				t.Errorf("Raw = size %d, id %q, recipients %v", raw.Size, raw.MessageID, raw.Recipients())
			}
			for i := 0; i < 2; i++ { // a retry starts from the first byte again
				r, err := raw.Reader()
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil || string(got) != rawMsg {
					t.Fatalf("read %d: got %q, %v; want the message unchanged", i, got, err)
				}
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Reader(); err == nil {
				t.Error("Reader after Close worked")
			}
		})
	}
	if _, err := compose.OpenRaw(filepath.Join(t.TempDir(), "missing.eml"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("OpenRaw of a missing file: %v", err)
	}
}

func TestStdinSpoolRemoved(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	raw, err := compose.OpenRaw("-", strings.NewReader(rawMsg))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("spool files while open: %d, want 1", len(entries))
	}
	raw.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("spool file left behind after Close: %v", entries)
	}
}

func TestRawSentByteIdentical(t *testing.T) {
	s, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := compose.OpenRaw("-", strings.NewReader(rawMsg))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c, err := smtp.Dial(context.Background(), mp.Endpoint{Host: s.Host(), Port: s.Port(), Encryption: mp.None})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := raw.Reader()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), mp.Envelope{From: raw.From, To: raw.Recipients()}, r); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()[0]
	if !bytes.Equal(got.Data, []byte(rawMsg)) {
		t.Errorf("raw message changed:\n got %q\nwant %q", got.Data, rawMsg)
	}
	if !slices.Equal(got.To, raw.Recipients()) || got.From != "jorg@example.com" {
		t.Errorf("envelope = %s → %v", got.From, got.To)
	}
}

func TestOpenRawFindsEightBitOctets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		msg  string
		want bool
	}{
		{"7-bit", "Subject: plain\r\n\r\nonly ASCII\r\n", false},
		{"8-bit body", rawMsg, true},
		{"8-bit header", "Subject: caf\xc3\xa9\r\n\r\nASCII body\r\n", true},
		{"8-bit far into the body", "Subject: x\r\n\r\n" + strings.Repeat("a", 200<<10) + "\x80\r\n", true},
	} {
		for _, stdin := range []bool{false, true} {
			var raw *compose.Raw
			var err error
			if stdin {
				raw, err = compose.OpenRaw("-", strings.NewReader(tc.msg))
			} else {
				p := filepath.Join(dir, "m.eml")
				if err := os.WriteFile(p, []byte(tc.msg), 0o600); err != nil {
					t.Fatal(err)
				}
				raw, err = compose.OpenRaw(p, nil)
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if raw.EightBit != tc.want {
				t.Errorf("%s (stdin %v): EightBit = %v, want %v", tc.name, stdin, raw.EightBit, tc.want)
			}
			// The scan leaves the message readable from its first byte.
			rd, err := raw.Reader()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rd)
			if err != nil || string(b) != tc.msg {
				t.Errorf("%s: the message reads back as %d octets (%v)", tc.name, len(b), err)
			}
			raw.Close()
		}
	}
}
