package imap_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/hostile"
	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
)

// hostileTimeout is the step timeout of the hostile-server tests.
const hostileTimeout = 500 * time.Millisecond

// heapCeiling is the most the heap may grow in any hostile-server test.
const heapCeiling = 64 << 20

// floodCap is where the scripts below stop flooding: far past every
// limit of the adapter, yet small enough that an adapter without limits
// fails the heap check instead of exhausting the machine.
const floodCap = 256 << 20

// answer writes the reply to one command; tag is the command's tag, cmd
// its upper-cased name ("UID FETCH" for UID commands) and args the rest.
// It returns false to end the conversation (the connection is closed).
type answer func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool

// fakeIMAP is a scripted IMAP server: it greets, then answers each
// command with the answer registered for it, or an honest default (a
// folder INBOX with UIDVALIDITY 7 and messages UID 1 and 2).
func fakeIMAP(t *testing.T, greeting string, answers map[string]answer) mail.Endpoint {
	t.Helper()
	return fakeIMAPOn(t, false, greeting, answers)
}

// fakeIMAPOn is fakeIMAP, behind implicit TLS when tls is set.
func fakeIMAPOn(t *testing.T, tls bool, greeting string, answers map[string]answer) mail.Endpoint {
	t.Helper()
	srv := startHostileOn(t, tls, func(srv *hostile.Server, c net.Conn) {
		if greeting != "" {
			io.WriteString(c, greeting+"\r\n")
		}
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			tag, rest, _ := strings.Cut(line, " ")
			cmd, args, _ := strings.Cut(rest, " ")
			cmd = strings.ToUpper(cmd)
			if cmd == "UID" {
				var sub string
				sub, args, _ = strings.Cut(args, " ")
				cmd += " " + strings.ToUpper(sub)
			}
			if a, ok := answers[cmd]; ok {
				if !a(srv, c, tag, cmd, args) {
					return
				}
				continue
			}
			if !honest(c, tag, cmd, args) {
				return
			}
		}
	})
	ep := mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: hostileTimeout}
	if tls {
		ep.Encryption, ep.CAFile = mail.SSL, srv.CAFile
	}
	return ep
}

// startHostile is hostile.Start for scripts that need their server.
func startHostile(t *testing.T, script func(s *hostile.Server, c net.Conn)) *hostile.Server {
	t.Helper()
	return startHostileOn(t, false, script)
}

// startHostileOn is startHostile, behind implicit TLS when tls is set.
func startHostileOn(t *testing.T, tls bool, script func(s *hostile.Server, c net.Conn)) *hostile.Server {
	t.Helper()
	ready := make(chan struct{})
	var srv *hostile.Server
	start := hostile.Start
	if tls {
		start = hostile.StartTLS
	}
	srv = start(t, func(c net.Conn) {
		<-ready
		script(srv, c)
	})
	close(ready)
	return srv
}

// honest answers cmd as a small, well-behaved server would.
func honest(c net.Conn, tag, cmd, args string) bool {
	w := func(lines ...string) { io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	switch cmd {
	case "CAPABILITY":
		w("* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS MOVE", tag+" OK done")
	case "LOGIN":
		w(tag + " OK logged in")
	case "LIST":
		w(`* LIST () "/" INBOX`, tag+" OK done")
	case "SELECT":
		w("* 2 EXISTS", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 3] ok", tag+" OK [READ-WRITE] selected")
	case "UID SEARCH":
		w("* SEARCH 1 2", tag+" OK done")
	case "UID FETCH":
		if strings.Contains(args, "BODY") {
			for _, uid := range strings.Split(strings.Fields(args)[0], ",") {
				body := "Subject: " + uid + "\r\n\r\nhello\r\n"
				w(fmt.Sprintf("* %s FETCH (UID %s BODY[] {%d}", uid, uid, len(body)) + "\r\n" + body + ")")
			}
			w(tag + " OK done")
			return true
		}
		w(`* 1 FETCH (UID 1 RFC822.SIZE 100 INTERNALDATE "01-Sep-2024 10:00:00 +0000")`,
			`* 2 FETCH (UID 2 RFC822.SIZE 200 INTERNALDATE "02-Sep-2024 10:00:00 +0000")`, tag+" OK done")
	case "UID STORE", "UID EXPUNGE", "NOOP":
		w(tag + " OK done")
	case "LOGOUT":
		w("* BYE bye", tag+" OK done")
		return false
	default:
		w(tag + " BAD unknown command")
	}
	return true
}

// flood answers with head, then floods chunk until floodCap.
func flood(head, chunk string) answer {
	return func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		io.WriteString(c, head)
		b := []byte(strings.Repeat(chunk, max(1, 64<<10/len(chunk))))
		for n := 0; n < floodCap; n += len(b) {
			if _, err := c.Write(b); err != nil {
				return false
			}
		}
		hostile.Stall(s, c)
		return false
	}
}

