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
	"sync/atomic"
	"testing"
	"time"

	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

func TestMain(m *testing.M) {
	imaptest.ChildMain()
	os.Exit(m.Run())
}

// The whole suite over implicit TLS; the transport tests below cover the rest.
func TestSuiteSSL(t *testing.T) { imaptest.RunSuite(t, imaptest.NewFactory(mail.SSL)) }

func TestSuiteStartTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite runs over TLS already")
	}
	imaptest.RunSuite(t, imaptest.NewFactory(mail.StartTLS))
}

func TestTransports(t *testing.T) {
	for _, enc := range []mail.Encryption{mail.SSL, mail.StartTLS, mail.None} {
		t.Run(string(enc), func(t *testing.T) {
			s := imaptest.Start(t, imaptest.Config{Encryption: enc})
			s.AddUser("bob", "secret-pw")
			ctx := context.Background()
			c, err := mpimap.Dial(ctx, s.Endpoint())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if !strings.Contains(c.Greeting(), "IMAP server ready") {
				t.Errorf("Greeting() = %q, want the server's greeting", c.Greeting())
			}
			caps, err := c.Capabilities(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, cp := range caps {
				// After STARTTLS the pre-TLS capabilities must have been dropped.
				if cp == "STARTTLS" || cp == "LOGINDISABLED" {
					t.Errorf("capabilities over %s still list %s: %v", enc, cp, caps)
				}
			}
			if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "secret-pw"}); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if _, err := c.Open(ctx, "INBOX"); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestUntrustedCertificate(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL})
	ep := s.Endpoint()
	ep.CAFile = ""
	_, err := mpimap.Dial(context.Background(), ep)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Dial to a self-signed server without its CA: error = %v, want a certificate error", err)
	}
}

func TestPlaintextPasswordRefused(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.None})
	s.AddUser("bob", "secret-pw")
	var trace strings.Builder
	ep := s.Endpoint()
	ep.AllowPlaintextAuth = false
	ep.Trace = &trace
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "secret-pw"})
	var pe *mail.PlaintextAuthError
	if !errors.As(err, &pe) {
		t.Fatalf("Authenticate in the clear: error = %v, want *mail.PlaintextAuthError", err)
	}
	if strings.Contains(trace.String(), "LOGIN") {
		t.Errorf("a LOGIN was sent in the clear:\n%s", trace.String())
	}
}

// scripted is a fake IMAP server that plays a script: it sends each
// "S: " line and checks each "C: " line (with the tag stripped) against what
// the client sends. In "S: " lines TAG is the tag of the latest command and
// PREVTAG the one before. It reports the first difference on errc.
func scripted(t *testing.T, script []string) (mail.Endpoint, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		tag, prev := "", ""
		for _, l := range script {
			switch {
			case strings.HasPrefix(l, "S: "):
				io.WriteString(conn, strings.NewReplacer("PREVTAG", prev, "TAG", tag).Replace(l[3:])+"\r\n")
			case strings.HasPrefix(l, "C: "):
				got, err := br.ReadString('\n')
				if err != nil {
					errc <- err
					return
				}
				got = strings.TrimRight(got, "\r\n")
				if t, rest, ok := strings.Cut(got, " "); ok {
					prev, tag, got = tag, t, rest
				}
				if got != l[3:] {
					errc <- errors.New("client sent " + got + ", want " + l[3:])
					return
				}
			case l == "HANG":
				time.Sleep(10 * time.Second)
			}
		}
		errc <- nil
	}()
	a := ln.Addr().(*net.TCPAddr)
	return mail.Endpoint{Host: "127.0.0.1", Port: a.Port, Encryption: mail.None, Timeout: 5 * time.Second}, errc
}

// Dovecot 2.3 takes "=" as invalid base64 in a continuation; an empty
// response must be an empty line, and then its real words arrive.
func TestXOAUTH2EmptyResponseIsEmptyLine(t *testing.T) {
	payload := "dXNlcj1hQGIBYXV0aD1CZWFyZXIgdG9rZW4tMTIzNDUBAQ==" // user=a@b ^A auth=Bearer token-12345 ^A^A
	ep, errc := scripted(t, []string{
		"S: * OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2] Dovecot ready.",
		"C: AUTHENTICATE XOAUTH2 " + payload,
		"S: + eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=",
		"C: ",
		"S: TAG NO [AUTHENTICATIONFAILED] AUTHENTICATE failed.",
	})
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2, Username: "a@b",
		Token: func(context.Context) (string, error) { return "token-12345", nil }})
	if serr := <-errc; serr != nil {
		t.Fatalf("wire: %v", serr)
	}
	var ae *mail.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want *mail.AuthError", err)
	}
	if ae.Text != "NO [AUTHENTICATIONFAILED] AUTHENTICATE failed." || ae.Challenge != `{"status":"401","schemes":"bearer","scope":"mail"}` {
		t.Errorf("AuthError = %+v, want Dovecot's words and its decoded challenge", ae)
	}
}

