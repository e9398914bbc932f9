package smtp_test

import (
	"github.com/mailport/mailport/internal/heapmeter"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

const (
	alice    = "alice@example.com"
	password = "correct horse battery staple"
	token    = "ya29.a0AfH6SMBx-secret-access-token-0123456789"
)

func startServer(t *testing.T, opts smtptest.Options) *smtptest.Server {
	t.Helper()
	s, err := smtptest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return s
}

func endpoint(t *testing.T, s *smtptest.Server, enc mail.Encryption) mail.Endpoint {
	t.Helper()
	ep := mail.Endpoint{Host: s.Host(), Port: s.Port(), Encryption: enc, Timeout: 5 * time.Second}
	if s.CAPEM() != nil {
		ca, err := s.CAFile()
		if err != nil {
			t.Fatal(err)
		}
		ep.CAFile = ca
	}
	return ep
}

func dial(t *testing.T, ep mail.Endpoint) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(context.Background(), ep)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func basic() mail.Credentials {
	return mail.Credentials{Kind: mail.AuthBasic, Username: alice, Password: password}
}

func oauth(tok string) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthOAuth2, Username: alice, Token: func(context.Context) (string, error) { return tok, nil }}
}

func checkToken(user, tok string) error {
	if user == alice && tok == token {
		return nil
	}
	return errors.New("invalid token")
}

// awkward is a message SMTP clients are known to damage: lines that start
// with dots, a line far beyond SMTP's 1000-octet limit, 8-bit bytes that
// are not UTF-8, a NUL-free binary-ish mix, and a last line "." alone.
func awkward() []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: dots\r\n")
	b.WriteString("Message-ID: <awkward@example.com>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(".leading dot\r\n..two dots\r\n.\r\n")
	b.WriteString(strings.Repeat("0123456789", 1024) + "\r\n") // a 10 KB line
	b.WriteString("caf\xe9 na\xefve \xff\xfe\r\n")
	b.WriteString("ünïcödé ✓\r\n")
	b.WriteString("trailing spaces   \r\n\r\n\r\n")
	b.WriteString(".\r\n")
	return b.Bytes()
}

func TestSendRawIsByteIdentical(t *testing.T) {
	for _, enc := range []mail.Encryption{mail.StartTLS, mail.SSL} {
		t.Run(string(enc), func(t *testing.T) {
			sec := smtptest.StartTLS
			if enc == mail.SSL {
				sec = smtptest.ImplicitTLS
			}
			s := startServer(t, smtptest.Options{Security: sec, Users: map[string]string{alice: password}})
			c := dial(t, endpoint(t, s, enc))
			if err := c.Authenticate(context.Background(), basic()); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			msg := awkward()
			env := mail.Envelope{From: alice, To: []string{"bob@example.net", "carol@example.org"}}
			if err := c.Send(context.Background(), env, bytes.NewReader(msg)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := s.Messages()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			if !bytes.Equal(got[0].Data, msg) {
				t.Errorf("message changed on the way:\n got %q\nwant %q", trunc(got[0].Data), trunc(msg))
			}
			if got[0].From != alice || !slices.Equal(got[0].To, env.To) {
				t.Errorf("envelope = %s → %v, want %s → %v", got[0].From, got[0].To, alice, env.To)
			}
			if got[0].User != alice || got[0].Mechanism != "PLAIN" {
				t.Errorf("authenticated as %q with %q, want %q with PLAIN", got[0].User, got[0].Mechanism, alice)
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func TestSendAddsOnlyWhatSMTPRequires(t *testing.T) {
	s := startServer(t, smtptest.Options{})
	c := dial(t, endpoint(t, s, mail.None))
	// Bare LF line ends and no final line end: SMTP needs CRLF and a
	// final CRLF before the ".", nothing else may change.
	in := "Subject: lf\n\n.line\nlast line without end"
	if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	want := "Subject: lf\r\n\r\n.line\r\nlast line without end\r\n"
	if got := string(s.Messages()[0].Data); got != want {
		t.Errorf("received %q, want %q", got, want)
	}
}

func TestGreetingAndCapabilities(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{alice: password},
		Token: checkToken, MaxMessageBytes: 35882577})
	c := dial(t, endpoint(t, s, mail.StartTLS))
	if got, want := c.Greeting(), "220 smtptest.local ESMTP Service Ready"; got != want {
		t.Errorf("Greeting() = %q, want %q", got, want)
	}
	caps, err := c.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AUTH=PLAIN", "AUTH=LOGIN", "AUTH=XOAUTH2", "SIZE=35882577", "8BITMIME", "PIPELINING"} {
		if !slices.Contains(caps, want) {
			t.Errorf("Capabilities() = %v, missing %s", caps, want)
		}
	}
	if got := c.MaxMessageSize(); got != 35882577 {
		t.Errorf("MaxMessageSize() = %d, want 35882577", got)
	}
	// After STARTTLS the server no longer offers it: proof that EHLO was
	// asked again over TLS.
	if slices.Contains(caps, "STARTTLS") {
		t.Errorf("Capabilities() after STARTTLS still lists STARTTLS: %v", caps)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		t.Error("session is not encrypted after STARTTLS")
	}
}

func TestStartTLSNotOffered(t *testing.T) {
	s := startServer(t, smtptest.Options{})
	_, err := smtp.Dial(context.Background(), endpoint(t, s, mail.StartTLS))
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("Dial with starttls to a server without it: err = %v, want one naming STARTTLS", err)
	}
}

func TestSSLUnknownCA(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.ImplicitTLS})
	ep := endpoint(t, s, mail.SSL)
	ep.CAFile = ""
	_, err := smtp.Dial(context.Background(), ep)
	if err == nil || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("Dial to a server with an unknown CA: err = %v, want a TLS handshake error", err)
	}
}