// trickle answers with head, then sends chunk every 50 ms forever.
func trickle(head, chunk string) answer {
	return func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		io.WriteString(c, head)
		hostile.Trickle(s, c, []byte(chunk), 50*time.Millisecond)
		return false
	}
}

// session runs the client through greeting, capabilities, login, select
// of folder, listing and fetch, and returns the first error.
func session(ctx context.Context, ep mail.Endpoint, folder string) error {
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Capabilities(ctx); err != nil {
		return err
	}
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
		return err
	}
	if _, err := c.Open(ctx, folder); err != nil {
		return err
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		return err
	}
	return c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
}

// measured runs fn and reports its error, how long it took and the heap's
// peak growth, and fails the test past 2 × the step timeout (plus slack
// for a loaded machine) or past the heap ceiling.
func measured(t *testing.T, fn func() error) error {
	t.Helper()
	var err error
	var took time.Duration
	growth := heapmeter.Peak(func() {
		start := time.Now()
		err = fn()
		took = time.Since(start)
	})
	t.Logf("error: %v", err)
	t.Logf("took %s, heap grew by %.1f MB", took.Round(time.Millisecond), float64(growth)/(1<<20))
	if took > 2*hostileTimeout+time.Second {
		t.Errorf("took %s, want within about 2 × the %s step timeout", took, hostileTimeout)
	}
	if growth > heapCeiling {
		t.Errorf("heap grew by %.1f MB, want under %d MB", float64(growth)/(1<<20), heapCeiling>>20)
	}
	return err
}

// wantServerError checks err is a *mpimap.ServerError of kind whose
// sentence holds text.
func wantServerError(t *testing.T, err error, kind mpimap.FaultKind, text string) {
	t.Helper()
	var se *mpimap.ServerError
	if !errors.As(err, &se) || se.Kind != kind {
		t.Fatalf("error = %v, want a *ServerError of kind %s", err, kind)
	}
	if !strings.Contains(err.Error(), text) || !strings.Contains(err.Error(), "the IMAP server at 127.0.0.1:") {
		t.Errorf("error = %q, want it to name the server and say %q", err, text)
	}
}

