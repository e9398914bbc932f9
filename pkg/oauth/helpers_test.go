package oauth_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

const (
	clientID     = "3f0c1a2b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	clientSecret = "Xq8~s3cr3t.VALUE-never-printed_42"
	user         = "alice@mailport-test.onmicrosoft.com"
)

// syncBuffer is an io.Writer safe for the flow's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is one test's world: a fake provider, a config with one account,
// a memory store and a manager.
type env struct {
	t       *testing.T
	srv     *oauthtest.Server
	cfg     *config.Config
	store   *secret.Memory
	envVars map[string]string
	m       *oauth.Manager
	out     *syncBuffer
	now     time.Time
	nowMu   sync.Mutex
}

// newEnv builds an env for provider ("microsoft" or "google"); the account
// is "support" with protocol.
func newEnv(t *testing.T, provider, protocol string) *env {
	t.Helper()
	srv := oauthtest.New(oauthtest.Options{User: user})
	t.Cleanup(srv.Close)
	srv.AddClient(oauthtest.Client{ID: clientID, Secret: clientSecret})
	tc := &config.TokenConfig{Provider: provider, Flow: config.FlowUser, ClientID: clientID, Inbound: true, Outbound: true}
	switch provider {
	case config.ProviderMicrosoft:
		tc.BaseURL = srv.MicrosoftBaseURL("")
		tc.Scopes = oauth.ScopesFor(provider, protocol)
	case config.ProviderGoogle:
		// The seed's URL shape, query and all.
		tc.AuthURL = srv.GoogleAuthURL() + "?prompt=&access_type=offline"
		tc.TokenURL = srv.GoogleTokenURL()
		tc.DeviceURL = srv.GoogleDeviceURL()
		tc.Scopes = []string{oauth.ScopeGoogleMail}
	}
	typ := config.Inbound
	if protocol == config.SMTP {
		typ = config.Outbound
	}
	cfg := &config.Config{
		Version:      1,
		TokenConfigs: map[string]*config.TokenConfig{"tc": tc},
		Accounts: map[string]*config.Account{"support": {
			Enabled: true, Type: typ, Protocol: protocol, Host: "mail.example", Encryption: config.SSL,
			Auth: config.AuthOAuth2, Login: user, TokenConfig: "tc",
		}},
	}
	e := &env{t: t, srv: srv, cfg: cfg, store: secret.NewMemory(), envVars: map[string]string{}, out: &syncBuffer{}, now: time.Now()}
	if err := e.store.Set(secret.ClientSecretKey("tc"), clientSecret); err != nil {
		t.Fatal(err)
	}
	e.m = e.manager(t.TempDir())
	return e
}

// manager returns a new Manager on the same store and clock, as a second
// process would build.
func (e *env) manager(lockDir string) *oauth.Manager {
	return &oauth.Manager{
		Config:  e.cfg,
		Secrets: &secret.Resolver{Store: e.store, Getenv: func(k string) string { return e.envVars[k] }},
		LockDir: lockDir,
		Now:     e.clock,
	}
}

func (e *env) clock() time.Time {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	e.now = e.now.Add(d)
}

func (e *env) tc() *config.TokenConfig { return e.cfg.TokenConfigs["tc"] }

// browser is a stand-in for a person's browser: it follows the authorize
// URL's redirect into the loopback listener and keeps the page it ends on.
type browser struct {
	mu     sync.Mutex
	page   string
	status int
	done   chan struct{}
	before func(authURL string) string // may rewrite the URL first
}

func newBrowser() *browser { return &browser{done: make(chan struct{})} }

func (b *browser) open(u string) error {
	if b.before != nil {
		u = b.before(u)
	}
	go func() {
		defer close(b.done)
		resp, err := http.Get(u)
		if err != nil {
			b.mu.Lock()
			b.page = "browser error: " + err.Error()
			b.mu.Unlock()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b.mu.Lock()
		b.page, b.status = string(body), resp.StatusCode
		b.mu.Unlock()
	}()
	return nil
}

func (b *browser) result(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser never finished loading")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.page
}

// noFollow fetches u and returns the redirect target without following it.
func noFollow(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want a redirect", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// assertNoSecret fails when the client secret appears in any of texts.
func assertNoSecret(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, clientSecret) {
			t.Fatalf("the client secret appears in output:\n%s", s)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
