package pop3_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// goPOP3Retr models how github.com/knadh/go-pop3 v1.0.0 reads a RETR reply
// (Conn.ReadAll in pop3.go): a bufio.Reader of the default 4096 octets,
// ReadLine with its isPrefix result ignored, every piece followed by CRLF,
// and the stuffed dot left in place. It is kept here, rather than the module
// imported, to document why mailport does not use it.
func goPOP3Retr(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		piece, _, err := r.ReadLine() // isPrefix dropped: a long line comes back in pieces
		if err != nil {
			return nil, err
		}
		if string(piece) == "." {
			return buf.Bytes(), nil
		}
		buf.Write(piece) // no dot-unstuffing
		buf.WriteString("\r\n")
	}
}

// retrWire logs in with USER/PASS on a raw connection, sends RETR 1 and
// returns the reader positioned at the start of the message.
func retrWire(t *testing.T, s *pop3test.Server) *bufio.Reader {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn) // 4096 octets, as in go-pop3
	fmt.Fprintf(conn, "USER %s\r\nPASS %s\r\nRETR 1\r\n", user, password)
	for i := 0; i < 4; i++ { // greeting, USER, PASS, RETR status
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("status line %d: %q, %v", i, line, err)
		}
	}
	return r
}

// TestGoPOP3WouldCorruptWhatWeRetrieveIntact shows the two corruptions that
// rule out go-pop3 v1.0.0 — a line starting with "." keeps its stuffed dot,
// a 10 KB line is cut into 4096-octet lines — and that this package returns
// the same messages byte for byte.
func TestGoPOP3WouldCorruptWhatWeRetrieveIntact(t *testing.T) {
	long := strings.Repeat("abcdefghij", 1000) // 10 000 octets
	cases := []struct {
		name, msg, goPOP3Gives string
	}{
		{
			name:        "line starting with a dot",
			msg:         "Subject: dot\r\n\r\n.signature\r\n..\r\n",
			goPOP3Gives: "Subject: dot\r\n\r\n..signature\r\n...\r\n",
		},
		{
			name:        "10 KB line",
			msg:         "Subject: long\r\n\r\n" + long + "\r\n",
			goPOP3Gives: "Subject: long\r\n\r\n" + long[:4096] + "\r\n" + long[4096:8192] + "\r\n" + long[8192:] + "\r\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, pop3test.Options{NoPlain: true})
			id := s.AddMessage([]byte(tc.msg))

			theirs, err := goPOP3Retr(retrWire(t, s))
			if err != nil {
				t.Fatal(err)
			}
			if string(theirs) != tc.goPOP3Gives {
				t.Fatalf("the go-pop3 model gave %q, expected the documented corruption %q", trunc(theirs), tc.goPOP3Gives[:min(200, len(tc.goPOP3Gives))])
			}
			if string(theirs) == tc.msg {
				t.Fatal("the go-pop3 model did not corrupt the message; the case proves nothing")
			}

			c := login(t, s.Endpoint(), basic())
			var ours []byte
			err = c.Fetch(context.Background(), []mail.Message{{ID: id}}, func(_ mail.Message, r io.Reader) error {
				ours, err = io.ReadAll(r)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(ours) != tc.msg {
				t.Errorf("pop3 gave %q, want %q", trunc(ours), tc.msg[:min(200, len(tc.msg))])
			}
		})
	}
}