func TestHostileEndlessLine(t *testing.T) {
	cases := []struct {
		name    string
		greet   string
		folder  string
		answers map[string]answer
		kind    mpimap.FaultKind
		want    string
	}{
		{"greeting", "", "INBOX", nil, mpimap.FaultLineTooLong, "sent a greeting line longer than 8 KiB"},
		{"capability", "* OK ready", "INBOX", map[string]answer{"CAPABILITY": flood("* CAPABILITY IMAP4rev1 ", "X")},
			mpimap.FaultLineTooLong, "sent a line longer than 256 KiB in the reply to CAPABILITY"},
		{"list", "* OK ready", "INBOX/Sub", map[string]answer{"LIST": flood(`* LIST () "/" INBOX`, "x")},
			mpimap.FaultLineTooLong, `sent a line longer than 256 KiB in the reply to LIST "" ""`},
		{"select", "* OK ready", "INBOX", map[string]answer{"SELECT": flood(`* FLAGS (\Seen `, "a ")},
			mpimap.FaultLineTooLong, `sent a line longer than 256 KiB in the reply to SELECT "INBOX"`},
		{"listing", "* OK ready", "INBOX", map[string]answer{"UID FETCH": flood(`* 1 FETCH (UID 1 RFC822.SIZE 5 INTERNALDATE "`, "x")},
			mpimap.FaultLineTooLong, "sent a line longer than 256 KiB in a listing reply"},
	}
	t.Run("capability over TLS", func(t *testing.T) {
		ep := fakeIMAPOn(t, true, "* OK ready", map[string]answer{"CAPABILITY": flood("* CAPABILITY IMAP4rev1 ", "X")})
		err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
		wantStopped(t, err, mpimap.FaultLineTooLong, "sent a line longer than 256 KiB in the reply to CAPABILITY")
	})
	t.Run("listing over TLS", func(t *testing.T) {
		ep := fakeIMAPOn(t, true, "* OK ready", map[string]answer{"UID FETCH": flood("* 1 FETCH (UID 1 BODY[] {10000000000}\r\n", "x")})
		err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
		wantServerError(t, err, mpimap.FaultLiteralTooBig, "sent a 10 GB literal in a listing reply")
	})
	t.Run("STARTTLS", func(t *testing.T) {
		ep := fakeIMAP(t, "* OK ready", map[string]answer{"STARTTLS": flood("* OK ", "x")})
		ep.Encryption = mail.StartTLS
		err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
		wantServerError(t, err, mpimap.FaultLineTooLong, "sent a line longer than 8 KiB in reply to STARTTLS")
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answers := tc.answers
			var ep mail.Endpoint
			if tc.greet == "" {
				srv := hostile.Start(t, func(c net.Conn) {
					io.WriteString(c, "* OK ")
					hostile.Flood(c, []byte(strings.Repeat("x", 4096)))
				})
				ep = mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: hostileTimeout}
			} else {
				ep = fakeIMAP(t, tc.greet, answers)
			}
			err := measured(t, func() error { return session(context.Background(), ep, tc.folder) })
			wantStopped(t, err, tc.kind, tc.want)
		})
	}
}

// wantStopped accepts either end of a server that keeps sending: the
// limit named (a *ServerError of kind saying text), or, when imapclient's
// decoder could not keep up with the server before the step timeout, the
// deadline, saying the reply never finished.
func wantStopped(t *testing.T, err error, kind mpimap.FaultKind, text string) {
	t.Helper()
	var se *mpimap.ServerError
	if errors.As(err, &se) {
		wantServerError(t, err, kind, text)
		return
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "did not finish its reply within 500ms (it sent ") {
		t.Errorf("error = %v, want %q or a deadline saying the reply never finished", err, text)
	}
}

func TestHostileHugeLiteral(t *testing.T) {
	huge := "{10000000000}\r\n"
	cases := []struct {
		name, folder string
		answers      map[string]answer
		kind         mpimap.FaultKind
		want         string
	}{
		// The reply names its UID first: the listing sees the literal
		// and refuses it before reading a byte.
		{"listing", "INBOX", map[string]answer{"UID FETCH": flood(`* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[] `+huge, "x")},
			mpimap.FaultLiteralTooBig, "sent a 10 GB literal in a listing reply, which asks for none"},
		// No UID before the literal: imapclient drops the reply, and the
		// byte count stops it.
		{"listing without UID", "INBOX", map[string]answer{"UID FETCH": flood(`* 1 FETCH (BODY[] `+huge, "x")},
			mpimap.FaultLiteralTooBig, "sent a 10 GB literal in a listing reply"},
		{"list", "INBOX/Sub", map[string]answer{"LIST": flood(`* LIST () "/" `+huge, "x")},
			mpimap.FaultLiteralTooBig, `sent a 10 GB literal in the reply to LIST "" ""`},
		{"capability", "INBOX", map[string]answer{"CAPABILITY": flood(`* OK [ALERT] `+huge, "x")},
			mpimap.FaultLiteralTooBig, `sent a 10 GB literal in the reply to CAPABILITY`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := fakeIMAP(t, "* OK ready", tc.answers)
			err := measured(t, func() error { return session(context.Background(), ep, tc.folder) })
			wantServerError(t, err, tc.kind, tc.want)
		})
	}
}

func TestHostileUnrequestedLiteralDuringFetch(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if !strings.Contains(args, "BODY") {
			return honest(c, tag, cmd, args)
		}
		// UID 7 was never asked for.
		return flood("* 7 FETCH (UID 7 BODY[] {10000000000}\r\n", "x")(s, c, tag, cmd, args)
	}})
	err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
	wantServerError(t, err, mpimap.FaultLiteralTooBig, "sent a 10 GB literal in the reply to UID FETCH")
}

