package testbed

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	intro  = &introspection{tokens: map[string]string{}}
	shared = &Shared{}
)

const (
	alice = "alice@example.test"
	bob   = "bob@example.test"
)

func TestMain(m *testing.M) {
	srv := httptest.NewServer(intro)
	shared.Options = Options{IntrospectionURL: srv.URL + "/introspect"}
	intro.add("alice-token", alice)
	intro.add("bob-token", bob)
	code := m.Run()
	shared.Stop()
	srv.Close()
	os.Exit(code)
}

func TestStartsFastAndExposesEverything(t *testing.T) {
	b := shared.Get(t)
	t.Logf("startup took %s", b.StartTime)
	if b.StartTime > 5*time.Second {
		t.Errorf("startup took %s, want well under 5s", b.StartTime)
	}
	ports := map[string]int{"IMAPS": b.IMAPSPort, "IMAP": b.IMAPPort, "POP3S": b.POP3SPort, "POP3": b.POP3Port, "SMTPS": b.SMTPSPort, "submission": b.SubmissionPort}
	seen := map[int]string{}
	for name, p := range ports {
		if p == 0 || p == 143 || p == 993 || p == 110 || p == 995 || p == 25 || p == 465 || p == 587 {
			t.Errorf("%s port = %d, want a free high port", name, p)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s share port %d", name, other, p)
		}
		seen[p] = name
	}
	ca, err := os.ReadFile(b.CAFile)
	if err != nil || string(ca) != string(b.CAPEM) {
		t.Errorf("CAFile %s does not hold CAPEM (err %v)", b.CAFile, err)
	}
	for _, log := range []string{b.DovecotLog, b.PostfixLog} {
		if st, err := os.Stat(log); err != nil || st.Size() == 0 {
			t.Errorf("log %s is missing or empty (err %v)", log, err)
		}
	}
	md, err := b.Maildir(alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if st, err := os.Stat(filepath.Join(md, sub)); err != nil || !st.IsDir() {
			t.Errorf("Maildir %s has no %s/ (err %v)", md, sub, err)
		}
	}
	if _, err := b.Maildir("nobody@example.test"); err == nil {
		t.Error("Maildir of an unknown user: want an error")
	}
}

func TestIMAPLoginWithPassword(t *testing.T) {
	b := shared.Get(t)
	for _, tc := range []struct {
		name     string
		port     int
		implicit bool
	}{{"STARTTLS", b.IMAPPort, false}, {"implicit TLS", b.IMAPSPort, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialLine(t, b, tc.port, tc.implicit)
			if g := c.line(); !strings.HasPrefix(g, "* OK") {
				t.Fatalf("greeting %q", g)
			}
			if !tc.implicit {
				if _, done := c.imapCmd("s", "STARTTLS"); !strings.HasPrefix(done, "s OK") {
					t.Fatalf("STARTTLS: %q", done)
				}
				c.startTLS(b)
			}
			caps, _ := c.imapCmd("c", "CAPABILITY")
			for _, want := range []string{"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER"} {
				if !strings.Contains(strings.Join(caps, " "), want) {
					t.Errorf("CAPABILITY %q lacks %s", caps, want)
				}
			}
			if _, done := c.imapCmd("a", `LOGIN alice@example.test "wrong"`); !strings.Contains(done, "NO [AUTHENTICATIONFAILED] Authentication failed.") {
				t.Errorf("LOGIN with a wrong password: %q, want NO [AUTHENTICATIONFAILED]", done)
			}
			if _, done := c.imapCmd("b", `LOGIN Alice@Example.test "alice-password"`); !strings.HasPrefix(done, "b OK") {
				t.Fatalf("LOGIN: %q", done)
			}
			if _, done := c.imapCmd("d", "SELECT INBOX"); !strings.HasPrefix(done, "d OK") {
				t.Errorf("SELECT INBOX: %q", done)
			}
		})
	}
}

