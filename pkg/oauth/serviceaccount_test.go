package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
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
	saEmail    = "mailport-reader@acme-mail.iam.gserviceaccount.com"
	saClientID = "104857600123456789012"
	erin       = "erin@acme.example"
	frank      = "frank@acme.example"
)

// saWorld is a config with a service-account token config "gsa" and two
// IMAP accounts of the same domain, the key in a memory store, and a clock
// a test can move.
type saWorld struct {
	prov  *oauthtest.Server
	store *secret.Memory
	m     *oauth.Manager
	mu    sync.Mutex
	now   time.Time     // Google's time
	skew  time.Duration // how far this machine's clock is off
}

// clock is this machine's; googleClock is Google's.
func (w *saWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now.Add(w.skew)
}

func (w *saWorld) googleClock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *saWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// newSAWorld registers the service account at a fake Google (delegated
// for https://mail.google.com/ in acme.example unless change says
// otherwise) and stores keyFile, or the account's own key when nil.
func newSAWorld(t *testing.T, keyFile []byte, change func(*oauthtest.ServiceAccount)) *saWorld {
	t.Helper()
	w := &saWorld{now: time.Now(), store: secret.NewMemory()}
	w.prov = oauthtest.New(oauthtest.Options{Now: w.googleClock})
	t.Cleanup(w.prov.Close)
	own, sa := oauthtest.NewServiceAccountKey(saEmail, saClientID, w.prov.GoogleTokenURL())
	sa.Domains = []string{"acme.example"}
	sa.Delegated = []string{oauth.ScopeGoogleMail}
	if change != nil {
		change(&sa)
	}
	w.prov.AddServiceAccount(sa)
	if keyFile == nil {
		keyFile = own
	}
	if err := w.store.Set(secret.ClientSecretKey("gsa"), string(keyFile)); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Version: 1, TokenConfigs: map[string]*config.TokenConfig{
		"gsa": {Provider: config.ProviderGoogle, Flow: config.FlowServiceAccount, ClientID: saEmail,
			TokenURL: w.prov.GoogleTokenURL(), Scopes: []string{oauth.ScopeGoogleMail}, Inbound: true, Outbound: true},
	}, Accounts: map[string]*config.Account{}}
	for name, login := range map[string]string{"erin": erin, "frank": frank, "stranger": "mallory@elsewhere.example"} {
		cfg.Accounts[name] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Host: "imap.gmail.com",
			Encryption: config.SSL, Auth: config.AuthOAuth2, Login: login, TokenConfig: "gsa"}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w.m = &oauth.Manager{Config: cfg, Secrets: &secret.Resolver{Store: w.store, Getenv: func(string) string { return "" }}, Now: w.clock}
	return w
}

func (w *saWorld) token(t *testing.T, account string) (*oauth.Token, error) {
	t.Helper()
	ts, err := w.m.TokenSource(account)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return ts.Token(ctx)
}

// One service account serves two mailboxes: each grant is signed with the
// key, names the mailbox as sub, and is for Gmail's scope; no client
// secret or refresh token is sent or kept; a token is reused until it
// expires, then a new grant is made.
func TestServiceAccountServesTwoMailboxes(t *testing.T) {
	w := newSAWorld(t, nil, nil)
	for _, c := range []struct{ account, login string }{{"erin", erin}, {"frank", frank}} {
		tok, err := w.token(t, c.account)
		if err != nil {
			t.Fatalf("%s: %v", c.account, err)
		}
		if got, ok := w.prov.ActiveUser(tok.AccessToken); !ok || got != c.login {
			t.Errorf("%s: the token is for %q (active %v), want %s", c.account, got, ok, c.login)
		}
		if tok.RefreshToken != "" || tok.User != c.login || tok.Flow != config.FlowServiceAccount {
			t.Errorf("%s: token refresh=%q user=%q flow=%q, want no refresh token, user %s, flow service_account", c.account, tok.RefreshToken, tok.User, tok.Flow, c.login)
		}
	}
	grants := w.prov.ServiceAccountGrants()
	if len(grants) != 2 {
		t.Fatalf("%d grants reached the token endpoint, want 2", len(grants))
	}
	for i, login := range []string{erin, frank} {
		g := grants[i]
		t.Logf("the token endpoint received: %s", g)
		if strings.Join(g.Fields, ",") != "assertion,grant_type" {
			t.Errorf("grant %d sent the fields %v, want only assertion and grant_type (no client secret)", i, g.Fields)
		}
		if g.GrantType != oauth.GrantJWTBearer || g.Header["alg"] != "RS256" {
			t.Errorf("grant %d: grant_type %q alg %v", i, g.GrantType, g.Header["alg"])
		}
		c := g.Claims
		if c["iss"] != saEmail || c["sub"] != login || c["aud"] != w.prov.GoogleTokenURL() || c["scope"] != oauth.ScopeGoogleMail {
			t.Errorf("grant %d claims %v, want iss %s sub %s aud %s scope %s", i, c, saEmail, login, w.prov.GoogleTokenURL(), oauth.ScopeGoogleMail)
		}
		if d := c["exp"].(float64) - c["iat"].(float64); d != 3600 {
			t.Errorf("grant %d: exp - iat = %v s, want 3600", i, d)
		}
	}
	// Within the hour: the token in memory; nothing is stored.
	if _, err := w.token(t, "erin"); err != nil {
		t.Fatal(err)
	}
	if n := len(w.prov.ServiceAccountGrants()); n != 2 {
		t.Errorf("a valid token was not reused: %d grants", n)
	}
	if _, err := w.store.Get(secret.TokenKey("erin")); !secret.IsNotFound(err) {
		t.Errorf("a service-account token was stored (err %v); they live in memory only", err)
	}
	// An hour later: a new grant, not a refresh.
	w.advance(time.Hour)
	if _, err := w.token(t, "erin"); err != nil {
		t.Fatal(err)
	}
	if n, r := len(w.prov.ServiceAccountGrants()), w.prov.Count("token:refresh_token"); n != 3 || r != 0 {
		t.Errorf("after expiry: %d grants and %d refreshes, want 3 and 0", n, r)
	}
	st, err := w.m.Inspect("frank")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != oauth.StateAuthenticated || st.Source != "memory" || st.User != frank {
		t.Errorf("status of frank: %+v, want AUTHENTICATED as %s with the key from the store", st, frank)
	}
}

