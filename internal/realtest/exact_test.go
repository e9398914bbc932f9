package realtest

import (
	"github.com/mailport/mailport/internal/heapmeter"

	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
)

// inbound connects and logs in with user's password.
func inbound(t *testing.T, b *testbed.Bed, proto string, enc mail.Encryption, user string) mail.Inbound {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	var in mail.Inbound
	var err error
	switch proto {
	case "imap":
		port := b.IMAPSPort
		if enc == mail.StartTLS {
			port = b.IMAPPort
		}
		in, err = imap.Dial(ctx, endpoint(b, port, enc))
	case "pop3":
		port := b.POP3SPort
		if enc == mail.StartTLS {
			port = b.POP3Port
		}
		in, err = pop3.Dial(ctx, endpoint(b, port, enc))
	}
	if err != nil {
		t.Fatalf("connect %s (%s): %v", proto, enc, err)
	}
	t.Cleanup(func() { in.Close() })
	if err := in.Authenticate(ctx, basicCreds(user)); err != nil {
		t.Fatalf("%s login as %s: %v", proto, user, err)
	}
	return in
}

// TestByteExactRetrieval puts messages that naive clients corrupt straight
// into a Maildir and reads them back over IMAP and POP3 (each with implicit
// TLS and STARTTLS): every byte must come back as stored.
func TestByteExactRetrieval(t *testing.T) {
	b := bed.Get(t)
	tricky := imaptest.TrickyMessages()
	names := make([]string, 0, len(tricky))
	for name := range tricky {
		names = append(names, name)
	}
	sort.Strings(names)
	bySubject := map[string]string{}
	for _, name := range names {
		if _, err := b.Deliver(exact, bytes.NewReader(tricky[name])); err != nil {
			t.Fatal(err)
		}
		bySubject[subjectOf(tricky[name])] = name
	}
	for _, tc := range []struct {
		proto string
		enc   mail.Encryption
	}{{"imap", mail.SSL}, {"imap", mail.StartTLS}, {"pop3", mail.SSL}, {"pop3", mail.StartTLS}} {
		t.Run(tc.proto+"-"+string(tc.enc), func(t *testing.T) {
			got := fetchAll(t, inbound(t, b, tc.proto, tc.enc, exact))
			if len(got) != len(names) {
				t.Fatalf("%d messages read back, want %d", len(got), len(names))
			}
			seen := map[string]bool{}
			for _, g := range got {
				name, ok := bySubject[subjectOf(g)]
				if !ok {
					t.Errorf("a message read back matches none stored: %s", abbrev(g))
					continue
				}
				seen[name] = true
				want := tricky[name]
				if tc.proto == "pop3" && !bytes.HasSuffix(want, []byte("\r\n")) {
					// POP3 ends a message with CRLF "." CRLF, so a message
					// without a final line break cannot come back without
					// one (RFC 1939 3); every other byte must.
					want = append(append([]byte(nil), want...), "\r\n"...)
				}
				if !bytes.Equal(g, want) {
					t.Errorf("%s: read back %s, want %s", name, abbrev(g), abbrev(want))
				}
			}
			if len(seen) != len(names) {
				t.Errorf("read back %d of the %d messages: %v", len(seen), len(names), seen)
			}
		})
	}
}

// subjectOf is the first Subject field's value.
func subjectOf(msg []byte) string {
	for _, line := range strings.Split(string(msg), "\r\n") {
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// bigMessage generates a message of at least size bytes with a base64
// attachment, line by line, hashing what it produces: the test itself never
// holds the message.
type bigMessage struct {
	size, n int
	i       int
	buf     []byte
	h       hash.Hash
	done    bool
}

func newBigMessage(size int) *bigMessage {
	m := &bigMessage{size: size, h: sha256.New()}
	m.buf = []byte("From: Big Sender <big@example.test>\r\nTo: big@example.test\r\nSubject: thirty megabytes\r\n" +
		"Message-ID: <big@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nThe attachment follows.\r\n" +
		"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	return m
}

func (m *bigMessage) Read(p []byte) (int, error) {
	for len(m.buf) == 0 {
		if m.done {
			return 0, io.EOF
		}
		if m.n >= m.size {
			m.buf, m.done = []byte("--B--\r\n"), true
			break
		}
		line := make([]byte, 57)
		for j := range line {
			line[j] = byte(m.i*7 + j*13)
		}
		m.i++
		m.buf = append([]byte(base64.StdEncoding.EncodeToString(line)), "\r\n"...)
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	m.n += n
	m.h.Write(p[:n])
	return n, nil
}

// TestThirtyMegabytesStreamWithFlatMemory fetches a 30 MB message over IMAP
// and POP3: it comes back intact while the heap grows by a fraction of it.
func TestThirtyMegabytesStreamWithFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 90 MB")
	}
	b := bed.Get(t)
	gen := newBigMessage(30 << 20)
	if _, err := b.Deliver(big, gen); err != nil {
		t.Fatal(err)
	}
	size, want := int64(gen.n), fmt.Sprintf("%x", gen.h.Sum(nil))

	// fetch streams the only message of the INBOX through consume and
	// returns its hash and the heap's peak growth meanwhile.
	fetch := func(t *testing.T, in mail.Inbound, consume func(io.Reader) (string, error)) (string, int64) {
		t.Helper()
		ctx := ctxFor(t, 60*time.Second)
		if _, err := in.Open(ctx, "INBOX"); err != nil {
			t.Fatal(err)
		}
		msgs, err := in.List(ctx, mail.Criteria{})
		if err != nil || len(msgs) != 1 || msgs[0].Size != size {
			t.Fatalf("List = %v, %v; want one message of %d bytes", msgs, err, size)
		}
		var sum string
		m := heapmeter.Start()
		err = in.Fetch(ctx, msgs, func(_ mail.Message, r io.Reader) error {
			var err error
			sum, err = consume(r)
			return err
		})
		g := m.Stop()
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		return sum, g
	}
	hashing := func(r io.Reader) (string, error) {
		h := sha256.New()
		_, err := io.Copy(h, r)
		return fmt.Sprintf("%x", h.Sum(nil)), err
	}
	const limit = 8 << 20
	for _, proto := range []string{"imap", "pop3"} {
		t.Run(proto, func(t *testing.T) {
			sum, growth := fetch(t, inbound(t, b, proto, mail.SSL, big), hashing)
			if sum != want {
				t.Errorf("the %d-byte message read back differs from the one stored", size)
			}
			t.Logf("peak heap growth while streaming %.1f MB over %s: %.1f MB", float64(size)/(1<<20), proto, float64(growth)/(1<<20))
			if growth > limit {
				t.Errorf("the heap grew by %.1f MB while streaming a %.0f MB message over %s, want under %d MB",
					float64(growth)/(1<<20), float64(size)/(1<<20), proto, limit>>20)
			}
		})
	}
	// The meter must see a message held whole, or the checks above prove
	// nothing.
	t.Run("meter-sees-buffering", func(t *testing.T) {
		_, buffered := fetch(t, inbound(t, b, "imap", mail.SSL, big), func(r io.Reader) (string, error) {
			all, err := io.ReadAll(r)
			return fmt.Sprintf("%x", sha256.Sum256(all)), err
		})
		if buffered < 30<<20 {
			t.Errorf("the heap meter saw %.1f MB while a 30 MB message was buffered; it cannot be trusted", float64(buffered)/(1<<20))
		}
	})
}
