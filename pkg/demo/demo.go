// Package demo runs the world `mailport demo` needs, on loopback and in
// process: a fake Microsoft authorization server (auto-approving one
// user), an IMAP server and an SMTP server that accept that user's tokens,
// and a fake Microsoft Graph. Mail sent through the SMTP server is
// delivered to the IMAP and Graph mailboxes, so a newcomer can send and
// then fetch.
package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// The demo's identities.
const (
	Tenant       = "mailport-demo.test"
	User         = "demo@mailport-demo.test"
	ClientID     = "0d3e6f00-de70-4a1e-9c1e-000000000001"
	ClientSecret = "demo-client-secret-value" // a throwaway secret of the fake provider
)

// Env is the running demo world.
type Env struct {
	OAuth *oauthtest.Server
	IMAP  *imaptest.Server
	SMTP  *smtptest.Server
	Graph *graphtest.Server

	smtpCA    string
	delivered int
	mu        sync.Mutex
	http      *http.Client
}

// Start starts every server.
func Start() (*Env, error) {
	e := &Env{http: &http.Client{Timeout: 10 * time.Second}}
	e.OAuth = oauthtest.New(oauthtest.Options{Tenant: Tenant, User: User})
	e.OAuth.AddClient(oauthtest.Client{ID: ClientID, Secret: ClientSecret})
	var err error
	e.IMAP, err = imaptest.New(imaptest.Config{Encryption: "ssl", TokenCheck: e.checkToken("https://outlook.office.com")})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("start the demo IMAP server: %w", err)
	}
	e.IMAP.AddUser(User, "")
	e.SMTP, err = smtptest.Start(smtptest.Options{Security: smtptest.StartTLS, Token: e.checkToken("https://outlook.office.com")})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("start the demo SMTP server: %w", err)
	}
	if e.smtpCA, err = e.SMTP.CAFile(); err != nil {
		e.Close()
		return nil, err
	}
	e.Graph, err = graphtest.Start(graphtest.Options{Authorize: func(token string) (string, error) {
		return e.introspect(token, "https://graph.microsoft.com")
	}})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("start the demo Graph: %w", err)
	}
	e.Graph.AddUser(User)
	if err := e.fill(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops every server.
func (e *Env) Close() {
	if e.Graph != nil {
		e.Graph.Close()
	}
	if e.SMTP != nil {
		e.SMTP.Close()
	}
	if e.IMAP != nil {
		e.IMAP.Close()
	}
	if e.OAuth != nil {
		e.OAuth.Close()
	}
}

// SMTPCAFile is the SMTP server's certificate authority, for tls_ca_file.
func (e *Env) SMTPCAFile() string { return e.smtpCA }

// Approve plays the user at the browser: it opens the authorize URL, which
// the fake provider approves at once, and follows the redirect to
// mailport's loopback listener.
func (e *Env) Approve(url string) error {
	go func() {
		resp, err := e.http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
	}()
	return nil
}

// checkToken validates a bearer token at the provider, like Dovecot's
// oauth2 passdb does: it must be active, for the resource, and the user's.
func (e *Env) checkToken(resource string) func(user, token string) error {
	return func(user, token string) error {
		who, err := e.introspect(token, resource)
		if err != nil {
			return err
		}
		if !strings.EqualFold(who, user) {
			return fmt.Errorf("the token is for %s, not %s", who, user)
		}
		return nil
	}
}

func (e *Env) introspect(token, resource string) (string, error) {
	req, err := http.NewRequest("GET", e.OAuth.IntrospectURL(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var info struct {
		Active   bool   `json:"active"`
		Username string `json:"username"`
		Aud      string `json:"aud"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || !info.Active {
		return "", fmt.Errorf("invalid token")
	}
	if !strings.HasPrefix(info.Aud, resource) {
		return "", fmt.Errorf("the token is for %s, not %s", info.Aud, resource)
	}
	return info.Username, nil
}

// fill puts a few messages in the mailboxes so there is something to fetch.
func (e *Env) fill() error {
	now := time.Now().UTC()
	for i, m := range []struct{ from, subject, body string }{
		{"helpdesk@mailport-demo.test", "Welcome to mailport", "This message waited in the demo IMAP inbox.\r\nmailport fetch wrote it here byte for byte.\r\n"},
		{"ci@mailport-demo.test", "Nightly build 1842 passed", "All 1204 tests passed.\r\n"},
	} {
		raw := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <demo-%d@mailport-demo.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
			m.from, User, m.subject, now.Add(time.Duration(i-10)*time.Minute).Format(time.RFC1123Z), i, m.body)
		if _, err := e.IMAP.Append(User, "INBOX", []byte(raw), nil, now.Add(time.Duration(i-10)*time.Minute)); err != nil {
			return fmt.Errorf("fill the demo mailbox: %w", err)
		}
		e.Graph.AddMessage(User, "Inbox", []byte(raw))
	}
	return nil
}

// Deliver moves what the SMTP server received into the IMAP inbox (the
// demo's stand-in for a mail server's local delivery). It returns how many
// messages it delivered.
func (e *Env) Deliver() (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	msgs := e.SMTP.Messages()
	n := 0
	for _, m := range msgs[e.delivered:] {
		if _, err := e.IMAP.Append(User, "INBOX", m.Data, nil, time.Now()); err != nil {
			return n, fmt.Errorf("deliver to the demo mailbox: %w", err)
		}
		n++
	}
	e.delivered = len(msgs)
	return n, nil
}