func TestWrongEncryptionForPort(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.StartTLS})
	ep := endpoint(t, s, mail.SSL)
	_, err := smtp.Dial(context.Background(), ep)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "answered in plain text, so use encryption starttls") {
		t.Errorf("ssl to a plain-text port: err = %v, want a hint to use starttls", err)
	}

	s2 := startServer(t, smtptest.Options{Security: smtptest.ImplicitTLS})
	ep2 := endpoint(t, s2, mail.StartTLS)
	ep2.Timeout = 300 * time.Millisecond
	_, err = smtp.Dial(context.Background(), ep2)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "use encryption ssl") {
		t.Errorf("starttls to an implicit-TLS port: err = %v, want a hint to use ssl", err)
	}
}

func TestAuthMechanisms(t *testing.T) {
	tests := []struct {
		name     string
		opts     smtptest.Options
		creds    mail.Credentials
		wantMech string
	}{
		{"plain", smtptest.Options{Users: map[string]string{alice: password}}, basic(), "PLAIN"},
		{"login", smtptest.Options{Users: map[string]string{alice: password}, PasswordMechanisms: []string{"LOGIN"}}, basic(), "LOGIN"},
		{"xoauth2", smtptest.Options{Users: map[string]string{alice: password}, Token: checkToken, TokenMechanisms: []string{"XOAUTH2", "OAUTHBEARER"}}, oauth(token), "XOAUTH2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Security = smtptest.ImplicitTLS
			s := startServer(t, tt.opts)
			c := dial(t, endpoint(t, s, mail.SSL))
			if err := c.Authenticate(context.Background(), tt.creds); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("Subject: x\r\n\r\nhi\r\n")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if m := s.Messages()[0]; m.Mechanism != tt.wantMech || m.User != alice {
				t.Errorf("server saw %q via %q, want %q via %q", m.User, m.Mechanism, alice, tt.wantMech)
			}
		})
	}
}

func TestOAuthBearerWhenOnlyOffered(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.ImplicitTLS, Token: checkToken, TokenMechanisms: []string{"OAUTHBEARER"}})
	c := dial(t, endpoint(t, s, mail.SSL))
	if err := c.Authenticate(context.Background(), oauth(token)); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages()[0]; m.Mechanism != "OAUTHBEARER" || m.User != alice {
		t.Errorf("server saw %q via %q, want %q via OAUTHBEARER", m.User, m.Mechanism, alice)
	}
	// A refused token gets the server's words, and the session goes on.
	c2 := dial(t, endpoint(t, s, mail.SSL))
	err := c2.Authenticate(context.Background(), oauth("bad-token"))
	var ae *mail.AuthError
	if !errors.As(err, &ae) || ae.Text != smtptest.ReplyBadCredentials {
		t.Fatalf("err = %v, want AuthError %q", err, smtptest.ReplyBadCredentials)
	}
	if err := c2.Probe(context.Background(), alice, "bob@example.net"); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("Probe after a refused login: err = %v, want the server's 530", err)
	}
}