// Google's refusals reach the user in its words, with the fix.
func TestServiceAccountRefusals(t *testing.T) {
	otherKey, _ := oauthtest.NewServiceAccountKey(saEmail, saClientID, "https://oauth2.googleapis.com/token")
	cases := []struct {
		name    string
		key     []byte
		change  func(*oauthtest.ServiceAccount)
		skew    time.Duration
		account string
		code    string
		words   []string
	}{
		{name: "signed with another key", key: otherKey, account: "erin", code: "invalid_grant",
			words: []string{"Invalid JWT Signature.", "create a new JSON key", "mailport token-config edit gsa --key-file FILE"}},
		{name: "clock two hours ahead", skew: 2 * time.Hour, account: "erin", code: "invalid_grant",
			words: []string{"Token must be a short-lived token (60 minutes)", "clock"}},
		{name: "clock two hours behind", skew: -2 * time.Hour, account: "erin", code: "invalid_grant",
			words: []string{"Token must be a short-lived token (60 minutes)", "clock"}},
		{name: "delegation not granted", change: func(sa *oauthtest.ServiceAccount) { sa.Delegated = nil }, account: "erin", code: "unauthorized_client",
			words: []string{"Client is unauthorized to retrieve access tokens using this method", "Domain-wide delegation", "client ID " + saClientID, "https://mail.google.com/"}},
		{name: "delegated for other scopes", change: func(sa *oauthtest.ServiceAccount) {
			sa.Delegated = []string{"https://www.googleapis.com/auth/gmail.readonly"}
		}, account: "frank", code: "unauthorized_client",
			words: []string{"Admin console"}},
		{name: "user outside the domain", account: "stranger", code: "invalid_grant",
			words: []string{"Invalid email or User ID", "mallory@elsewhere.example is not a user"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newSAWorld(t, c.key, c.change)
			w.skew = c.skew
			_, err := w.token(t, c.account)
			if err == nil {
				t.Fatal("got a token, want Google's refusal")
			}
			var pe *oauth.ProviderError
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Fatalf("error %v: want a provider error %s", err, c.code)
			}
			for _, wd := range c.words {
				if !strings.Contains(err.Error(), wd) {
					t.Errorf("the error does not say %q:\n%s", wd, err)
				}
			}
			if oauth.IsAuthRequired(err) {
				t.Errorf("a service account's refusal asks to run authenticate, which cannot fix it: %v", err)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("the error shows the key or the assertion: %v", err)
			}
		})
	}
}