// A body literal far beyond the message's RFC822.SIZE (listed at 100
// octets, announced at 10 GB) is refused before a byte of it is read: at
// the server's pace it would fill the disk. The message stays on the
// server.
func TestHostileBodyFarBeyondItsSize(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if !strings.Contains(args, "BODY") {
			return honest(c, tag, cmd, args)
		}
		return flood("* 1 FETCH (UID 1 BODY[] {10000000000}\r\n", "x")(s, c, tag, cmd, args)
	}})
	err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
	wantServerError(t, err, mpimap.FaultLiteralTooBig, "sent a 10 GB literal for UID 1, listed at 100 bytes; the message stays on the server")
}

func TestHostileFlood(t *testing.T) {
	cases := []struct {
		name, folder string
		answers      map[string]answer
		want         string
	}{
		{"untagged OK", "INBOX", map[string]answer{"CAPABILITY": flood("", "* OK still here\r\n")},
			"sent more than 4096 KiB in the reply to CAPABILITY without finishing it"},
		{"LIST replies", "INBOX/Sub", map[string]answer{"LIST": flood("", `* LIST () "/" INBOX`+"\r\n")},
			`sent more than 4096 KiB in the reply to LIST "" "" without finishing it`},
		{"EXISTS", "INBOX", map[string]answer{"SELECT": flood("", "* 1 EXISTS\r\n")},
			`sent more than 4096 KiB in the reply to SELECT "INBOX" without finishing it`},
		{"FETCH replies for UIDs never asked for", "INBOX", map[string]answer{"UID FETCH": flood("", "* 9 FETCH (UID 9 RFC822.SIZE 1)\r\n")},
			"KiB in a listing reply without finishing it"},
		{"between bodies", "INBOX", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			if !strings.Contains(args, "BODY") {
				return honest(c, tag, cmd, args)
			}
			return flood("* 1 FETCH (UID 1 BODY[] {5}\r\nhello)\r\n", "* 3 EXISTS\r\n")(s, c, tag, cmd, args)
		}}, "sent more than 4096 KiB in the reply to UID FETCH without finishing it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := fakeIMAP(t, "* OK ready", tc.answers)
			err := measured(t, func() error { return session(context.Background(), ep, tc.folder) })
			wantStopped(t, err, mpimap.FaultFlood, tc.want)
		})
	}
}

func TestHostileTrickle(t *testing.T) {
	cases := []struct {
		name, greeting string
		answers        map[string]answer
		want           string
	}{
		{"greeting", "", nil, "did not finish its greeting within 500ms"},
		{"capability", "* OK ready", map[string]answer{"CAPABILITY": trickle("* CAPABILITY IMAP4rev1", " X")},
			"imap CAPABILITY: 127.0.0.1:"},
		{"untagged lines", "* OK ready", map[string]answer{"UID SEARCH": trickle("", "* OK still searching\r\n")},
			"imap UID SEARCH: 127.0.0.1:"},
		{"listing", "* OK ready", map[string]answer{"UID FETCH": trickle(`* 1 FETCH (UID 1 RFC822.SIZE 5 INTERNALDATE "01-Sep-2024`, "0")},
			"imap UID FETCH (RFC822.SIZE INTERNALDATE): 127.0.0.1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ep mail.Endpoint
			if tc.greeting == "" {
				srv := startHostile(t, func(srv *hostile.Server, c net.Conn) { hostile.Trickle(srv, c, []byte("*"), 50*time.Millisecond) })
				ep = mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: hostileTimeout}
			} else {
				ep = fakeIMAP(t, tc.greeting, tc.answers)
			}
			err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
			if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "500ms") {
				t.Errorf("error = %v, want a deadline naming 500ms and %q", err, tc.want)
			}
		})
	}
}

