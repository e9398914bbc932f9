package imap_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

// lockedBuilder is a trace target that the race detector accepts from the
// reading and the writing goroutine alike.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// checkMarked fails unless every line of the transcript says who sent it,
// as the POP3 and SMTP transcripts do.
func checkMarked(t *testing.T, tr string) {
	t.Helper()
	if tr == "" {
		t.Fatal("the transcript is empty")
	}
	for _, line := range strings.Split(strings.TrimRight(tr, "\n"), "\n") {
		if !strings.HasPrefix(line, "imap C: ") && !strings.HasPrefix(line, "imap S: ") {
			t.Errorf("transcript line %q is marked neither \"imap C: \" nor \"imap S: \"\n%s", line, tr)
		}
	}
}

// lineWith returns the first transcript line containing s.
func lineWith(tr, s string) string {
	for _, line := range strings.Split(tr, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func TestTraceMarksDirectionAndHidesTheLoginPassword(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL})
	s.AddUser("bob", "secret-pw-4711")
	var tr lockedBuilder
	ep := s.Endpoint()
	ep.Trace = &tr
	ctx := context.Background()
	c, err := mpimap.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "secret-pw-4711"}); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	got := tr.String()
	checkMarked(t, got)
	if strings.Contains(got, "secret-pw-4711") {
		t.Errorf("the password is in the transcript:\n%s", got)
	}
	if l := lineWith(got, "LOGIN"); !strings.HasPrefix(l, "imap C: ") || !strings.HasSuffix(strings.TrimRight(l, "\r"), "[redacted]") {
		t.Errorf("LOGIN line = %q, want a client line ending in [redacted]\n%s", l, got)
	}
	if l := lineWith(got, "* OK"); !strings.HasPrefix(l, "imap S: * OK") {
		t.Errorf("greeting line = %q, want it marked imap S:\n%s", l, got)
	}
	if l := lineWith(got, " SELECT INBOX"); !strings.HasPrefix(l, "imap C: ") {
		t.Errorf("SELECT line = %q, want it marked imap C:\n%s", l, got)
	}
}

func TestTraceMarksDirectionAndHidesTheToken(t *testing.T) {
	const token = "ya29.secret-access-token-0815"
	for _, tc := range []struct {
		name      string
		noXOAUTH2 bool
		mech      string
	}{{"XOAUTH2", false, "XOAUTH2"}, {"OAUTHBEARER", true, "OAUTHBEARER"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, NoXOAUTH2: tc.noXOAUTH2,
				TokenCheck: func(user, tok string) error {
					if tok != token {
						return fmt.Errorf("bad token")
					}
					return nil
				}})
			s.AddUser("bob@example.com", "unused-password")
			var tr lockedBuilder
			ep := s.Endpoint()
			ep.Trace = &tr
			ctx := context.Background()
			c, err := mpimap.Dial(ctx, ep)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Authenticate(ctx, mail.Credentials{Kind: mail.AuthOAuth2, Username: "bob@example.com",
				Token: func(context.Context) (string, error) { return token, nil }})
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			got := tr.String()
			checkMarked(t, got)
			if strings.Contains(got, token) || strings.Contains(got, "secret-access") {
				t.Errorf("the token is in the transcript:\n%s", got)
			}
			l := lineWith(got, "AUTHENTICATE "+tc.mech)
			if !strings.HasPrefix(l, "imap C: ") {
				t.Fatalf("AUTHENTICATE line = %q, want a client line\n%s", l, got)
			}
			// The payload travels inline (SASL-IR) or on the next line;
			// either way only [redacted] shows.
			next := ""
			if i := strings.Index(got, l); i >= 0 {
				rest := got[i+len(l)+1:]
				next, _, _ = strings.Cut(rest, "\n")
			}
			if !strings.HasSuffix(strings.TrimRight(l, "\r"), "[redacted]") && strings.TrimRight(next, "\r") != "imap C: [redacted]" {
				t.Errorf("no redacted SASL response after %q (next line %q)\n%s", l, next, got)
			}
		})
	}
}

// A server that repeats the password in its refusal must not put it in
// the transcript either.
func TestTraceHidesSecretsTheServerEchoes(t *testing.T) {
	ep, _ := scripted(t, []string{
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready",
		"C: LOGIN \"bob\" \"hunter2-secret\"",
		"S: TAG NO [AUTHENTICATIONFAILED] wrong password hunter2-secret for bob",
	})
	ep.AllowPlaintextAuth = true
	var tr lockedBuilder
	ep.Trace = &tr
	c, err := mpimap.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: "bob", Password: "hunter2-secret"})
	var ae *mail.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want *mail.AuthError", err)
	}
	c.Close()
	got := tr.String()
	checkMarked(t, got)
	if strings.Contains(got, "hunter2-secret") {
		t.Errorf("the echoed password is in the transcript:\n%s", got)
	}
	if l := lineWith(got, "wrong password"); !strings.HasPrefix(l, "imap S: ") || !strings.Contains(l, "[redacted]") {
		t.Errorf("the server's refusal = %q, want it marked imap S: with the password redacted\n%s", l, got)
	}
}