func TestPOP3UserPass(t *testing.T) {
	b := shared.Get(t)
	for _, tc := range []struct {
		name     string
		port     int
		implicit bool
	}{{"STLS", b.POP3Port, false}, {"implicit TLS", b.POP3SPort, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialLine(t, b, tc.port, tc.implicit)
			if g := c.line(); !strings.HasPrefix(g, "+OK") {
				t.Fatalf("greeting %q", g)
			}
			if !tc.implicit {
				if r := c.pop3Cmd("STLS"); !strings.HasPrefix(r, "+OK") {
					t.Fatalf("STLS: %q", r)
				}
				c.startTLS(b)
			}
			if r := c.pop3Cmd("CAPA"); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("CAPA: %q", r)
			}
			if capa := c.pop3Multi(); !strings.Contains(capa, "SASL PLAIN LOGIN XOAUTH2 OAUTHBEARER") || !strings.Contains(capa, "UIDL") {
				t.Errorf("CAPA = %q, want SASL PLAIN LOGIN XOAUTH2 OAUTHBEARER and UIDL", capa)
			}
			c.pop3Cmd("USER bob@example.test")
			if r := c.pop3Cmd("PASS nope"); !strings.HasPrefix(r, "-ERR [AUTH] Authentication failed.") {
				t.Errorf("PASS with a wrong password: %q", r)
			}
			c.pop3Cmd("USER bob@example.test")
			if r := c.pop3Cmd("PASS bob-password"); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("PASS: %q", r)
			}
			if r := c.pop3Cmd("STAT"); !strings.HasPrefix(r, "+OK") {
				t.Errorf("STAT: %q", r)
			}
			c.pop3Cmd("QUIT")
		})
	}
}

func TestIMAPXOAUTH2(t *testing.T) {
	b := shared.Get(t)
	t.Run("active token", func(t *testing.T) {
		c := dialLine(t, b, b.IMAPSPort, true)
		c.line()
		if _, done := c.imapCmd("a", "AUTHENTICATE XOAUTH2 "+xoauth2(alice, "alice-token")); !strings.HasPrefix(done, "a OK") {
			t.Fatalf("AUTHENTICATE XOAUTH2 with an active token: %q", done)
		}
		if _, done := c.imapCmd("b", "SELECT INBOX"); !strings.HasPrefix(done, "b OK") {
			t.Errorf("SELECT after XOAUTH2: %q", done)
		}
	})
	for _, tc := range []struct{ name, user, token string }{
		{"introspection answers 401", alice, "revoked-token"},
		{"token of another user", alice, "bob-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialLine(t, b, b.IMAPPort, false)
			c.line()
			c.imapCmd("s", "STARTTLS")
			c.startTLS(b)
			c.send("a AUTHENTICATE XOAUTH2 " + xoauth2(tc.user, tc.token))
			challenge := c.line()
			if !strings.HasPrefix(challenge, "+ ") {
				t.Fatalf("want a failure challenge, got %q", challenge)
			}
			js, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(challenge, "+ "))
			if err != nil || !strings.Contains(string(js), `"status":"401"`) {
				t.Errorf("challenge %q (%q): want base64 JSON with status 401", challenge, js)
			}
			// An empty response ends the exchange (go-imap beta.8 would send "=",
			// which Dovecot 2.3 answers with BAD).
			c.send("")
			_, done := c.imapResult("a")
			if !strings.HasPrefix(done, "a NO [AUTHENTICATIONFAILED] Authentication failed.") {
				t.Errorf("refused token: %q, want NO [AUTHENTICATIONFAILED] Authentication failed.", done)
			}
		})
	}
	t.Run("OAUTHBEARER", func(t *testing.T) {
		c := dialLine(t, b, b.IMAPSPort, true)
		c.line()
		if _, done := c.imapCmd("a", "AUTHENTICATE OAUTHBEARER "+oauthbearer(bob, b.Host, b.IMAPSPort, "bob-token")); !strings.HasPrefix(done, "a OK") {
			t.Fatalf("AUTHENTICATE OAUTHBEARER: %q", done)
		}
	})
	t.Run("password is not a token", func(t *testing.T) {
		c := dialLine(t, b, b.IMAPSPort, true)
		c.line()
		c.send("a AUTHENTICATE XOAUTH2 " + xoauth2(alice, "alice-password"))
		if l := c.line(); strings.HasPrefix(l, "+ ") {
			c.send("")
			_, l = c.imapResult("a")
			if !strings.HasPrefix(l, "a NO [AUTHENTICATIONFAILED]") {
				t.Errorf("XOAUTH2 with the password as token: %q, want NO [AUTHENTICATIONFAILED]", l)
			}
		} else {
			t.Errorf("XOAUTH2 with the password as token: %q, want a failure challenge", l)
		}
	})
}