// A body that trickles in never leaves a read waiting a whole step, yet
// must end: the message has a deadline fixed when it starts.
func TestHostileTrickledBody(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if !strings.Contains(args, "BODY") {
			return honest(c, tag, cmd, args)
		}
		return trickle("* 1 FETCH (UID 1 BODY[] {2048}\r\n", "x")(s, c, tag, cmd, args)
	}})
	start := time.Now()
	err := session(context.Background(), ep, "INBOX")
	took := time.Since(start)
	t.Logf("error: %v; took %s", err, took)
	wantServerError(t, err, mpimap.FaultTooSlow, "took longer than 1s to send a 2 kB message (slower than 4 KiB/s)")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("error = %v, want os.ErrDeadlineExceeded in its chain", err)
	}
	// 500ms of grace plus 2048 bytes at 4 KiB/s.
	if took > 3*time.Second {
		t.Errorf("took %s, want about 1s", took)
	}
}

func TestHostileSilentAfterGreeting(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"CAPABILITY": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		hostile.Stall(s, c)
		return false
	}})
	err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "did not answer within 500ms") {
		t.Errorf("error = %v, want a deadline naming 500ms", err)
	}
}

func TestHostileWrongProtocol(t *testing.T) {
	cases := []struct {
		name  string
		greet string
		want  string
	}{
		{"POP3", "+OK Dovecot ready.", `greeted with "+OK Dovecot ready.", which is a POP3 server's greeting`},
		{"SMTP", "220 mx.example.com ESMTP Postfix", `greeted with "220 mx.example.com ESMTP Postfix", which is an SMTP server's greeting`},
		{"HTTP", "HTTP/1.1 400 Bad Request", `greeted with "HTTP/1.1 400 Bad Request", which is a web server's answer`},
		{"junk", "\x00\xff\xfe\x16\x03 garbage", `greeted with "\x00\xff\xfe\x16\x03 garbage", which is not an IMAP greeting`},
		{"untagged but not IMAP", "* HELLO there", `which is not an IMAP greeting (it must be * OK, * PREAUTH or * BYE)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := fakeIMAP(t, tc.greet, nil)
			err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
			wantServerError(t, err, mpimap.FaultNotIMAP, tc.want)
		})
	}
	t.Run("TLS when plain expected", func(t *testing.T) {
		srv := hostile.StartTLS(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		ep := mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: hostileTimeout}
		err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "sent no greeting within 500ms (a port that expects TLS from the first byte stays silent like this; there, use encryption ssl)") {
			t.Errorf("error = %v, want a missing greeting that suggests encryption ssl", err)
		}
	})
	t.Run("plain when TLS expected", func(t *testing.T) {
		ep := fakeIMAP(t, "* OK ready", nil)
		ep.Encryption = mail.SSL
		err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
		if err == nil || !strings.Contains(err.Error(), "tls handshake with 127.0.0.1:") {
			t.Errorf("error = %v, want a failed TLS handshake", err)
		}
	})
}

// replyLines answers a command with fixed lines and the tagged OK.
func replyLines(lines ...string) answer {
	return func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		io.WriteString(c, strings.Join(append(lines, tag+" OK done"), "\r\n")+"\r\n")
		return true
	}
}

// listIDs lists INBOX and returns the IDs.
func listIDs(t *testing.T, ep mail.Endpoint) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		return nil, err
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids, err
}

func TestHostileUIDs(t *testing.T) {
	date := ` INTERNALDATE "01-Sep-2024 10:00:00 +0000"`
	cases := []struct {
		name    string
		answers map[string]answer
		want    []string // IDs listed, when no error
		kind    mpimap.FaultKind
		err     string // the error's text, when one is expected
	}{
		{"duplicate UID in the listing", map[string]answer{"UID FETCH": replyLines(
			"* 1 FETCH (UID 1 RFC822.SIZE 100"+date+")", "* 1 FETCH (UID 1 RFC822.SIZE 999"+date+")",
			"* 2 FETCH (UID 2 RFC822.SIZE 200"+date+")")}, []string{"1", "2"}, "", ""},
		{"UIDs never asked for", map[string]answer{"UID FETCH": replyLines(
			"* 1 FETCH (UID 1 RFC822.SIZE 100"+date+")", "* 5 FETCH (UID 77 RFC822.SIZE 1"+date+")",
			"* 2 FETCH (UID 2 RFC822.SIZE 200"+date+")")}, []string{"1", "2"}, "", ""},
		{"a message expunged between SEARCH and FETCH", map[string]answer{
			"UID FETCH":  replyLines("* 1 FETCH (UID 1 RFC822.SIZE 100" + date + ")"),
			"UID SEARCH": searchThenGone(),
		}, []string{"1"}, "", ""},
		{"FETCH reply without UID", map[string]answer{"UID FETCH": replyLines(
			"* 1 FETCH (UID 1 RFC822.SIZE 100"+date+")", "* 2 FETCH (RFC822.SIZE 200"+date+")")},
			nil, mpimap.FaultBadUID, "sent no usable listing reply for 1 message(s) it still has (UID 2)"},
		{"FETCH reply with UID 0", map[string]answer{"UID FETCH": replyLines(
			"* 1 FETCH (UID 0 RFC822.SIZE 100"+date+")", "* 2 FETCH (UID 2 RFC822.SIZE 200"+date+")")},
			nil, mpimap.FaultBadUID, "sent no usable listing reply for 1 message(s) it still has (UID 1)"},
		{"UID 0 in SEARCH", map[string]answer{"UID SEARCH": replyLines("* SEARCH 0 2")},
			nil, mpimap.FaultBadUID, "answered UID SEARCH with UID 0 or *, which no message has"},
		{"a range to 4294967295 in ESEARCH", map[string]answer{"UID SEARCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			io.WriteString(c, `* ESEARCH (TAG "`+tag+`") UID ALL 1:4294967295`+"\r\n"+tag+" OK done\r\n")
			return true
		}},
			nil, mpimap.FaultBadUID, "answered UID SEARCH with more than 1000000 UIDs"},
		{"absurd RFC822.SIZE", map[string]answer{"UID FETCH": replyLines(
			"* 1 FETCH (UID 1 RFC822.SIZE 9000000000000000000" + date + ")")},
			nil, mpimap.FaultBadUID, "reported an RFC822.SIZE of 9 EB for UID 1"},
		{"no UIDVALIDITY", map[string]answer{"SELECT": replyLines("* 2 EXISTS")},
			nil, mpimap.FaultNoUIDValidity, `sent no UIDVALIDITY for folder "INBOX"`},
		{"UIDVALIDITY 0", map[string]answer{"SELECT": replyLines("* 2 EXISTS", "* OK [UIDVALIDITY 0] ok")},
			nil, mpimap.FaultNoUIDValidity, `sent no UIDVALIDITY for folder "INBOX"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := fakeIMAP(t, "* OK ready", tc.answers)
			var ids []string
			err := measured(t, func() error {
				var err error
				ids, err = listIDs(t, ep)
				return err
			})
			if tc.err != "" {
				wantServerError(t, err, tc.kind, tc.err)
				return
			}
			if err != nil || strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Errorf("List = %v, %v; want %v", ids, err, tc.want)
			}
		})
	}
}