// A BAD after AUTHENTICATE is a refusal too, with the server's words.
func TestBadAfterAuthenticateIsAuthError(t *testing.T) {
	ep, _ := scripted(t, []string{
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready",
		"C: AUTHENTICATE XOAUTH2",
		"S: + ",
		"C: dXNlcj1hQGIBYXV0aD1CZWFyZXIgdG9rZW4tMTIzNDUBAQ==",
		"S: TAG BAD Invalid base64 data in continued response",
	})
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2, Username: "a@b",
		Token: func(context.Context) (string, error) { return "token-12345", nil }})
	var ae *mail.AuthError
	if !errors.As(err, &ae) || ae.Text != "BAD Invalid base64 data in continued response" {
		t.Fatalf("error = %v, want *mail.AuthError keeping the BAD text", err)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	ep, _ := scripted(t, []string{"S: * OK ready", "C: CAPABILITY", "HANG"})
	ep.Timeout = 300 * time.Millisecond
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Capabilities(context.Background())
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Errorf("Capabilities on a silent server: error = %v, want a timeout naming 300ms", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %s", d)
	}
}

func TestSilentGreetingTimesOut(t *testing.T) {
	ep, _ := scripted(t, []string{"HANG"})
	ep.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := mpimap.Dial(context.Background(), ep)
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "no greeting") {
		t.Errorf("Dial to a server that never greets: error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %s", d)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	ep, _ := scripted(t, []string{"S: * OK ready", "C: CAPABILITY", "HANG"})
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Capabilities(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Capabilities with an expiring context: error = %v, want context.DeadlineExceeded", err)
	}
}

func TestStartTLSRefused(t *testing.T) {
	ep, _ := scripted(t, []string{"S: * OK ready", "C: STARTTLS", "S: S0 NO STARTTLS not available"})
	ep.Encryption = mail.StartTLS
	_, err := mpimap.Dial(context.Background(), ep)
	if err == nil || !strings.Contains(err.Error(), "refused STARTTLS: NO STARTTLS not available") {
		t.Errorf("Dial: error = %v, want the server's refusal of STARTTLS", err)
	}
}

func TestFlatNamespace(t *testing.T) {
	ep, _ := scripted(t, []string{
		"S: * OK [CAPABILITY IMAP4rev1] ready",
		`C: LIST "" ""`,
		"S: * LIST (\\Noselect) NIL \"\"",
		"S: TAG OK done",
	})
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Open(context.Background(), "Inbox/Endpoint")
	if err == nil || !strings.Contains(err.Error(), "one level") {
		t.Errorf("Open of a nested path on a flat server: error = %v", err)
	}
}

// Dovecot runs pipelined FETCH commands at once: the second batch's first
// message may come before the first batch's completion. Fetch must take it
// then (imapclient's reader waits until it is read) instead of waiting for
// the first command to end, which never happens.
func TestFetchTakesInterleavedBatches(t *testing.T) {
	n := mpimap.BatchSize + 1
	script := []string{
		"S: * OK [CAPABILITY IMAP4rev1] ready",
		`C: LOGIN "bob" "pw"`,
		"S: TAG OK [CAPABILITY IMAP4rev1] logged in",
		"C: SELECT INBOX",
		fmt.Sprintf("S: * %d EXISTS", n),
		"S: * OK [UIDVALIDITY 7] UIDs valid",
		"S: TAG OK [READ-WRITE] Select completed.",
		fmt.Sprintf("C: UID FETCH 1:%d (UID BODY.PEEK[])", n-1),
		fmt.Sprintf("C: UID FETCH %d (UID BODY.PEEK[])", n),
	}
	body := func(i int) string { return fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i) }
	for i := 1; i <= n; i++ {
		script = append(script, fmt.Sprintf("S: * %d FETCH (UID %d BODY[] {%d}\r\n%s)", i, i, len(body(i)), body(i)))
	}
	// The first batch completes only after the second batch's message.
	script = append(script, "S: PREVTAG OK Fetch completed.", "S: TAG OK Fetch completed.", "C: LOGOUT", "S: * BYE", "S: TAG OK bye")
	ep, errc := scripted(t, script)
	ep.AllowPlaintextAuth = true
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "pw"}); err != nil {
		t.Fatalf("%v (wire: %v)", err, <-errc)
	}
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatalf("%v (wire: %v)", err, <-errc)
	}
	var msgs []mail.Message
	for i := 1; i <= n; i++ {
		msgs = append(msgs, mail.Message{ID: fmt.Sprint(i)})
	}
	var got atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
			i := int(got.Load()) + 1
			b, err := io.ReadAll(r)
			if want := body(i); m.ID != fmt.Sprint(i) || string(b) != want {
				t.Errorf("message %d: got ID %s %q, want %q", i, m.ID, b, want)
			}
			got.Add(1)
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil || int(got.Load()) != n {
			t.Fatalf("Fetch delivered %d of %d messages: %v", got.Load(), n, err)
		}
	case <-time.After(10 * time.Second):
		// The deadlock outlives the step timeout: the reader that would
		// notice the closed connection is the one blocked.
		t.Fatalf("Fetch hung after %d of %d messages", got.Load(), n)
	}
	c.Close()
	if err := <-errc; err != nil {
		t.Fatalf("wire: %v", err)
	}
}
