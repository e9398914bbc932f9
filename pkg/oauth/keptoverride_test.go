package oauth_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// TestKeptOverrideAcrossConcurrentProcesses: several mailport processes
// of one CI job start at once with the same MAILPORT_REFRESH_TOKEN_SUPPORT
// and one encrypted secrets file, against a provider that revokes the
// sign-in when a redeemed refresh token comes back. One of them redeems
// the token; the others wait for the lock and take the token it kept.
// An hour later the same happens with the kept token.
func TestKeptOverrideAcrossConcurrentProcesses(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{User: user, RevokeFamilyOnReuse: true})
	t.Cleanup(srv.Close)
	srv.AddClient(oauthtest.Client{ID: clientID})
	tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: clientID,
		BaseURL: srv.MicrosoftBaseURL(""), Scopes: oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP), Inbound: true, Outbound: true}
	cfg := &config.Config{
		Version:      1,
		TokenConfigs: map[string]*config.TokenConfig{"tc": tc},
		Accounts: map[string]*config.Account{"support": {
			Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Host: "mail.example", Encryption: config.SSL,
			Auth: config.AuthOAuth2, Login: user, TokenConfig: "tc",
		}},
	}
	dir := t.TempDir()
	vars := map[string]string{"MAILPORT_REFRESH_TOKEN_SUPPORT": srv.IssueRefreshToken(clientID, tc.Scopes)}
	var nowMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
	process := func() *oauth.TokenSource {
		f := secret.NewEncryptedFile(filepath.Join(dir, secret.FileName), secret.Passphrase{Value: "pw", From: secret.EnvPassphrase}, nil)
		f.WorkFactor = secret.MinWorkFactor
		m := &oauth.Manager{Config: cfg, Secrets: &secret.Resolver{Store: f, Getenv: func(k string) string { return vars[k] }}, LockDir: dir, Now: clock}
		ts, err := m.TokenSource("support")
		if err != nil {
			t.Fatal(err)
		}
		if !ts.KeepOverride {
			t.Fatal("an encrypted secrets file does not keep the rotated environment token")
		}
		return ts
	}
	for round := 1; round <= 2; round++ {
		var wg sync.WaitGroup
		tokens := make([]string, 4)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				at, err := process().AccessToken(ctx(t))
				if err != nil {
					t.Errorf("round %d, process %d: %v", round, i, err)
				}
				tokens[i] = at
			}()
		}
		wg.Wait()
		if n := srv.Count("token:refresh_token"); n != round {
			t.Errorf("round %d: %d refreshes in all, want %d (one per round)", round, n, round)
		}
		if n := srv.Count("refresh_reuse"); n != 0 {
			t.Fatalf("round %d: a redeemed refresh token was presented again (%d times)", round, n)
		}
		for i := range tokens {
			if tokens[i] != tokens[0] {
				t.Errorf("round %d: process %d got another access token than process 0", round, i)
			}
		}
		nowMu.Lock()
		now = now.Add(2 * time.Hour)
		nowMu.Unlock()
		srv.ExpireAccessTokens()
	}
}

// A plain secrets file and a memory store do not keep it: the rotated
// token would be a live credential in clear text on a CI cache.
func TestKeptOverrideOnlyWithEncryptedFile(t *testing.T) {
	for _, st := range []secret.Store{secret.NewMemory(), secret.NewFile(filepath.Join(t.TempDir(), secret.FileName), nil)} {
		r := &secret.Resolver{Store: st}
		if r.KeepsRotatedTokens() {
			t.Errorf("%T keeps rotated environment tokens", st)
		}
	}
}

// failingSets is a store whose writes fail, as a read-only mounted
// secrets file's would.
type failingSets struct{ secret.Store }

func (failingSets) Set(string, string) error { return errors.New("read-only file system") }

// A secrets file that cannot take the rotated token does not fail the
// run: the token is used from memory, with one warning that says why.
func TestKeptOverrideUnwritableStoreWarns(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{User: user})
	t.Cleanup(srv.Close)
	srv.AddClient(oauthtest.Client{ID: clientID})
	tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: clientID,
		BaseURL: srv.MicrosoftBaseURL(""), Scopes: oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP), Inbound: true, Outbound: true}
	cfg := &config.Config{Version: 1, TokenConfigs: map[string]*config.TokenConfig{"tc": tc},
		Accounts: map[string]*config.Account{"support": {Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Host: "mail.example",
			Encryption: config.SSL, Auth: config.AuthOAuth2, Login: user, TokenConfig: "tc"}}}
	m := &oauth.Manager{Config: cfg, Secrets: &secret.Resolver{Store: secret.NewMemory()}}
	c, scopes, err := m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	ts := &oauth.TokenSource{Account: "support", Client: c, Store: failingSets{secret.NewMemory()}, Scopes: scopes,
		Override: srv.IssueRefreshToken(clientID, tc.Scopes), KeepOverride: true, LockDir: t.TempDir(),
		Warn: func(s string) { warnings = append(warnings, s) }}
	for range 2 {
		if _, err := ts.AccessToken(ctx(t)); err != nil {
			t.Fatalf("AccessToken with an unwritable store: %v", err)
		}
	}
	want := "could not keep the rotated refresh token of account support (saving the token of account support in the memory store: read-only file system); it lives only in this run, and the next run starts again from MAILPORT_REFRESH_TOKEN_SUPPORT"
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want once %q", warnings, want)
	}
}