// searchThenGone lists UIDs 1 and 2 at first; asked again about UID 2,
// finds nothing (it was expunged).
func searchThenGone() answer {
	return func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if strings.HasPrefix(args, "UID ") {
			io.WriteString(c, "* SEARCH\r\n"+tag+" OK done\r\n")
			return true
		}
		io.WriteString(c, "* SEARCH 1 2\r\n"+tag+" OK done\r\n")
		return true
	}
}

// A message the server sends twice, or for a UID never asked for, is
// delivered once, and only what was asked for.
func TestHostileFetchDuplicates(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		if !strings.Contains(args, "BODY") {
			return honest(c, tag, cmd, args)
		}
		body := func(uid int, text string) string {
			return fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n", uid, uid, len(text), text)
		}
		io.WriteString(c, body(1, "first")+body(1, "again")+body(9, "never asked")+body(2, "second")+tag+" OK done\r\n")
		return true
	}})
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Fetch(ctx, []mail.Message{{ID: "1"}, {ID: "2"}}, func(m mail.Message, r io.Reader) error {
		b, err := io.ReadAll(bufio.NewReader(r))
		got = append(got, m.ID+"="+string(b))
		return err
	})
	if err != nil || strings.Join(got, " ") != "1=first 2=second" {
		t.Errorf("Fetch delivered %q, %v; want each message once: [1=first 2=second]", got, err)
	}
}

