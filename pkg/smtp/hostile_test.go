package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
)

// hostileTimeout is the step timeout of the hostile-server tests: every
// hang must end within about twice it.
const hostileTimeout = 500 * time.Millisecond

// startSMTP serves an SMTP session that greets and then runs act on the
// client's EHLO; with greet false, act runs instead of the greeting.
func startSMTP(t *testing.T, greet bool, act func(srv *hostile.Server, c net.Conn)) mail.Endpoint {
	t.Helper()
	ready := make(chan *hostile.Server, 1)
	srv := hostile.Start(t, func(c net.Conn) {
		s := <-ready
		ready <- s
		if !greet {
			act(s, c)
			return
		}
		io.WriteString(c, "220 mx.example.com ESMTP ready\r\n")
		if _, ok := hostile.ReadLine(hostile.Lines(c)); ok {
			act(s, c)
		}
	})
	ready <- srv
	return mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, Timeout: hostileTimeout}
}

// endlessEHLO sends "250-" capability lines forever.
func endlessEHLO(_ *hostile.Server, c net.Conn) {
	io.WriteString(c, "250-mx.example.com\r\n")
	hostile.Flood(c, bytes.Repeat([]byte("250-X-EXTENSION\r\n"), 1000))
}

func TestHostileSMTPServers(t *testing.T) {
	junk := []byte(strings.Repeat("x", 4096))
	cases := []struct {
		name  string
		greet bool
		act   func(srv *hostile.Server, c net.Conn)
		kind  error  // the sentinel the error wraps (nil: none)
		want  string // a part of the error's sentence
	}{
		{"endless greeting line", false, func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "220 ")
			hostile.Flood(c, junk)
		}, smtp.ErrLineTooLong, "read the greeting with 127.0.0.1:PORT: the SMTP server sent a reply line longer than 64 KiB"},
		{"endless EHLO line", true, func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "250-")
			hostile.Flood(c, junk)
		}, smtp.ErrLineTooLong, "EHLO with 127.0.0.1:PORT: the SMTP server sent a reply line longer than 64 KiB"},
		{"endless EHLO reply", true, endlessEHLO,
			smtp.ErrReplyTooLong, "EHLO with 127.0.0.1:PORT: the SMTP server sent a reply longer than 1,000 lines or 1 MiB"},
		{"greeting trickled forever", false, func(s *hostile.Server, c net.Conn) { hostile.Trickle(s, c, []byte("2"), 100*time.Millisecond) },
			smtp.ErrEndlessReply, "read the greeting: 127.0.0.1:PORT kept sending for 500ms"},
		{"EHLO lines trickled forever", true, func(s *hostile.Server, c net.Conn) {
			hostile.Trickle(s, c, []byte("250-PIPELINING\r\n"), 100*time.Millisecond)
		}, smtp.ErrEndlessReply, "EHLO: 127.0.0.1:PORT kept sending for 500ms"},
		{"silent after the greeting", true, func(s *hostile.Server, c net.Conn) { hostile.Stall(s, c) },
			nil, "EHLO: no answer from 127.0.0.1:PORT within 500ms"},
		{"part of a reply, then silence", true, func(s *hostile.Server, c net.Conn) {
			io.WriteString(c, "250-mx.example.com\r\n250-SIZE")
			hostile.Stall(s, c)
		}, nil, "EHLO: 127.0.0.1:PORT sent 28 octets of its reply and then nothing for 500ms"},
		{"silent instead of greeting (an HTTP or TLS server)", false, func(s *hostile.Server, c net.Conn) { hostile.Stall(s, c) },
			nil, "read the greeting: no answer from 127.0.0.1:PORT within 500ms; if the port expects TLS from the start (like 465), use encryption ssl"},
		{"POP3 greeting", false, func(_ *hostile.Server, c net.Conn) { io.WriteString(c, "+OK Dovecot ready.\r\n") },
			smtp.ErrNotSMTP, `read the greeting with 127.0.0.1:PORT: the server did not greet with an SMTP reply, so it is not an SMTP server: it sent "+OK Dovecot ready." (a POP3 server's greeting`},
		{"IMAP greeting", false, func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n")
		}, smtp.ErrNotSMTP, "(an IMAP server's greeting"},
		{"HTTP answer", false, func(_ *hostile.Server, c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") },
			smtp.ErrNotSMTP, `it sent "HTTP/1.1 400 Bad Request" (a web server's answer`},
		{"binary junk", false, func(_ *hostile.Server, c net.Conn) { c.Write([]byte("\x00\xff junk\r\n")) },
			smtp.ErrNotSMTP, `it sent "\x00\xff junk"`},
		{"a reply line with another code", true, func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "250-mx.example.com\r\n550 no\r\n")
		}, smtp.ErrBadReply, `EHLO with 127.0.0.1:PORT: the server sent a line with code 550 inside a reply with code 250: "550 no"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := startSMTP(t, tc.greet, tc.act)
			err := hostile.Bounded(t, 2*hostileTimeout, func() error {
				c, err := smtp.Dial(context.Background(), ep)
				if err == nil {
					c.Close()
				}
				return err
			})
			want := strings.ReplaceAll(tc.want, "PORT", fmt.Sprint(ep.Port))
			if err == nil || (tc.kind != nil && !errors.Is(err, tc.kind)) || !strings.Contains(err.Error(), want) {
				t.Fatalf("got error %v\nwant one wrapping %v and saying %q", err, tc.kind, want)
			}
			// A server that kept sending was not silent: the error must
			// not pass for a timeout, which a diagnosis reads as silence.
			var te interface{ Timeout() bool }
			if tc.kind == smtp.ErrEndlessReply && errors.As(err, &te) && te.Timeout() {
				t.Errorf("%v passes for a timeout", err)
			}
		})
	}
}

// The reply to a message is a step of its own: a server that trickles it
// forever is cut off too, and the error says so.
func TestHostileSMTPReplyToTheMessage(t *testing.T) {
	ready := make(chan *hostile.Server, 1)
	srv := hostile.Start(t, func(c net.Conn) {
		s := <-ready
		ready <- s
		io.WriteString(c, "220 mx.example.com ESMTP\r\n")
		br := hostile.Lines(c)
		data := false
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			switch {
			case data && line == ".":
				hostile.Trickle(s, c, []byte("250-queued\r\n"), 100*time.Millisecond)
				return
			case data:
			case strings.HasPrefix(line, "EHLO"):
				io.WriteString(c, "250-mx.example.com\r\n250 8BITMIME\r\n")
			case line == "DATA":
				io.WriteString(c, "354 go ahead\r\n")
				data = true
			default:
				io.WriteString(c, "250 ok\r\n")
			}
		}
	})
	ready <- srv
	ep := mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, Timeout: hostileTimeout}
	c, err := smtp.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Send(context.Background(), mail.Envelope{From: "a@example.com", To: []string{"b@example.com"}}, strings.NewReader("Subject: x\r\n\r\nhi\r\n"))
	took := time.Since(start)
	want := fmt.Sprintf("the reply to the message: %s kept sending for 500ms", ep.Addr())
	if !errors.Is(err, smtp.ErrEndlessReply) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if took > 2*hostileTimeout {
		t.Errorf("took %v", took)
	}
}

// The limits sit above TLS: an endless EHLO reply over implicit TLS ends
// the same way.
func TestHostileSMTPOverTLS(t *testing.T) {
	srv := hostile.StartTLS(t, func(c net.Conn) {
		io.WriteString(c, "220 mx.example.com ESMTP ready\r\n")
		if _, ok := hostile.ReadLine(hostile.Lines(c)); ok {
			endlessEHLO(nil, c)
		}
	})
	ep := mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.SSL, CAFile: srv.CAFile, Timeout: hostileTimeout}
	var err error
	grew := heapmeter.Peak(func() { _, err = smtp.Dial(context.Background(), ep) })
	if !errors.Is(err, smtp.ErrReplyTooLong) {
		t.Fatalf("got %v, want %v", err, smtp.ErrReplyTooLong)
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MB", grew>>20)
	}
}
