package connect

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

const ciClient = "3f0c1a2b-0000-4000-8000-0000000000c1"

// ciWorld is a CI job's world: a provider that accepts each refresh token
// once and revokes the whole family when one comes back, the accounts'
// refresh tokens in MAILPORT_REFRESH_TOKEN_<ACCOUNT>, and nothing stored.
type ciWorld struct {
	prov     *oauthtest.Server
	cfg      *config.Config
	vars     map[string]string
	mu       sync.Mutex
	warnings []string
}

func newCIWorld(t *testing.T, user string) *ciWorld {
	t.Helper()
	prov := oauthtest.New(oauthtest.Options{User: user, Tenant: "contoso.com", RevokeFamilyOnReuse: true})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: ciClient})
	cfg := config.New(filepath.Join(t.TempDir(), "config.yaml"))
	return &ciWorld{prov: prov, cfg: cfg, vars: map[string]string{}}
}

// account adds an OAuth2 account whose refresh token is in the
// environment.
func (w *ciWorld) account(name string, a *config.Account, scopes []string) {
	tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: ciClient,
		BaseURL: w.prov.MicrosoftBaseURL("contoso.com"), Scopes: scopes, Inbound: true, Outbound: true}
	w.cfg.TokenConfigs[name] = tc
	a.Enabled, a.Auth, a.TokenConfig = true, config.AuthOAuth2, name
	if a.Properties == nil {
		a.Properties = map[string]string{}
	}
	w.cfg.Accounts[name] = a
	w.vars[secret.EnvName(secret.EnvRefreshTokenPrefix, name)] = w.prov.IssueRefreshToken(ciClient, scopes)
}

// opener is what one mailport process builds (cmdutil.Factory.Opener).
func (w *ciWorld) opener(t *testing.T) *Opener {
	res := &secret.Resolver{Store: secret.NewMemory(), Getenv: func(k string) string { return w.vars[k] }}
	m := &oauth.Manager{Config: w.cfg, Secrets: res, LockDir: t.TempDir(), Warn: func(s string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.warnings = append(w.warnings, s)
	}}
	return &Opener{Config: w.cfg, Secrets: res, OAuth: m}
}

func (w *ciWorld) checkOneRefreshEach(t *testing.T, accounts int) {
	t.Helper()
	if n := w.prov.Count("token:refresh_token"); n != accounts {
		t.Errorf("%d refreshes at the provider for %d accounts, want one each", n, accounts)
	}
	if n := w.prov.Count("refresh_reuse"); n != 0 {
		t.Errorf("a refresh token was presented %d more times after it was redeemed: the provider revokes the CI secret", n)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.warnings) != accounts {
		t.Errorf("warnings %q, want one per account", w.warnings)
	}
	for _, s := range w.warnings {
		if !strings.Contains(s, "MAILPORT_REFRESH_TOKEN_") || !strings.Contains(s, "--secrets file") || !strings.Contains(s, "client credentials") {
			t.Errorf("warning %q does not name the variable and the way out", s)
		}
	}
}

// TestGraphWithRefreshTokenFromEnvironmentRefreshesOnce: a Graph account
// whose refresh token comes from the environment (the CI path) redeems
// it once for the run, fetching and sending, where it used to redeem it
// once per token source and so burn the CI secret at a rotating provider.
func TestGraphWithRefreshTokenFromEnvironmentRefreshesOnce(t *testing.T) {
	const alice = "support@contoso.com"
	w := newCIWorld(t, alice)
	g := graphtest.New(t, graphtest.Options{Authorize: func(tok string) (string, error) {
		if u, ok := w.prov.ActiveUser(tok); ok {
			return u, nil
		}
		return "", errors.New("the access token is unknown, expired or revoked")
	}})
	g.AddUser(alice)
	g.AddMessage(alice, "Inbox", []byte("Subject: one\r\n\r\nbody\r\n"))
	w.account("support", &config.Account{Type: config.Inbound, Protocol: config.Microsoft, Login: alice,
		Properties: map[string]string{PropGraphURL: g.URL}}, config.MicrosoftGraphScopes)
	w.account("out", &config.Account{Type: config.Outbound, Protocol: config.Microsoft, Login: alice,
		Properties: map[string]string{PropGraphURL: g.URL}}, config.MicrosoftGraphScopes)
	o := w.opener(t)
	ctx := context.Background()

	for i := 0; i < 2; i++ { // a second connection in the same run
		in, err := o.Inbound(ctx, "support")
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		f, err := in.Open(ctx, "Inbox")
		if err != nil {
			t.Fatal(err)
		}
		if msgs, err := in.List(ctx, mail.Criteria{}); err != nil || len(msgs) != 1 || f.Name != "Inbox" {
			t.Fatalf("Inbox: %d messages, %v", len(msgs), err)
		}
		in.Close()
	}
	out, err := o.Outbound(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	w.checkOneRefreshEach(t, 2)
}

// TestIMAPAndSMTPWithRefreshTokenFromEnvironmentRefreshOnce: the same for
// IMAP and SMTP, with two connections each in one run.
func TestIMAPAndSMTPWithRefreshTokenFromEnvironmentRefreshOnce(t *testing.T) {
	const alice = "support@contoso.com"
	w := newCIWorld(t, alice)
	check := func(user, tok string) error {
		if u, ok := w.prov.ActiveUser(tok); ok && strings.EqualFold(u, user) {
			return nil
		}
		return errors.New("AUTHENTICATE failed")
	}
	im := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, TokenCheck: check})
	im.AddUser(alice, "unused")
	ep := im.Endpoint()
	w.account("in", &config.Account{Type: config.Inbound, Protocol: config.IMAP, Host: ep.Host, Port: ep.Port, Encryption: config.SSL,
		Login: alice, Properties: map[string]string{PropTLSCAFile: im.CAFile()}}, oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP))
	sm, err := smtptest.Start(smtptest.Options{Security: smtptest.StartTLS, Token: check})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	ca, err := sm.CAFile()
	if err != nil {
		t.Fatal(err)
	}
	w.account("out", &config.Account{Type: config.Outbound, Protocol: config.SMTP, Host: sm.Host(), Port: sm.Port(), Encryption: config.StartTLS,
		Login: alice, Properties: map[string]string{PropTLSCAFile: ca}}, oauth.ScopesFor(config.ProviderMicrosoft, config.SMTP))
	o := w.opener(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		in, err := o.Inbound(ctx, "in")
		if err != nil {
			t.Fatalf("IMAP connection %d: %v", i+1, err)
		}
		in.Close()
		out, err := o.Outbound(ctx, "out")
		if err != nil {
			t.Fatalf("SMTP connection %d: %v", i+1, err)
		}
		out.Close()
	}
	w.checkOneRefreshEach(t, 2)
}