// A refusal keeps the server's words, but not a megabyte of them.
func TestHostileHugeRefusal(t *testing.T) {
	words := "NO [AUTHENTICATIONFAILED] " + strings.Repeat("no ", 60<<10)
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"LOGIN": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		io.WriteString(c, tag+" "+words+"\r\n")
		return true
	}})
	err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
	var ae *mail.AuthError
	if !errors.As(err, &ae) || !strings.HasPrefix(ae.Text, "NO [AUTHENTICATIONFAILED] no no") {
		t.Fatalf("error = %.200v, want a *mail.AuthError with the server's words", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("the error is %d bytes long, want the server's words cut to one sentence", len(err.Error()))
	}
}

// The UID SEARCH line may be long (a million UIDs), so its limit is
// higher; the worst it can do, UIDs that never form a range, stays under
// the heap ceiling when read to the limit.
func TestHostileEndlessSearch(t *testing.T) {
	for _, tc := range []struct {
		name, exists, want string
	}{
		{"a folder of 2 messages", "2", "sent a line longer than 64 KiB in the reply to UID SEARCH"},
		{"a folder of 2000000 messages", "2000000", "sent a line longer than 12288 KiB in the reply to UID SEARCH"},
	} {
		t.Run(tc.name, func(t *testing.T) { endlessSearch(t, tc.exists, tc.want) })
	}
}

func endlessSearch(t *testing.T, exists, want string) {
	if raceDetector && exists != "2" {
		t.Skip("reading 12 MiB through imapclient's decoder takes minutes under -race")
	}
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"SELECT": replyLines("* "+exists+" EXISTS", "* OK [UIDVALIDITY 7] ok"), "UID SEARCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		w := bufio.NewWriterSize(c, 64<<10)
		w.WriteString("* SEARCH")
		for n, sent := 1, 0; sent < 20<<20; n += 2 {
			k, err := fmt.Fprintf(w, " %d", n)
			if err != nil {
				return false
			}
			sent += k
		}
		w.Flush()
		hostile.Stall(s, c)
		return false
	}})
	// Long enough for the decoder to reach the limit on a loaded machine.
	ep.Timeout = 20 * time.Second
	var err error
	var took time.Duration
	growth := heapmeter.Peak(func() {
		start := time.Now()
		err = session(context.Background(), ep, "INBOX")
		took = time.Since(start)
	})
	t.Logf("error: %v; took %s, heap grew by %.1f MB", err, took.Round(time.Millisecond), float64(growth)/(1<<20))
	wantServerError(t, err, mpimap.FaultLineTooLong, want)
	if growth > heapCeiling {
		t.Errorf("heap grew by %.1f MB, want under %d MB", float64(growth)/(1<<20), heapCeiling>>20)
	}
}

// The listing goes in batches of at most 1000 UIDs, each its own command,
// and comes back whole and in order.
func TestListingBatches(t *testing.T) {
	var mu sync.Mutex
	var batches []string
	ep := fakeIMAP(t, "* OK ready", map[string]answer{
		"SELECT": replyLines("* 2500 EXISTS", "* OK [UIDVALIDITY 7] ok"),
		"UID SEARCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			io.WriteString(c, `* ESEARCH (TAG "`+tag+`") UID ALL 1:2500`+"\r\n"+tag+" OK done\r\n")
			return true
		},
		"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			set := strings.Fields(args)[0]
			mu.Lock()
			batches = append(batches, set)
			mu.Unlock()
			var from, to int
			if _, err := fmt.Sscanf(set, "%d:%d", &from, &to); err != nil {
				io.WriteString(c, tag+" BAD "+set+"\r\n")
				return true
			}
			w := bufio.NewWriter(c)
			for uid := to; uid >= from; uid-- { // any order the server likes
				fmt.Fprintf(w, "* %d FETCH (UID %d RFC822.SIZE %d INTERNALDATE \"01-Sep-2024 10:00:00 +0000\")\r\n", uid, uid, uid*10)
			}
			fmt.Fprintf(w, "%s OK done\r\n", tag)
			w.Flush()
			return true
		},
	})
	ids, err := listIDs(t, ep)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(batches, " ") != "1:1000 1001:2000 2001:2500" {
		t.Errorf("listing commands asked for %v, want 1:1000 1001:2000 2001:2500", batches)
	}
	if len(ids) != 2500 || ids[0] != "1" || ids[2499] != "2500" {
		t.Fatalf("List returned %d IDs (%v ... %v), want 1 to 2500", len(ids), ids[:min(3, len(ids))], ids[max(0, len(ids)-3):])
	}
	for i, id := range ids {
		if id != fmt.Sprint(i+1) {
			t.Fatalf("ID %d is %s, want ascending UIDs", i, id)
		}
	}
}