func TestPOP3XOAUTH2(t *testing.T) {
	b := shared.Get(t)
	t.Run("one line", func(t *testing.T) {
		c := dialLine(t, b, b.POP3SPort, true)
		c.line()
		if r := c.pop3Cmd("AUTH XOAUTH2 " + xoauth2(alice, "alice-token")); !strings.HasPrefix(r, "+OK") {
			t.Fatalf("AUTH XOAUTH2 <b64>: %q", r)
		}
		if r := c.pop3Cmd("UIDL"); !strings.HasPrefix(r, "+OK") {
			t.Fatalf("UIDL: %q", r)
		}
		c.pop3Multi()
	})
	t.Run("two lines", func(t *testing.T) {
		c := dialLine(t, b, b.POP3Port, false)
		c.line()
		c.pop3Cmd("STLS")
		c.startTLS(b)
		if r := c.pop3Cmd("AUTH XOAUTH2"); !strings.HasPrefix(r, "+") || strings.HasPrefix(r, "+OK") {
			t.Fatalf("AUTH XOAUTH2 without initial response: %q, want a \"+\" continuation", r)
		}
		if r := c.pop3Cmd(xoauth2(bob, "bob-token")); !strings.HasPrefix(r, "+OK") {
			t.Fatalf("two-line XOAUTH2: %q", r)
		}
	})
	t.Run("refused", func(t *testing.T) {
		c := dialLine(t, b, b.POP3SPort, true)
		c.line()
		r := c.pop3Cmd("AUTH XOAUTH2 " + xoauth2(bob, "expired-token"))
		if strings.HasPrefix(r, "+ ") {
			r = c.pop3Cmd("")
		}
		if !strings.HasPrefix(r, "-ERR [AUTH] Authentication failed.") {
			t.Errorf("refused token: %q, want -ERR [AUTH] Authentication failed.", r)
		}
	})
}

func TestSMTPSubmissionDeliversToMaildir(t *testing.T) {
	b := shared.Get(t)
	for _, tc := range []struct {
		name     string
		implicit bool
		auth     smtp.Auth
		from, to string
		toPass   string
		toToken  string
	}{
		{"STARTTLS AUTH PLAIN", false, smtp.PlainAuth("", alice, "alice-password", "localhost"), alice, bob, "bob-password", "bob-token"},
		{"STARTTLS XOAUTH2", false, xoauth2Auth{alice, "alice-token"}, alice, bob, "bob-password", "bob-token"},
		{"implicit TLS XOAUTH2", true, xoauth2Auth{bob, "bob-token"}, bob, alice, "alice-password", "alice-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgID := fmt.Sprintf("<%s@mailport.test>", randomHex(8))
			msg := "From: " + tc.from + "\r\nTo: " + tc.to + "\r\nSubject: " + tc.name + "\r\nMessage-ID: " + msgID +
				"\r\n\r\nHello over " + tc.name + ".\r\n.a line that starts with a dot\r\n"
			c := smtpClient(t, b, tc.implicit)
			if err := c.Auth(tc.auth); err != nil {
				t.Fatalf("AUTH: %v", err)
			}
			if err := c.Mail(tc.from); err != nil {
				t.Fatalf("MAIL FROM: %v", err)
			}
			if err := c.Rcpt(tc.to); err != nil {
				t.Fatalf("RCPT TO: %v", err)
			}
			w, err := c.Data()
			if err != nil {
				t.Fatalf("DATA: %v", err)
			}
			fmt.Fprint(w, msg)
			if err := w.Close(); err != nil {
				t.Fatalf("end of DATA: %v", err)
			}
			if err := c.Quit(); err != nil {
				t.Errorf("QUIT: %v", err)
			}

			path, err := b.WaitForMessage(tc.to, "", "Message-ID: "+msgID, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if sys, ok := st.Sys().(interface{ Uid() uint32 }); ok && int(sys.Uid()) != b.mailUID {
				t.Errorf("delivered file owned by uid %d, want the dovecot user %d", sys.Uid(), b.mailUID)
			}

			// Visible over IMAP (with a token) ...
			ic := dialLine(t, b, b.IMAPSPort, true)
			ic.line()
			if _, done := ic.imapCmd("a", "AUTHENTICATE XOAUTH2 "+xoauth2(tc.to, tc.toToken)); !strings.HasPrefix(done, "a OK") {
				t.Fatalf("IMAP XOAUTH2: %q", done)
			}
			ic.imapCmd("b", "SELECT INBOX")
			found, done := ic.imapCmd("c", `UID SEARCH HEADER Message-ID "`+msgID+`"`)
			if !strings.HasPrefix(done, "c OK") || len(found) != 1 || strings.TrimSpace(found[0]) == "* SEARCH" {
				t.Fatalf("IMAP search for %s: %q %q", msgID, found, done)
			}
			uid := strings.Fields(found[0])[2]
			body, done := ic.imapCmd("d", "UID FETCH "+uid+" BODY.PEEK[]")
			if !strings.HasPrefix(done, "d OK") || len(body) != 1 || !strings.Contains(body[0], "\r\n.a line that starts with a dot\r\n") ||
				!strings.Contains(body[0], "Hello over "+tc.name) {
				t.Errorf("IMAP FETCH of the delivered message: %q %q", body, done)
			}

			// ... and over POP3 (with the password).
			pc := dialLine(t, b, b.POP3SPort, true)
			pc.line()
			pc.pop3Cmd("USER " + tc.to)
			if r := pc.pop3Cmd("PASS " + tc.toPass); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("POP3 PASS: %q", r)
			}
			if r := pc.pop3Cmd("LIST"); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("LIST: %q", r)
			}
			var hits int
			for _, l := range strings.Split(strings.TrimSpace(pc.pop3Multi()), "\n") {
				n := strings.Fields(l)[0]
				if r := pc.pop3Cmd("RETR " + n); !strings.HasPrefix(r, "+OK") {
					t.Fatalf("RETR %s: %q", n, r)
				}
				if m := pc.pop3Multi(); strings.Contains(m, msgID) {
					hits++
					// DotReader gives LF line ends and undoes dot-stuffing.
					if !strings.Contains(m, "\n.a line that starts with a dot\n") {
						t.Errorf("POP3 RETR lost the leading dot: %q", m)
					}
				}
			}
			if hits != 1 {
				t.Errorf("POP3 shows %s %d times, want once", msgID, hits)
			}
		})
	}
}