func TestAuthRefusalsKeepServerWords(t *testing.T) {
	tests := []struct {
		name          string
		refuse        string
		creds         mail.Credentials
		wantText      string
		wantChallenge string
	}{
		{"tenant disabled", smtptest.ReplyTenantDisabled, oauth(token), smtptest.ReplyTenantDisabled, ""},
		{"5.7.3 password", smtptest.ReplyAuthUnsuccessful, basic(), smtptest.ReplyAuthUnsuccessful, ""},
		{"wrong password", "", mail.Credentials{Kind: mail.AuthBasic, Username: alice, Password: "wrong-password"}, smtptest.ReplyBadCredentials, ""},
		{"wrong token", "", oauth("expired-token-value"), smtptest.ReplyBadCredentials, smtptest.XOAUTH2Challenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{alice: password}, Token: checkToken})
			s.RefuseAuth(tt.refuse)
			c := dial(t, endpoint(t, s, mail.StartTLS))
			err := c.Authenticate(context.Background(), tt.creds)
			var ae *mail.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("Authenticate: err = %v, want *mail.AuthError", err)
			}
			if ae.Text != tt.wantText {
				t.Errorf("AuthError.Text = %q, want %q", ae.Text, tt.wantText)
			}
			if ae.Challenge != tt.wantChallenge {
				t.Errorf("AuthError.Challenge = %q, want %q", ae.Challenge, tt.wantChallenge)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not show the server's words", err)
			}
			// The session survives a refusal: the diagnosis goes on.
			if err := c.Authenticate(context.Background(), basic()); tt.refuse == "" && err != nil {
				t.Errorf("second Authenticate after a refusal: %v", err)
			}
		})
	}
}

func TestTokenMechanismNotOffered(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.ImplicitTLS, Users: map[string]string{alice: password}, Token: checkToken})
	s.OfferXOAUTH2(false)
	c := dial(t, endpoint(t, s, mail.SSL))
	err := c.Authenticate(context.Background(), oauth(token))
	if !errors.Is(err, smtp.ErrMechanismNotOffered) || !strings.Contains(err.Error(), "AUTH PLAIN LOGIN") {
		t.Fatalf("err = %v, want ErrMechanismNotOffered naming what is offered", err)
	}
	if slices.ContainsFunc(s.Events(), func(e string) bool { return strings.HasPrefix(e, "AUTH") }) {
		t.Errorf("client tried to authenticate anyway: %v", s.Events())
	}
}

func TestPlaintextPasswordRefused(t *testing.T) {
	s := startServer(t, smtptest.Options{Users: map[string]string{alice: password}})
	var trace bytes.Buffer
	ep := endpoint(t, s, mail.None)
	ep.Trace = &trace
	c := dial(t, ep)
	err := c.Authenticate(context.Background(), basic())
	var pe *mail.PlaintextAuthError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *mail.PlaintextAuthError", err)
	}
	if len(s.Events()) != 0 || strings.Contains(trace.String(), "C: AUTH") {
		t.Errorf("a password went out in the clear: events %v", s.Events())
	}
	// Allowed explicitly, it works.
	ep.AllowPlaintextAuth = true
	c2 := dial(t, ep)
	if err := c2.Authenticate(context.Background(), basic()); err != nil {
		t.Errorf("with allow_plaintext_auth: %v", err)
	}
}

func TestProbeSendsNoMail(t *testing.T) {
	s := startServer(t, smtptest.Options{Security: smtptest.ImplicitTLS, Users: map[string]string{alice: password},
		Rcpt: func(to string) error {
			if to == "nobody@example.net" {
				return smtptest.ParseReply("550 5.1.1 User unknown")
			}
			return nil
		}})
	c := dial(t, endpoint(t, s, mail.SSL))
	if err := c.Authenticate(context.Background(), basic()); err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(context.Background(), alice, "bob@example.net"); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	err := c.Probe(context.Background(), alice, "nobody@example.net")
	var re *smtp.ReplyError
	if !errors.As(err, &re) || re.Code != 550 || re.Text != "5.1.1 User unknown" {
		t.Fatalf("Probe to a refused address: err = %v, want 550 5.1.1 User unknown", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("Probe delivered %d messages", n)
	}
	want := []string{"AUTH PLAIN", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.net>", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.net>"}
	if got := s.Events(); !slices.Equal(got, want) {
		t.Errorf("server saw %v, want %v", got, want)
	}
	// RSET left the session clean: a real send works on it.
	if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("x\r\n")); err != nil {
		t.Fatalf("Send after Probe: %v", err)
	}
}

func TestRecipientRefusedSendsNothing(t *testing.T) {
	s := startServer(t, smtptest.Options{Rcpt: func(to string) error {
		if to == "nobody@example.net" {
			return smtptest.ParseReply("550 5.1.1 User unknown")
		}
		return nil
	}})
	c := dial(t, endpoint(t, s, mail.None))
	err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net", "nobody@example.net"}}, strings.NewReader("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "nobody@example.net: 550 5.1.1 User unknown") {
		t.Fatalf("err = %v, want the refused recipient and the server's words", err)
	}
	if len(s.Messages()) != 0 {
		t.Fatal("a message was delivered although a recipient was refused")
	}
}