func TestServiceAccountKeyFileChecks(t *testing.T) {
	good, _ := oauthtest.NewServiceAccountKey(saEmail, saClientID, "https://oauth2.googleapis.com/token")
	k, err := oauth.ParseServiceAccountKey(good)
	if err != nil {
		t.Fatal(err)
	}
	if k.ClientEmail != saEmail || k.ClientID != saClientID || k.TokenURI != "https://oauth2.googleapis.com/token" {
		t.Errorf("parsed %+v", k)
	}
	cases := map[string]struct{ file, want string }{
		"not JSON":      {"-----BEGIN PRIVATE KEY-----", "is not a JSON key file"},
		"OAuth client":  {`{"installed":{"client_id":"1-abc.apps.googleusercontent.com","client_secret":"x"}}`, "an OAuth client's credentials, not a service account key"},
		"user creds":    {`{"type":"authorized_user","client_id":"x","refresh_token":"y"}`, `of type "authorized_user", not service_account`},
		"no email":      {`{"type":"service_account","private_key":"x"}`, "has no client_email"},
		"no key":        {`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com"}`, "has no private_key"},
		"key not PEM":   {`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"MIIE..."}`, "is not PEM"},
		"key not a key": {`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`, "does not parse"},
		"huge":          {strings.Repeat(" ", oauth.MaxServiceAccountKey+1), "more than a Google key file ever is"},
	}
	for name, c := range cases {
		_, err := oauth.ParseServiceAccountKey([]byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
		}
	}
}

// In CI the key may come from MAILPORT_CLIENT_SECRET_<TOKENCONFIG> instead
// of the store.
func TestServiceAccountKeyFromEnvironment(t *testing.T) {
	w := newSAWorld(t, nil, nil)
	key, err := w.store.Get(secret.ClientSecretKey("gsa"))
	if err != nil {
		t.Fatal(err)
	}
	w.store.Delete(secret.ClientSecretKey("gsa"))
	if _, err := w.token(t, "erin"); err == nil || !strings.Contains(err.Error(), "token config gsa has no service account key: store it with mailport token-config edit gsa --key-file FILE") {
		t.Fatalf("without a key: %v", err)
	}
	w.m.Secrets.Getenv = func(k string) string {
		if k == "MAILPORT_CLIENT_SECRET_GSA" {
			return key
		}
		return ""
	}
	tok, err := w.token(t, "erin")
	if err != nil || tok.User != erin {
		t.Fatalf("with the key in the environment: %v %+v", err, tok)
	}
	st, err := w.m.Inspect("erin")
	if err != nil || st.Source != secret.SourceEnv || st.State != oauth.StateAuthenticated {
		t.Errorf("status %+v %v, want AUTHENTICATED from the environment", st, err)
	}
}

// Many accounts of one service account, asking for tokens at once (as
// fetch --all does), each get a token for their own mailbox only: sub is
// never another account's login, and each account makes one grant.
func TestServiceAccountConcurrentAccountsNeverShareTokens(t *testing.T) {
	w := newSAWorld(t, nil, nil)
	logins := map[string]string{}
	for i := 0; i < 8; i++ {
		name, login := fmt.Sprintf("box%d", i), fmt.Sprintf("user%d@acme.example", i)
		logins[name] = login
		w.m.Config.Accounts[name] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Host: "imap.gmail.com",
			Encryption: config.SSL, Auth: config.AuthOAuth2, Login: login, TokenConfig: "gsa"}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(logins))
	for name, login := range logins {
		for j := 0; j < 4; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ts, err := w.m.TokenSource(name)
				if err != nil {
					errs <- err
					return
				}
				tok, err := ts.Token(ctx(t))
				if err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
				if got, ok := w.prov.ActiveUser(tok.AccessToken); !ok || got != login || tok.User != login {
					errs <- fmt.Errorf("%s got a token for %q (user %q), want %s", name, got, tok.User, login)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	perSub := map[string]int{}
	for _, g := range w.prov.ServiceAccountGrants() {
		sub, _ := g.Claims["sub"].(string)
		perSub[sub]++
	}
	for _, login := range logins {
		if perSub[login] != 1 {
			t.Errorf("%d grants for %s, want 1 (the token is shared by the account's sources): %v", perSub[login], login, perSub)
		}
	}
}

// A key whose private_key is PKCS #1 (BEGIN RSA PRIVATE KEY, as older tools
// convert it) works like Google's PKCS #8; an EC key is refused in words.
func TestServiceAccountKeyPKCS1(t *testing.T) {
	own, _ := oauthtest.NewServiceAccountKey(saEmail, saClientID, "https://oauth2.googleapis.com/token")
	var m map[string]any
	if err := json.Unmarshal(own, &m); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(m["private_key"].(string)))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}))
	pkcs1, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	// The world's service account is a new one; give it this key's public half.
	w := newSAWorld(t, pkcs1, func(s *oauthtest.ServiceAccount) { s.Key = &k.(*rsa.PrivateKey).PublicKey })
	tok, err := w.token(t, "erin")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := w.prov.ActiveUser(tok.AccessToken); !ok || got != erin {
		t.Fatalf("token for %q (%v), want %s", got, ok, erin)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	ecFile, _ := json.Marshal(m)
	_, err = oauth.ParseServiceAccountKey(ecFile)
	if want := "the private_key of the service account key is an ECDSA key, not the RSA key Google issues: download a new JSON key of the service account"; err == nil || err.Error() != want {
		t.Fatalf("EC key: %v, want %q", err, want)
	}
}
