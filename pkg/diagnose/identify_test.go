package diagnose

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

func TestIdentify(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  peerSilent,
		"* OK [CAPABILITY IMAP4rev1] ready": peerIMAP,
		"* PREAUTH welcome":                 peerIMAP,
		"* BYE too many connections":        peerIMAP,
		"+OK Dovecot ready.":                peerPOP3,
		"-ERR go away":                      peerPOP3,
		"220 mx.example.com ESMTP Postfix":  peerSMTP,
		"220-mx.example.com ESMTP":          peerSMTP,
		"554 5.7.1 no":                      peerSMTP,
		"HTTP/1.1 400 Bad Request":          peerHTTP,
		"HTTP/1.0 200 OK":                   peerHTTP,
		"SSH-2.0-OpenSSH_9.2p1":             peerSSH,
		"\x16\x03\x01\x00\x10":              peerTLS,
		"\x15\x03\x03\x00\x02\x02\x46":      peerTLS,
		"~~~~ not a mail server":            peerJunk,
		"2200 odd":                          peerJunk,
		"ok":                                peerJunk,
		"\x00\x05junk":                      peerJunk,
	} {
		if got := identify([]byte(in)); got != want {
			t.Errorf("identify(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzIdentify feeds a peer's first bytes to the reader of the greeting
// and to identify: no panic, at most maxFirstLine bytes kept, and a
// line of one protocol is never named as another.
func FuzzIdentify(f *testing.F) {
	for _, s := range []string{"* OK ready\r\n", "+OK\r\n", "220-a\r\n220 b\r\n", "HTTP/1.1 400 Bad Request\r\n\r\n", "SSH-2.0-x\r\n", "\x16\x03\x01\x02\x00", "\x00\xff", strings.Repeat("~", 9000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), maxFirstLine)
		line, err := readLine(br)
		if len(line) > maxFirstLine {
			t.Fatalf("readLine kept %d bytes", len(line))
		}
		if err == nil && !bytes.HasPrefix(b, []byte(line)) {
			t.Fatalf("readLine returned %q, not a prefix of the input", line)
		}
		kind := identify([]byte(line))
		switch {
		case len(line) == 0 && kind != peerSilent:
			t.Fatalf("nothing identified as %q", kind)
		case kind == peerIMAP && !strings.HasPrefix(line, "* "):
			t.Fatalf("%q identified as IMAP", line)
		case kind == peerPOP3 && line[0] != '+' && line[0] != '-':
			t.Fatalf("%q identified as POP3", line)
		}
		if _, err := readReply(bufio.NewReaderSize(bytes.NewReader(b), maxFirstLine), config.SMTP); err == nil && len(b) == 0 {
			t.Fatal("a reply from nothing")
		}
		// readFirst on a connection: bounded, and up to the first line end.
		client, server := net.Pipe()
		go func() {
			server.Write(b)
			server.Close()
		}()
		got := readFirst(client, nil, time.Second)
		client.Close()
		if len(got) > maxFirstLine || !bytes.HasPrefix(b, got) {
			t.Fatalf("readFirst returned %d bytes %q", len(got), got)
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < maxFirstLine && len(got) > 0 && bytes.IndexByte(got, '\n') < 0 {
			t.Fatalf("readFirst stopped before the line end: %q", got)
		}
	})
}

// TestFloodsStayBounded: a port that floods junk without a line end, or
// one endless line after an IMAP-looking start, is named within the
// timeout and grows the heap by far less than what it sends.
func TestFloodsStayBounded(t *testing.T) {
	junk := hostile.Start(t, func(c net.Conn) { hostile.Flood(c, []byte("~~~~ not a mail server ~~~~")) })
	endless := hostile.Start(t, func(c net.Conn) {
		c.Write([]byte("* OK "))
		hostile.Flood(c, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	})
	for _, tc := range []struct {
		addr, enc, entry string
	}{
		{junk.Addr(), config.None, "junk-on-port"},
		{junk.Addr(), config.StartTLS, "junk-on-port"},
		{junk.Addr(), config.SSL, "junk-on-port"},
		{endless.Addr(), config.StartTLS, ""},
	} {
		var rep *Report
		start := time.Now()
		grew := heapmeter.Peak(func() { rep, _ = identification(t, config.IMAP, tc.addr, tc.enc) })
		took := time.Since(start)
		expect(t, rep, "tls", Fail, tc.entry)
		noInternalError(t, rep)
		t.Logf("%s %s: heap +%d KiB in %s", tc.entry, tc.enc, grew>>10, took.Round(time.Millisecond))
		if grew > 4<<20 || took > 3*time.Second {
			t.Errorf("%s with %s: heap grew by %d bytes in %s", tc.addr, tc.enc, grew, took)
		}
	}
}

// greeter is a plain-text server that sends line and keeps the connection
// open until the client goes away.
func greeter(t *testing.T, line string) *hostile.Server {
	return stalling(t, false, line)
}

// stalling is a server (behind implicit TLS when tls is set) that sends
// line, which may be empty, and keeps the connection open, silent, until
// the client goes away.
func stalling(t *testing.T, tls bool, line string) *hostile.Server {
	start := hostile.Start
	if tls {
		start = hostile.StartTLS
	}
	var s *hostile.Server
	ready := make(chan struct{}) // s is set before a script reads it
	s = start(t, func(c net.Conn) {
		<-ready
		if line != "" {
			c.Write([]byte(line))
		}
		hostile.Stall(s, c)
	})
	close(ready)
	return s
}

// identification runs the diagnosis of account protocol proto with enc
// against addr and returns the report and its text.
func identification(t *testing.T, proto, addr, enc string) (*Report, string) {
	t.Helper()
	w := newWorld(t)
	typ := config.Inbound
	if proto == config.SMTP {
		typ = config.Outbound
	}
	w.account("box", typ, proto, addr, enc, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{Timeout: 700 * time.Millisecond})
	return rep, render(rep)
}

// TestWrongProtocol: what answers on the port is named, with the port of
// the account's protocol to use instead, in one statement per finding.
func TestWrongProtocol(t *testing.T) {
	imapSrv := greeter(t, "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n")
	pop3Srv := greeter(t, "+OK Dovecot ready.\r\n")
	smtpSrv := greeter(t, "220 mx.example.test ESMTP Postfix\r\n")
	sshSrv := greeter(t, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
	alert := greeter(t, "\x15\x03\x01\x00\x02\x02\x46") // a TLS alert: protocol version
	junk := hostile.Start(t, func(c net.Conn) { hostile.Flood(c, []byte("\x00\x05junk~")) })
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	silent := stalling(t, false, "")

	cases := []struct {
		proto, addr, enc string
		entry            string
		words            []string
	}{
		{config.POP3, imapSrv.Addr(), config.StartTLS, "wrong-protocol", []string{"speaks IMAP", "the account is POP3", "use port 110 (POP3 with STARTTLS)", "--protocol imap"}},
		{config.POP3, imapSrv.Addr(), config.None, "wrong-protocol", []string{"speaks IMAP", "use port 110 (POP3 without encryption)"}},
		{config.POP3, imapSrv.Addr(), config.SSL, "wrong-protocol", []string{"IMAP greeting \"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\"", "speaks IMAP, but the account is POP3", "use port 995 (POP3 over TLS)"}},
		{config.IMAP, pop3Srv.Addr(), config.StartTLS, "wrong-protocol", []string{"speaks POP3", "use port 143 (IMAP with STARTTLS)", "--protocol pop3"}},
		{config.IMAP, smtpSrv.Addr(), config.SSL, "wrong-protocol", []string{"speaks SMTP", "SMTP is for sending mail; to read it, use port 993 (IMAP over TLS)"}},
		{config.SMTP, imapSrv.Addr(), config.StartTLS, "wrong-protocol", []string{"speaks IMAP", "IMAP is for reading mail; to send it, use port 587 (SMTP with STARTTLS)"}},
		{config.POP3, alert.Addr(), config.StartTLS, "tls-on-plain-port", []string{"answered with a TLS record, so it speaks TLS from the first byte, while the account says encryption starttls", "or port 110 (POP3 with STARTTLS) with starttls"}},
		{config.IMAP, sshSrv.Addr(), config.SSL, "ssh-on-port", []string{"is an SSH server's", "SSH banner \"SSH-2.0-OpenSSH_9.2p1 Debian-2\"", "not IMAP"}},
		{config.IMAP, sshSrv.Addr(), config.None, "ssh-on-port", []string{"is an SSH server's"}},
		{config.POP3, junk.Addr(), config.None, "junk-on-port", []string{`unrecognised bytes "\x00\x05junk~`, "neither POP3 nor any protocol mailport recognises"}},
		{config.SMTP, junk.Addr(), config.SSL, "junk-on-port", []string{"neither SMTP nor any protocol"}},
		{config.IMAP, web.Listener.Addr().String(), config.StartTLS, "http-on-port", []string{"HTTP answer \"HTTP/1.0 404 Not Found\"", "is a web server's: it speaks HTTP, not IMAP"}},
		{config.SMTP, web.Listener.Addr().String(), config.SSL, "http-on-port", []string{"is a web server's: it speaks HTTP", "not SMTP"}},
		{config.POP3, silent.Addr(), config.None, "server-silent", []string{"sent nothing within 700ms, and answered neither a TLS handshake nor an HTTP request: a firewall"}},
		{config.SMTP, silent.Addr(), config.SSL, "server-silent", []string{"did not complete a TLS handshake within 700ms, nor answer an HTTP request: a firewall"}},
	}
	for _, tc := range cases {
		t.Run(tc.proto+" "+tc.entry+" "+tc.enc, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			rep, text := identification(t, tc.proto, tc.addr, tc.enc)
			expect(t, rep, "tls", Fail, tc.entry)
			expect(t, rep, "greeting", Skip, "")
			for _, w := range tc.words {
				if !strings.Contains(text, w) {
					t.Errorf("the report lacks %q:\n%s", w, text)
				}
			}
			assertOneStatement(t, rep)
			noInternalError(t, rep)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// assertOneStatement fails when a finding's cause says the same thing
// twice: a run of five words that comes back, or a sentence that restates
// the one before in other words (the server's words, in quotes, aside).
func assertOneStatement(t *testing.T, rep *Report) {
	t.Helper()
	for _, c := range rep.Checks {
		for _, f := range c.Findings {
			ours := regexp.MustCompile(`"(\\.|[^"\\])*"`).ReplaceAllString(f.Cause, `""`)
			words := regexp.MustCompile(`[a-z0-9]+`).FindAllString(strings.ToLower(ours), -1)
			if strings.Contains(ours, "The connection opened but") || strings.Count(ours, "sent nothing") > 1 {
				t.Errorf("check %s: the cause says twice that the server was silent: %s", c.ID, f.Cause)
			}
			seen := map[string]bool{}
			for i := 0; i+5 <= len(words); i++ {
				k := strings.Join(words[i:i+5], " ")
				if seen[k] {
					t.Errorf("check %s: the cause repeats %q: %s", c.ID, k, f.Cause)
					break
				}
				seen[k] = true
			}
		}
	}
}

// TestWrongEncryptionSaidOnce: the plain-text and TLS port findings name
// the port and the encryption in one statement, and point at the account
// protocol's port for the other encryption.
func TestWrongEncryptionSaidOnce(t *testing.T) {
	pop3Srv := greeter(t, "+OK Dovecot ready.\r\n")
	rep, text := identification(t, config.POP3, pop3Srv.Addr(), config.SSL)
	expect(t, rep, "tls", Fail, "plain-on-tls-port")
	assertOneStatement(t, rep)
	for _, w := range []string{`answered in plain text ("+OK Dovecot ready."), so it is a STARTTLS or plain port, while the account says encryption ssl.`, "or port 995 (POP3 over TLS) with encryption ssl"} {
		if !strings.Contains(text, w) {
			t.Errorf("the report lacks %q:\n%s", w, text)
		}
	}
	if strings.Count(text, "the account says") != 1 {
		t.Errorf("the account's encryption is named more than once:\n%s", text)
	}

	tlsPOP3 := stalling(t, true, "+OK ready\r\n")
	rep, text = identification(t, config.POP3, tlsPOP3.Addr(), config.StartTLS)
	expect(t, rep, "tls", Fail, "tls-on-plain-port")
	assertOneStatement(t, rep)
	if !strings.Contains(text, "speaks TLS from the first byte (implicit TLS), while the account says encryption starttls") || !strings.Contains(text, "or port 110 (POP3 with STARTTLS) with encryption starttls") {
		t.Errorf("report:\n%s", text)
	}

	// IMAP over TLS where a POP3 account expects STARTTLS: both named.
	tlsIMAP := stalling(t, true, "* OK ready\r\n")
	rep, text = identification(t, config.POP3, tlsIMAP.Addr(), config.StartTLS)
	expect(t, rep, "tls", Fail, "wrong-protocol")
	if !strings.Contains(text, `IMAP over TLS greeting "* OK ready"`) || !strings.Contains(text, `speaks IMAP over TLS, but the account is POP3`) {
		t.Errorf("report:\n%s", text)
	}
}

// TestGreetingFailureOfTheRightProtocol: a POP3 server that refuses with
// -ERR is a POP3 server; the greeting check fails with its words and
// nothing panics when the half-made session is closed (a failed Dial used
// to come back as a non-nil interface holding a nil *pop3.Client).
func TestGreetingFailureOfTheRightProtocol(t *testing.T) {
	srv := greeter(t, "-ERR [SYS/TEMP] too many connections\r\n")
	w := newWorld(t)
	w.account("box", config.Inbound, config.POP3, srv.Addr(), config.None, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{Timeout: 700 * time.Millisecond})
	text := render(rep)
	if strings.Contains(w.trace.String(), "internal error") {
		t.Errorf("closing the session panicked:\n%s", w.trace.String())
	}
	expect(t, rep, "tls", OK, "")
	expect(t, rep, "greeting", Fail, "")
	noInternalError(t, rep)
	if !strings.Contains(text, "too many connections") {
		t.Errorf("the server's words are missing:\n%s", text)
	}
	srv = greeter(t, "* BYE no\r\n")
	rep, _ = identification(t, config.IMAP, srv.Addr(), config.None)
	expect(t, rep, "greeting", Fail, "")
	noInternalError(t, rep)
}

// noInternalError fails the test when the diagnosis recovered a panic.
func noInternalError(t *testing.T, rep *Report) {
	t.Helper()
	for _, c := range rep.Checks {
		for _, f := range c.Findings {
			if f.Entry == "internal-error" || c.ID == "internal" {
				t.Errorf("check %s stopped on an internal error: %s", c.ID, f.Cause)
			}
		}
	}
}

// panickyStore is a secret store whose reads panic, as a bug would.
type panickyStore struct{ secret.Store }

func (panickyStore) Get(key string) (string, error) {
	var m map[string]*string
	return *m[key], nil // nil pointer dereference
}

// TestPanicInACheckIsAFailedCheck: a panic inside a check becomes that
// check's failure with the panic's words, the later checks are skipped,
// and the trace gets the stack.
func TestPanicInACheckIsAFailedCheck(t *testing.T) {
	w := newWorld(t)
	w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "a@example.test")
	res := &secret.Resolver{Store: panickyStore{w.store}, Getenv: func(string) string { return "" }}
	var trace strings.Builder
	o := &connect.Opener{Config: w.cfg, Secrets: res, OAuth: &oauth.Manager{Config: w.cfg, Secrets: res, LockDir: filepath.Dir(w.cfg.Path)}, Trace: &trace}
	rep, err := Run(t.Context(), "box", Options{Opener: o, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, rep, "secrets", Fail, "internal-error")
	expect(t, rep, "dns", Skip, "")
	expect(t, rep, "folder", Skip, "")
	text := render(rep)
	if !strings.Contains(text, "cause: The check stopped on an internal error: runtime error: invalid memory address or nil pointer dereference; please report it.") {
		t.Errorf("report:\n%s", text)
	}
	if strings.Contains(text, "goroutine") {
		t.Errorf("a stack in the report:\n%s", text)
	}
	if !strings.Contains(trace.String(), "goroutine") || !strings.Contains(trace.String(), "panickyStore") {
		t.Errorf("no stack in the trace:\n%s", trace.String())
	}
	if rep.Result != Fail {
		t.Errorf("result %s", rep.Result)
	}
}
