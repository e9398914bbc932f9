package imap

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// FuzzMeter feeds arbitrary server bytes, cut into arbitrary reads, to the
// meter with small limits, and checks it against a plain count: it fails
// exactly when a line or the step went past its limit, never panics, and
// never lets a read through that passes a limit.
func FuzzMeter(f *testing.F) {
	f.Add([]byte("* OK ready\r\n* CAPABILITY IMAP4rev1\r\n"), uint8(7))
	f.Add([]byte("* 1 FETCH (UID 1 BODY[] {10000000000}\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), uint8(3))
	f.Add([]byte(strings.Repeat("* OK flood\r\n", 200)), uint8(64))
	f.Add([]byte("{5}\r\n{}\r\n{-1}\r\n{99999999999999999999}\r\n}\r\n"), uint8(1))
	f.Add([]byte(strings.Repeat("x", 100)), uint8(0))
	f.Add([]byte("* OK [CAPABILITY IMAP4rev1 (] ready\r\n"), uint8(2))
	f.Add([]byte("* 1 FETCH (BODY "+strings.Repeat("(", 120)+"\r\n"), uint8(9))
	f.Add([]byte("* 1 FETCH (UID 1)\r\n* capability IMAP4rev1 AUTH=PLAIN(\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		const line, step = 64, 1024
		m := newMeter("h:1")
		m.reset("a reply", line, step)
		size := int(chunk%32) + 1
		var total, cur int64
		depth := 0
		all := data
		for len(data) > 0 {
			n := min(size, len(data))
			p := data[:n]
			data = data[n:]
			total += int64(n)
			over := false
			for _, b := range p {
				switch b {
				case '(':
					depth++
				case ')':
					depth = max(0, depth-1)
				}
				if depth > maxNesting {
					over = true
				}
				if b == '\n' {
					if cur > line {
						over = true
					}
					cur, depth = 0, 0
					continue
				}
				cur++
			}
			over = over || cur > line || total > step
			err := m.count(p)
			if se, ok := err.(*ServerError); ok && se.Kind == FaultBadCapability {
				seen := bytes.ToUpper(all[:total])
				i := bytes.Index(seen, []byte("CAPABILITY"))
				if i < 0 || !bytes.Contains(seen[i:], []byte("(")) {
					t.Fatalf("a capability list with \"(\" reported in %q", seen)
				}
				return
			}
			if over != (err != nil) {
				t.Fatalf("after %d bytes (line at %d): count error = %v, want an error: %v", total, cur, err, over)
			}
			if err != nil {
				se, ok := err.(*ServerError)
				if !ok || !strings.HasPrefix(se.Error(), "the IMAP server at h:1 sent ") {
					t.Fatalf("error = %#v, want a *ServerError naming the server", err)
				}
				if m.count([]byte("\n")) == nil {
					t.Fatal("the meter let a read through after a limit was passed")
				}
				return
			}
		}
	})
}

// FuzzJoinPath maps arbitrary configured paths with arbitrary delimiters:
// the server's name, split at the delimiter, gives back exactly the levels.
func FuzzJoinPath(f *testing.F) {
	f.Add("Inbox/Endpoint", '.')
	f.Add("INBOX/a.b", '.')
	f.Add("a//b", '/')
	f.Add("/x/", '/')
	f.Add("Archiv/2024", rune(0))
	f.Add("é/ü", 'é')
	f.Fuzz(func(t *testing.T, path string, d rune) {
		parts := splitPath(path)
		if len(parts) == 0 {
			t.Fatalf("splitPath(%q) has no level", path)
		}
		name, err := joinPath(path, parts, d, "h:1")
		if err != nil {
			if !strings.Contains(err.Error(), "folder") {
				t.Fatalf("error %q does not name the folder", err)
			}
			return
		}
		got := strings.Split(name, string(d))
		if strings.Join(got, "\x00") != strings.Join(parts, "\x00") {
			t.Fatalf("joinPath(%q, %q) = %q, which splits into %q, not %q", path, d, name, got, parts)
		}
	})
}

// FuzzGreeting runs the greeting helpers on arbitrary lines.
func FuzzGreeting(f *testing.F) {
	for _, s := range []string{"* OK [CAPABILITY IMAP4rev1] ready", "+OK POP3", "220 smtp", "HTTP/1.1 200 OK", "* BYE", "", "*", "* OK [", "x {12}", "\x16\x03\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		status, text := splitStatus(line)
		_ = stripCode(text)
		if strings.ToUpper(status) != status {
			t.Fatalf("splitStatus(%q) status %q is not upper-cased", line, status)
		}
		e := notIMAP("h:1", line)
		if !strings.HasPrefix(e.Error(), "the IMAP server at h:1 greeted with ") || e.Kind != FaultNotIMAP {
			t.Fatalf("notIMAP(%q) = %q", line, e)
		}
		if n := literalMarker([]byte(line)); n < 0 {
			t.Fatalf("literalMarker(%q) = %d", line, n)
		}
		_ = humanBytes(int64(len(line)) << 40)
	})
}

// sessionSep separates the server's turns in FuzzSession's input: the
// first turn is sent on connect, each next one after a line from the client.
const sessionSep = "@@\n"

// FuzzSession plays arbitrary bytes as a whole IMAP server to a client
// that logs in, opens a folder, lists, fetches, marks, moves and deletes,
// with a 100 ms step timeout. It must never panic and always end.
func FuzzSession(f *testing.F) {
	date := ` INTERNALDATE "01-Sep-2024 10:00:00 +0000"`
	body := "Subject: a\r\n\r\nhello\r\n"
	honest := []string{
		"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS MOVE] ready\r\n",
		"T1 OK [CAPABILITY IMAP4rev1 UIDPLUS MOVE] logged in\r\n",
		"* LIST () \"/\" INBOX\r\nT2 OK done\r\n",
		"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nT3 OK [READ-WRITE] done\r\n",
		"* SEARCH 1 2\r\nT4 OK done\r\n",
		"* 1 FETCH (UID 1 RFC822.SIZE 20" + date + ")\r\n* 2 FETCH (UID 2 RFC822.SIZE 20" + date + ")\r\nT5 OK done\r\n",
		"* 1 FETCH (UID 1 BODY[] {21}\r\n" + body + ")\r\n* 2 FETCH (UID 2 BODY[] {21}\r\n" + body + ")\r\nT6 OK done\r\n",
		"T7 OK done\r\n", "T8 OK done\r\n", "T9 OK done\r\n", "* BYE\r\nT10 OK done\r\n",
	}
	f.Add([]byte(strings.Join(honest, sessionSep)))
	hostileTurns := func(i int, turn string) []byte {
		h := append([]string(nil), honest...)
		h[i] = turn
		return []byte(strings.Join(h, sessionSep))
	}
	f.Add(hostileTurns(4, "* SEARCH 0 2\r\nT4 OK done\r\n"))
	f.Add(hostileTurns(4, "* ESEARCH (TAG \"T4\") UID ALL 1:4294967295\r\nT4 OK done\r\n"))
	f.Add(hostileTurns(5, "* 1 FETCH (UID 1 BODY[] {100000}\r\nxx\r\n"))
	f.Add(hostileTurns(5, "* 1 FETCH (UID 1 UID 2 UID 0 RFC822.SIZE 99999999999999999)\r\nT5 OK done\r\n"))
	f.Add(hostileTurns(3, "* 2 EXISTS\r\nT3 OK done\r\n"))
	f.Add(hostileTurns(2, "* LIST () {3}\r\n/// INBOX\r\nT2 OK done\r\n"))
	f.Add(hostileTurns(6, "* 1 FETCH (BODY[] {5}\r\nhello UID 1)\r\n* 2 FETCH (UID 2 BODY[] NIL)\r\nT6 OK done\r\n"))
	f.Add([]byte("+OK pop3\r\n"))
	f.Add([]byte("* OK [CAPABILITY IMAP4rev1] x\r\n" + sessionSep + "+ \r\n" + sessionSep + "T1 NO [AUTHENTICATIONFAILED] no\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) { playSession(t, data, fuzzClient) })
}

// playSession plays data, cut into turns at sessionSep, as a server to
// client on a pipe, and fails the test when the session does not end
// within 20 s or leaves goroutines behind.
func playSession(t *testing.T, data []byte, client func(net.Conn)) {
	before := runtime.NumGoroutine()
	turns := bytes.Split(data, []byte(sessionSep))
	cli, srv := net.Pipe()
	lines := make(chan struct{}, 64)
	go func() {
		// The client's lines, one signal each.
		br := bufio.NewReader(srv)
		for {
			if _, err := br.ReadSlice('\n'); err != nil && err != bufio.ErrBufferFull {
				close(lines)
				return
			}
			select {
			case lines <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		defer srv.Close()
		for i, turn := range turns {
			if i > 0 {
				select {
				case _, ok := <-lines:
					if !ok {
						return
					}
				case <-time.After(time.Second):
					return
				}
			}
			if _, err := srv.Write(turn); err != nil {
				return
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		client(cli)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the session did not end within 20s")
	}
	// Every goroutine of the session ends too: one left spinning in
	// imapclient's decoder would eat a core for good.
	for wait := time.Now(); runtime.NumGoroutine() > before; {
		if time.Since(wait) > 3*time.Second {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines outlived the session:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fuzzClient runs a whole session on conn, ignoring errors.
func fuzzClient(conn net.Conn) {
	ctx := context.Background()
	ep := mail.Endpoint{Host: "fuzz.invalid", Port: 143, Encryption: mail.None, AllowPlaintextAuth: true, Timeout: 100 * time.Millisecond}
	c, err := attach(ctx, conn, ep)
	if err != nil {
		return
	}
	defer c.Close()
	c.Capabilities(ctx)
	c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "u", Password: "p"})
	if _, err := c.Open(ctx, "INBOX/Sub"); err != nil {
		c.Open(ctx, "INBOX")
	}
	msgs, _ := c.List(ctx, mail.Criteria{})
	var ids []string
	c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		ids = append(ids, m.ID)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	c.MarkSeen(ctx, ids)
	c.Move(ctx, ids, "Archive")
	c.Delete(ctx, ids)
}
