package realtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
)

// suiteMailboxes hands out the bed's suite users, each once, so every suite
// test starts with an empty mailbox.
var suiteMailboxes struct {
	mu   sync.Mutex
	next int
}

// dovecotFactory gives each suite test a fresh mailbox on the bed's Dovecot,
// with a token the oauth2 passdb accepts (Outlook's IMAP scope) and one it
// refuses (a Graph token of the same user).
func dovecotFactory(enc mail.Encryption) imaptest.Factory {
	return func(t *testing.T, f imaptest.Features) *imaptest.Fixture {
		b := bed.Get(t)
		// Dovecot always offers MOVE, UIDPLUS and XOAUTH2 (the settings are
		// global, not per user); imaptest's own server covers their absence.
		switch {
		case f.NoMove:
			t.Skip("Dovecot always offers MOVE")
		case f.NoUIDPlus:
			t.Skip("Dovecot always offers UIDPLUS")
		case f.NoXOAUTH2:
			t.Skip("Dovecot always offers XOAUTH2 beside OAUTHBEARER")
		}
		// Features.Isolated needs nothing: Dovecot runs outside this process.
		suiteMailboxes.mu.Lock()
		suiteMailboxes.next++
		n := suiteMailboxes.next
		suiteMailboxes.mu.Unlock()
		if n > suiteUsers {
			t.Fatalf("the bed has only %d suite mailboxes; raise suiteUsers", suiteUsers)
		}
		user := fmt.Sprintf("suite%02d@example.test", n)
		port := b.IMAPSPort
		if enc == mail.StartTLS {
			port = b.IMAPPort
		}
		return &imaptest.Fixture{
			Endpoint:     endpoint(b, port, enc),
			User:         user,
			Password:     password(user),
			Token:        tokenFor(t, user, outlookScopes...),
			BadToken:     tokenFor(t, user, graphScopes...),
			TokenRefusal: "Authentication failed",
		}
	}
}

// TestIMAPSuiteOnDovecot runs the IMAP adapter's shared suite, which also
// runs against go-imap's memory server in pkg/imap, on a real Dovecot.
func TestIMAPSuiteOnDovecot(t *testing.T) {
	for _, enc := range []mail.Encryption{mail.SSL, mail.StartTLS} {
		t.Run(string(enc), func(t *testing.T) { imaptest.RunSuite(t, dovecotFactory(enc)) })
	}
}