func smtpClient(t *testing.T, b *Bed, implicit bool) *smtp.Client {
	t.Helper()
	var conn net.Conn
	var err error
	port := b.SubmissionPort
	if implicit {
		port = b.SMTPSPort
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", b.Addr(port), tlsConfig(t, b))
	} else {
		conn, err = net.DialTimeout("tcp", b.Addr(port), 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial SMTP: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		t.Fatalf("SMTP greeting: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	if !implicit {
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS; want it only over TLS")
		}
		if err := c.StartTLS(tlsConfig(t, b)); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
	}
	ok, mechs := c.Extension("AUTH")
	if !ok || !strings.Contains(mechs, "XOAUTH2") || !strings.Contains(mechs, "PLAIN") || !strings.Contains(mechs, "OAUTHBEARER") {
		t.Errorf("EHLO AUTH = %q, want PLAIN LOGIN XOAUTH2 OAUTHBEARER", mechs)
	}
	return c
}

func TestSMTPRefusals(t *testing.T) {
	b := shared.Get(t)
	t.Run("unauthenticated relay", func(t *testing.T) {
		c := smtpClient(t, b, false)
		if err := c.Mail(alice); err != nil {
			t.Fatalf("MAIL FROM: %v", err)
		}
		err := c.Rcpt("someone@elsewhere.example")
		if err == nil || !strings.Contains(err.Error(), "Relay access denied") {
			t.Errorf("RCPT to another domain without AUTH: %v, want 554 Relay access denied", err)
		}
		err = c.Rcpt(bob)
		if err == nil || !strings.HasPrefix(err.Error(), "554") {
			t.Errorf("RCPT to a local user without AUTH: %v, want 554", err)
		}
	})
	t.Run("refused token", func(t *testing.T) {
		c := smtpClient(t, b, true)
		err := c.Auth(xoauth2Auth{alice, "stolen-token"})
		if err == nil || !strings.Contains(err.Error(), "535") {
			t.Errorf("AUTH XOAUTH2 with a refused token: %v, want 535", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := smtpClient(t, b, false)
		err := c.Auth(smtp.PlainAuth("", bob, "guess", "localhost"))
		if err == nil || !strings.Contains(err.Error(), "535") {
			t.Errorf("AUTH PLAIN with a wrong password: %v, want 535", err)
		}
	})
}

func TestDeliverIsSeenByDovecot(t *testing.T) {
	b := shared.Get(t)
	const user = bob
	raw := "From: a@example.test\r\nTo: bob@example.test\r\nSubject: direct\r\nMessage-ID: <direct-1@mailport.test>\r\n\r\n" +
		".leading dot\r\n" + strings.Repeat("x", 10*1024) + "\r\n8-bit: \xc3\xa9t\xc3\xa9\r\n"
	path, err := b.Deliver(user, strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(path, "/new/") || !strings.HasSuffix(path, fmt.Sprintf(",S=%d", len(raw))) {
		t.Errorf("Deliver wrote %s, want new/...,S=%d", path, len(raw))
	}
	if err := b.CreateFolder(user, "INBOX/Endpoint"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateFolder(user, "INBOX/Endpoint"); err != nil {
		t.Errorf("creating an existing folder again: %v", err)
	}
	seenPath, err := b.DeliverTo(user, "INBOX/Endpoint", "S", strings.NewReader("Subject: filed\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(seenPath, "/cur/") || !strings.HasSuffix(seenPath, ":2,S") {
		t.Errorf("DeliverTo with S wrote %s, want cur/...:2,S", seenPath)
	}
	if _, err := b.DeliverTo(user, "No/Such", "", strings.NewReader("x")); err == nil {
		t.Error("DeliverTo a folder that does not exist: want an error")
	}
	if _, err := b.DeliverTo(user, "", "Q", strings.NewReader("x")); err == nil {
		t.Error("DeliverTo with an unknown flag: want an error")
	}

	c := dialLine(t, b, b.IMAPSPort, true)
	c.line()
	c.imapCmd("a", `LOGIN bob@example.test bob-password`)
	c.imapCmd("b", "SELECT INBOX")
	found, _ := c.imapCmd("c", `UID SEARCH HEADER Message-ID "<direct-1@mailport.test>"`)
	if len(found) != 1 || len(strings.Fields(found[0])) != 3 {
		t.Fatalf("IMAP does not find the delivered message: %q", found)
	}
	uid := strings.Fields(found[0])[2]
	body, done := c.imapCmd("d", "UID FETCH "+uid+" (RFC822.SIZE BODY.PEEK[])")
	want := fmt.Sprintf("RFC822.SIZE %d BODY[] {%d}\r\n%s)", len(raw), len(raw), raw)
	if len(body) != 1 || !strings.Contains(body[0], want) {
		t.Errorf("IMAP FETCH = %q (%s), want the exact bytes delivered", body, done)
	}
	status, _ := c.imapCmd("e", `STATUS "INBOX/Endpoint" (MESSAGES UNSEEN)`)
	if len(status) != 1 || !strings.Contains(status[0], "MESSAGES 1 UNSEEN 0") {
		t.Errorf("STATUS INBOX/Endpoint = %q, want one seen message", status)
	}

	msgs, err := b.Messages(user, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range msgs {
		names = append(names, filepath.Base(m))
	}
	if !strings.Contains(strings.Join(names, " "), filepath.Base(strings.SplitN(path, ",S=", 2)[0])) {
		t.Errorf("Messages(%s) = %v, want the delivered one among them", user, names)
	}
}

func TestRequire(t *testing.T) {
	unavailable := &UnavailableError{Reason: "not running as root (Dovecot and Postfix switch users)"}
	if msg := unavailable.Error(); !strings.Contains(msg, "dovecot-imapd dovecot-pop3d postfix") || !strings.Contains(msg, "debconf-set-selections") {
		t.Errorf("UnavailableError = %q, want the Debian packages and the Postfix preseed", msg)
	}
	var skipped bool
	t.Run("skips when unavailable", func(t *testing.T) {
		t.Setenv(RequireEnv, "")
		defer func() { skipped = t.Skipped() }()
		Require(t, fmt.Errorf("start: %w", unavailable))
	})
	if !skipped {
		t.Error("Require with an UnavailableError did not skip")
	}
	var nothing bool
	t.Run("nil error", func(t *testing.T) {
		Require(t, nil)
		nothing = !t.Skipped() && !t.Failed()
	})
	if !nothing {
		t.Error("Require(nil) skipped or failed")
	}
}

func TestStartRejectsBadUsers(t *testing.T) {
	if err := Check(); err != nil {
		t.Skip(err)
	}
	_, err := Start(Options{Users: []User{{Name: "alice", Password: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "must be an address") {
		t.Errorf("Start with a user without a domain: %v", err)
	}
	var u *UnavailableError
	if errors.As(err, &u) {
		t.Errorf("a bad option is not unavailability: %v", err)
	}
}

func TestStopEndsServersAndCleansUp(t *testing.T) {
	t.Setenv(KeepEnv, "")
	b, err := Start(Options{Users: []User{{Name: "carol@other.test", Password: "carol-pw"}}})
	Require(t, err)
	t.Cleanup(b.Stop)
	dovecotPID, postfixPID := b.dovecot.Process.Pid, b.postfix.Process.Pid
	c := dialLine(t, b, b.POP3SPort, true)
	c.line()
	c.pop3Cmd("USER carol@other.test")
	if r := c.pop3Cmd("PASS carol-pw"); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("custom user: PASS %q", r)
	}
	c.pop3Cmd("QUIT")
	b.Stop()
	b.Stop() // twice is fine
	for _, p := range []int{b.IMAPSPort, b.IMAPPort, b.POP3SPort, b.POP3Port, b.SMTPSPort, b.SubmissionPort} {
		if conn, err := net.DialTimeout("tcp", b.Addr(p), time.Second); err == nil {
			conn.Close()
			t.Errorf("port %d still accepts after Stop", p)
		}
	}
	if _, err := os.Stat(b.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bed directory %s still there after Stop (err %v)", b.Dir, err)
	}
	for name, pid := range map[string]int{"dovecot": dovecotPID, "postfix": postfixPID} {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("%s (pid %d) still running after Stop", name, pid)
		}
	}
}

// TestStaleBedIsSwept kills a test binary that holds a bed (as go test
// -timeout or kill -9 would) and checks that the next bed stops what it
// left running and removes its directory.
func TestStaleBedIsSwept(t *testing.T) {
	if os.Getenv("TESTBED_HOLD_DIR") != "" {
		return // the child's part runs in TestHoldBed
	}
	Require(t, Check())
	parent, err := os.MkdirTemp("", "mpsweep-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil { // the servers' users must reach their beds
		t.Fatal(err)
	}
	ready := filepath.Join(parent, "ready")
	child := exec.Command(os.Args[0], "-test.run=^TestHoldBed$", "-test.count=1")
	child.Env = append(os.Environ(), "TESTBED_HOLD_DIR="+parent, "TESTBED_READY="+ready)
	var out strings.Builder
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var staleDir string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil {
			staleDir = string(b)
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatalf("the child never started its bed:\n%s", out.String())
		}
	}
	child.Process.Kill() // SIGKILL: no Stop, no cleanup
	child.Wait()
	time.Sleep(200 * time.Millisecond) // let Pdeathsig do what it can
	if len(processesUnder(staleDir)) == 0 {
		t.Fatalf("nothing of %s outlived its test binary; the sweep is untested", staleDir)
	}

	b, err := Start(Options{Dir: parent})
	Require(t, err)
	t.Cleanup(b.Stop)
	if left := processesUnder(staleDir); len(left) > 0 {
		t.Errorf("processes of the stale bed still running after the next Start: %v", left)
	}
	if _, err := os.Stat(staleDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale bed directory %s not removed (err %v)", staleDir, err)
	}
	if _, err := os.Stat(b.Dir); err != nil {
		t.Errorf("the new bed's own directory: %v", err)
	}
}

// TestHoldBed is TestStaleBedIsSwept's child: it starts a bed and waits to
// be killed.
func TestHoldBed(t *testing.T) {
	parent := os.Getenv("TESTBED_HOLD_DIR")
	if parent == "" {
		t.Skip("child process of TestStaleBedIsSwept only")
	}
	b, err := Start(Options{Dir: parent})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("TESTBED_READY"), []byte(b.Dir), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
}

// processesUnder lists the command lines of processes naming a path in dir.
func processesUnder(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir+"/") {
			found = append(found, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " "))
		}
	}
	return found
}