func TestTraceHasNoSecrets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds mail.Credentials
		mechs []string
	}{
		{"plain", basic(), nil},
		{"login", basic(), []string{"LOGIN"}},
		{"xoauth2", oauth(token), nil},
		{"xoauth2 refused", oauth(token + "-expired"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{alice: password},
				PasswordMechanisms: tc.mechs, Token: checkToken})
			var trace bytes.Buffer
			ep := endpoint(t, s, mail.StartTLS)
			ep.Trace = &trace
			c := dial(t, ep)
			authErr := c.Authenticate(context.Background(), tc.creds)
			if authErr == nil {
				if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("Subject: hello\r\n\r\nbody\r\n")); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			out := trace.String()
			secretForms := []string{password, token, b64(password), b64(token),
				b64("\x00" + alice + "\x00" + password), b64(string(mail.XOAUTH2Payload(alice, token))),
				b64(string(mail.XOAUTH2Payload(alice, token+"-expired"))), token + "-expired", b64(token + "-expired")}
			for _, sec := range secretForms {
				if strings.Contains(out, sec) {
					t.Errorf("trace contains a secret %q:\n%s", sec, out)
				}
			}
			if testing.Verbose() {
				t.Log(out)
			}
			for _, want := range []string{"smtp S: 220 ", "smtp C: EHLO ", "smtp C: STARTTLS", "smtp C: AUTH ", "[redacted]", "smtp C: QUIT"} {
				if !strings.Contains(out, want) {
					t.Errorf("trace lacks %q:\n%s", want, out)
				}
			}
			if authErr == nil && !strings.Contains(out, "[message data and final \".\": 27 octets]") {
				t.Errorf("trace does not summarise the message data:\n%s", out)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// lines generates n bytes of CRLF text, some lines starting with ".",
// without holding them in memory.
type lines struct {
	left int64
	i    int
	cur  []byte
}

func (l *lines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && l.left > 0 {
		if len(l.cur) == 0 {
			l.i++
			l.cur = []byte(fmt.Sprintf(".%07d The quick brown fox jumps over the lazy dog, line after line.\r\n", l.i))
			if l.i%2 == 0 {
				l.cur = l.cur[1:]
			}
		}
		k := copy(p[n:], l.cur)
		if int64(k) > l.left {
			k = int(l.left)
		}
		l.cur = l.cur[k:]
		n += k
		l.left -= int64(k)
	}
	if n == 0 && l.left == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func TestSend30MBMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 30 MB")
	}
	s := startServer(t, smtptest.Options{DiscardBodies: true})
	c := dial(t, endpoint(t, s, mail.None))
	const size = 30 << 20
	// Ends with a full line, so SMTP adds nothing and the bytes must match.
	message := func() io.Reader { return io.MultiReader(&lines{left: size - 2}, strings.NewReader("\r\n")) }
	h := sha256.New()
	if _, err := io.Copy(h, message()); err != nil {
		t.Fatal(err)
	}
	var want [sha256.Size]byte
	copy(want[:], h.Sum(nil))

	peak := measurePeakHeap(t, func() {
		if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, message()); err != nil {
			t.Fatal(err)
		}
	})
	m := s.Messages()[0]
	if m.Size != size || m.SHA256 != want {
		t.Fatalf("server received %d bytes (hash match %v), want %d identical bytes", m.Size, m.SHA256 == want, size)
	}
	t.Logf("peak heap growth while sending 30 MB: %.1f MiB", float64(peak)/(1<<20))
	if peak > 8<<20 {
		t.Errorf("heap grew by %d bytes while sending a 30 MB message; it must stay flat", peak)
	}
}

func TestStepTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			defer conn.Close()
			time.Sleep(3 * time.Second) // never greets
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	start := time.Now()
	_, err = smtp.Dial(context.Background(), mail.Endpoint{Host: "127.0.0.1", Port: addr.Port, Encryption: mail.None, Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer from") {
		t.Fatalf("err = %v, want a timeout naming the server", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial took %s with a 300ms step timeout", d)
	}
}

func TestContextCancelStopsSend(t *testing.T) {
	s := startServer(t, smtptest.Options{DiscardBodies: true})
	c := dial(t, endpoint(t, s, mail.None))
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelAfter{r: &lines{left: 100 << 20}, n: 1 << 20, cancel: cancel}
	err := c.Send(ctx, mail.Envelope{From: alice, To: []string{"bob@example.net"}}, r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("a cancelled send delivered %d messages", n)
	}
	if err := c.Probe(context.Background(), alice, "bob@example.net"); err == nil {
		t.Error("the session was used after a cancelled DATA")
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	c.n -= len(p)
	if c.n < 0 {
		c.cancel()
	}
	return c.r.Read(p)
}

// measurePeakHeap runs fn and returns how far the live heap rose above
// its level before.
func measurePeakHeap(t *testing.T, fn func()) uint64 {
	t.Helper()
	return uint64(max(heapmeter.Peak(fn), 0))
}
