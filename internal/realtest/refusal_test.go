package realtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/smtp"
)

// authenticator is the part of every adapter these tests use.
type authenticator interface {
	Authenticate(ctx context.Context, c mail.Credentials) error
	Close() error
}

// dialProto connects to the bed's STARTTLS port of a protocol (submission
// for SMTP, where Postfix takes AUTH only after STARTTLS).
func dialProto(t *testing.T, b *testbed.Bed, proto string) authenticator {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	var a authenticator
	var err error
	switch proto {
	case "imap":
		a, err = imap.Dial(ctx, endpoint(b, b.IMAPPort, mail.StartTLS))
	case "pop3":
		a, err = pop3.Dial(ctx, endpoint(b, b.POP3Port, mail.StartTLS))
	case "smtp":
		a, err = smtp.Dial(ctx, endpoint(b, b.SubmissionPort, mail.StartTLS))
	}
	if err != nil {
		t.Fatalf("connect %s: %v", proto, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// refusal is how each real server words a refused login.
var refusal = map[string]string{
	"imap": "NO [AUTHENTICATIONFAILED] Authentication failed.",
	"pop3": "-ERR [AUTH] Authentication failed.",
	"smtp": "535 5.7.8 Error: authentication failed:",
}

// refused checks err is the server's refusal with its words kept.
func refused(t *testing.T, proto, mech string, err error) *mail.AuthError {
	t.Helper()
	var ae *mail.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error %v (%T), want the server's refusal as a *mail.AuthError", proto, err, err)
	}
	t.Logf("%s %s refused: %s", proto, ae.Mechanism, ae.Error())
	if ae.Mechanism != mech {
		t.Errorf("%s: AuthError.Mechanism = %q, want %q", proto, ae.Mechanism, mech)
	}
	if !strings.Contains(ae.Text, refusal[proto]) {
		t.Errorf("%s: AuthError.Text = %q, want the server's words %q", proto, ae.Text, refusal[proto])
	}
	return ae
}

// TestRealServersRefuseWrongTokens: a token for Microsoft Graph, and an
// Outlook token without the protocol's scope, are refused by Dovecot (IMAP,
// POP3) and by Postfix through Dovecot (SMTP), as Microsoft refuses them;
// the same sign-in with the right scopes is accepted.
func TestRealServersRefuseWrongTokens(t *testing.T) {
	b := bed.Get(t)
	scopeOf := map[string]string{"imap": "IMAP.AccessAsUser.All", "pop3": "POP.AccessAsUser.All", "smtp": "SMTP.Send"}
	graph := tokenFor(t, carol, graphScopes...)
	good := tokenFor(t, carol, outlookScopes...)
	for _, proto := range []string{"imap", "pop3", "smtp"} {
		t.Run(proto, func(t *testing.T) {
			requireScope(t, scopeOf[proto])
			var without []string
			for _, s := range outlookScopes {
				if !strings.HasSuffix(s, "/"+scopeOf[proto]) {
					without = append(without, s)
				}
			}
			lacking := tokenFor(t, carol, without...)
			for name, tok := range map[string]string{"graph audience": graph, "no " + scopeOf[proto]: lacking} {
				before := prov.Count("introspect")
				err := dialProto(t, b, proto).Authenticate(ctxFor(t, 30*time.Second), tokenCreds(carol, tok))
				ae := refused(t, proto, mail.XOAUTH2, err)
				if !strings.Contains(ae.Challenge, `"status":"401"`) {
					t.Errorf("%s: AuthError.Challenge = %q, want the server's decoded JSON challenge with status 401", proto, ae.Challenge)
				}
				if prov.Count("introspect") == before {
					t.Errorf("%s: the %s token was refused without asking the authorization server", proto, name)
				}
			}
			if err := dialProto(t, b, proto).Authenticate(ctxFor(t, 30*time.Second), tokenCreds(carol, good)); err != nil {
				t.Errorf("%s: the token with %s was refused: %v", proto, scopeOf[proto], err)
			}
		})
	}
}

// TestRealServersRefuseWrongPassword keeps each server's words.
func TestRealServersRefuseWrongPassword(t *testing.T) {
	b := bed.Get(t)
	mech := map[string]string{"imap": "LOGIN", "pop3": "PLAIN", "smtp": "PLAIN"}
	for _, proto := range []string{"imap", "pop3", "smtp"} {
		t.Run(proto, func(t *testing.T) {
			wrong := mail.Credentials{Kind: mail.AuthBasic, Username: carol, Password: "not-" + password(carol)}
			refused(t, proto, mech[proto], dialProto(t, b, proto).Authenticate(ctxFor(t, 30*time.Second), wrong))
			if err := dialProto(t, b, proto).Authenticate(ctxFor(t, 30*time.Second), basicCreds(carol)); err != nil {
				t.Errorf("%s: the right password was refused: %v", proto, err)
			}
		})
	}
}
