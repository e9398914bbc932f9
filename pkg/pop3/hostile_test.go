package pop3_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
)

// hostileTimeout is the step timeout of the hostile-server tests: every
// hang must end within about twice it.
const hostileTimeout = 500 * time.Millisecond

// startPOP3 serves a POP3 session that behaves until the client sends a
// command starting with on ("" means: misbehave instead of greeting), then
// runs act. Before that it greets, refuses CAPA (an RFC 1939 server),
// accepts USER and PASS and reports three messages in STAT.
func startPOP3(t *testing.T, on string, act func(srv *hostile.Server, c net.Conn)) mail.Endpoint {
	t.Helper()
	ready := make(chan *hostile.Server, 1)
	srv := hostile.Start(t, func(c net.Conn) {
		s := <-ready
		ready <- s
		if on == "" {
			act(s, c)
			return
		}
		io.WriteString(c, "+OK POP3 ready\r\n")
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			if strings.HasPrefix(line, on) {
				act(s, c)
				return
			}
			reply := "+OK\r\n"
			switch {
			case strings.HasPrefix(line, "CAPA"):
				reply = "-ERR unknown command\r\n"
			case strings.HasPrefix(line, "STAT"):
				reply = "+OK 3 300\r\n"
			case strings.HasPrefix(line, "QUIT"):
				io.WriteString(c, "+OK bye\r\n")
				return
			}
			if _, err := io.WriteString(c, reply); err != nil {
				return
			}
		}
	})
	ready <- srv
	return mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: hostileTimeout}
}

// listThrough runs what `mailport fetch` runs first: Dial, Authenticate,
// Open, List.
func listThrough(ep mail.Endpoint) error {
	ctx := context.Background()
	c, err := pop3.Dial(ctx, ep)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Authenticate(ctx, basic()); err != nil {
		return err
	}
	if _, err := c.Open(ctx, ""); err != nil {
		return err
	}
	_, err = c.List(ctx, mail.Criteria{})
	return err
}