// A level that holds the server's delimiter would open a deeper folder
// than the one meant; an empty level a folder with an empty name.
func TestFolderPathRefusesAmbiguousLevels(t *testing.T) {
	var mu sync.Mutex
	var selected []string
	ep := fakeIMAP(t, "* OK ready", map[string]answer{
		"LIST": replyLines(`* LIST () "." INBOX`),
		"SELECT": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
			mu.Lock()
			selected = append(selected, args)
			mu.Unlock()
			return honest(c, tag, cmd, args)
		},
	})
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for path, want := range map[string]string{
		"Inbox/v1.2": `imap: folder "Inbox/v1.2": the level "v1.2" holds ".", which ` + ep.Addr() + ` uses between levels, so it cannot be opened by this path`,
		"Inbox//x":   `imap: folder "Inbox//x" has an empty level; separate levels with a single "/"`,
	} {
		if _, err := c.Open(ctx, path); err == nil || err.Error() != want {
			t.Errorf("Open(%q) = %v, want %q", path, err, want)
		}
	}
	if _, err := c.Open(ctx, "Inbox/Sub"); err != nil {
		t.Fatalf("Open(Inbox/Sub): %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(selected, " ") != `"INBOX.Sub"` {
		t.Errorf("SELECT was sent for %v, want only \"INBOX.Sub\"", selected)
	}
}

// go-imap loops forever, reading nothing, on a capability list with "(" in
// it; the adapter refuses the line before the decoder sees it. (Found by
// FuzzSession.)
func TestHostileCapabilityParenthesis(t *testing.T) {
	cases := []struct{ name, greeting string }{
		{"in the greeting", "* OK [CAPABILITY IMAP4rev1 (] ready"},
		{"in a CAPABILITY reply", "* OK ready"},
		{"in the tagged OK of LOGIN", "* OK ready"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answers := map[string]answer{}
			switch tc.name {
			case "in a CAPABILITY reply":
				answers["CAPABILITY"] = replyLines("* CAPABILITY IMAP4rev1 AUTH=PLAIN (")
			case "in the tagged OK of LOGIN":
				answers["LOGIN"] = func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
					io.WriteString(c, tag+" OK [CAPABILITY IMAP4rev1(X)] logged in\r\n")
					return true
				}
			}
			ep := fakeIMAP(t, tc.greeting, answers)
			done := make(chan error, 1)
			go func() { done <- measured(t, func() error { return session(context.Background(), ep, "INBOX") }) }()
			select {
			case err := <-done:
				wantServerError(t, err, mpimap.FaultBadCapability, `sent a capability list with "(" in it`)
			case <-time.After(10 * time.Second):
				t.Fatal("the session hung (go-imap's capability parser loops forever)")
			}
		})
	}
}

// imapclient parses nested lists by recursion and builds its error once
// per level on the way out: 250 000 "(" took it 30 s and 300 MB of stack.
func TestHostileDeepNesting(t *testing.T) {
	ep := fakeIMAP(t, "* OK ready", map[string]answer{"UID FETCH": func(s *hostile.Server, c net.Conn, tag, cmd, args string) bool {
		io.WriteString(c, "* 1 FETCH (UID 1 BODY "+strings.Repeat("(", 250<<10)+"\r\n")
		hostile.Stall(s, c)
		return false
	}})
	err := measured(t, func() error { return session(context.Background(), ep, "INBOX") })
	wantServerError(t, err, mpimap.FaultTooDeep, "sent parentheses nested more than 100 deep in a listing reply")
}