// endless is n distinct UIDL (or LIST) lines, then more, forever.
func endlessListing(srv *hostile.Server, c net.Conn) {
	io.WriteString(c, "+OK listing follows\r\n")
	buf := make([]byte, 0, 64<<10)
	for i := 1; ; i++ {
		// As long as RFC 1939 allows: the worst case for memory.
		buf = fmt.Appendf(buf, "%d %070d\r\n", i, i)
		if len(buf) > 60<<10 {
			if _, err := c.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
}

func TestHostilePOP3Servers(t *testing.T) {
	junkLine := []byte(strings.Repeat("x", 4096))
	cases := []struct {
		name string
		on   string
		act  func(srv *hostile.Server, c net.Conn)
		kind error  // the sentinel the error wraps
		want string // a part of the error's sentence
	}{
		{"endless greeting line", "", func(_ *hostile.Server, c net.Conn) { hostile.Flood(c, junkLine) },
			pop3.ErrLineTooLong, "pop3: greeting: the POP3 server 127.0.0.1:PORT sent a line longer than 64 KiB"},
		{"endless line in the UIDL listing", "UIDL", func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "+OK\r\n1 ")
			hostile.Flood(c, junkLine)
		}, pop3.ErrLineTooLong, "pop3: UIDL: the POP3 server 127.0.0.1:PORT sent a line longer than 64 KiB"},
		{"endless UIDL listing", "UIDL", endlessListing,
			pop3.ErrListingTooLong, "pop3: UIDL: the UIDL listing of 127.0.0.1:PORT passed 300,000 entries"},
		{"greeting trickled forever", "", func(s *hostile.Server, c net.Conn) { hostile.Trickle(s, c, []byte("+"), 100*time.Millisecond) },
			pop3.ErrEndlessReply, "pop3: greeting: 127.0.0.1:PORT kept sending for 500ms"},
		{"UIDL listing trickled forever", "UIDL", func(s *hostile.Server, c net.Conn) {
			io.WriteString(c, "+OK\r\n")
			hostile.Trickle(s, c, []byte("1 a\r\n"), 100*time.Millisecond)
		}, pop3.ErrEndlessReply, "pop3: UIDL: 127.0.0.1:PORT kept sending for 500ms"},
		{"silent after the greeting", "USER", func(s *hostile.Server, c net.Conn) { hostile.Stall(s, c) },
			os.ErrDeadlineExceeded, "pop3: USER: no answer from 127.0.0.1:PORT within 500ms"},
		{"part of a reply, then silence", "USER", func(s *hostile.Server, c net.Conn) {
			io.WriteString(c, "+OK half")
			hostile.Stall(s, c)
		}, os.ErrDeadlineExceeded, "pop3: USER: 127.0.0.1:PORT sent 8 octets of its reply and then nothing for 500ms"},
		{"silent instead of greeting (an HTTP server)", "", func(s *hostile.Server, c net.Conn) { hostile.Stall(s, c) },
			os.ErrDeadlineExceeded, "pop3: greeting: no answer from 127.0.0.1:PORT within 500ms"},
		{"IMAP greeting", "", func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n")
		}, pop3.ErrNotPOP3, `did not greet with +OK, so it is not a POP3 server: it sent "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready." (an IMAP server's greeting: use protocol imap`},
		{"SMTP greeting", "", func(_ *hostile.Server, c net.Conn) { io.WriteString(c, "220 mx.example.com ESMTP Postfix\r\n") },
			pop3.ErrNotPOP3, "(an SMTP server's greeting"},
		{"HTTP answer", "", func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		}, pop3.ErrNotPOP3, `it sent "HTTP/1.1 400 Bad Request" (a web server's answer`},
		{"binary junk", "", func(_ *hostile.Server, c net.Conn) { c.Write([]byte("\x00\xff\xfe junk\r\n")) },
			pop3.ErrNotPOP3, `it sent "\x00\xff\xfe junk"`},
	}
	// A flood gets a long timeout, so that on a busy machine the limit,
	// not the clock, ends it.
	longer := map[string]time.Duration{"endless UIDL listing": 20 * time.Second}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := startPOP3(t, tc.on, tc.act)
			timeout := hostileTimeout
			if d := longer[tc.name]; d > 0 {
				timeout, ep.Timeout = d, d
			}
			err := hostile.Bounded(t, 2*timeout, func() error { return listThrough(ep) })
			want := strings.ReplaceAll(tc.want, "PORT", fmt.Sprint(ep.Port))
			if err == nil || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), want) {
				t.Fatalf("got error %v\nwant one wrapping %v and saying %q", err, tc.kind, want)
			}
			// A server that kept sending was not silent: the error must
			// not pass for a timeout, which a diagnosis reads as silence.
			var te interface{ Timeout() bool }
			if tc.kind == pop3.ErrEndlessReply && errors.As(err, &te) && te.Timeout() {
				t.Errorf("%v passes for a timeout", err)
			}
		})
	}
}

// The limits and deadlines sit above TLS: a UIDL listing trickled forever
// over implicit TLS ends the same way.
func TestHostilePOP3OverTLS(t *testing.T) {
	ready := make(chan *hostile.Server, 1)
	srv := hostile.StartTLS(t, func(c net.Conn) {
		s := <-ready
		ready <- s
		io.WriteString(c, "+OK ready\r\n")
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			if line == "UIDL" {
				io.WriteString(c, "+OK\r\n")
				hostile.Trickle(s, c, []byte("1 a\r\n"), 100*time.Millisecond)
				return
			}
			reply := "+OK\r\n"
			switch line {
			case "CAPA":
				reply = "-ERR\r\n"
			case "STAT":
				reply = "+OK 1 10\r\n"
			}
			io.WriteString(c, reply)
		}
	})
	ready <- srv
	ep := mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.SSL, CAFile: srv.CAFile, Timeout: hostileTimeout}
	start := time.Now()
	err := listThrough(ep)
	if !errors.Is(err, pop3.ErrEndlessReply) || !strings.Contains(err.Error(), "kept sending for 500ms") {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(start); took > 2*hostileTimeout {
		t.Errorf("took %v", took)
	}
}
