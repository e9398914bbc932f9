package oauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// googleNoRefreshRemedy is the remedy for a missing Google refresh token.
const googleNoRefreshRemedy = "Google sends a refresh token only on the first consent: remove the app's access at https://myaccount.google.com/permissions, then run mailport authenticate again"

// Manager is what the commands use: it ties the configuration, the secrets
// and the lock directory together.
type Manager struct {
	Config  *config.Config
	Secrets *secret.Resolver
	// LockDir holds refresh lock files; commands pass the config's directory.
	LockDir string
	HTTP    *http.Client     // nil: a default client with a timeout
	Now     func() time.Time // nil: time.Now
	// Warn, when set, receives the token sources' warnings (commands
	// print them on stderr); each is given once per account.
	Warn func(string)

	mu     sync.Mutex
	shared map[string]*tokenState // per account: one refresh per token per process
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Lookup returns an account and its token config (nil for basic auth).
func (m *Manager) Lookup(account string) (*config.Account, *config.TokenConfig, error) {
	acct, ok := m.Config.Accounts[account]
	if !ok || acct == nil {
		return nil, nil, fmt.Errorf("no account named %s: see mailport account list", account)
	}
	if acct.Auth != config.AuthOAuth2 {
		return acct, nil, nil
	}
	tc, ok := m.Config.TokenConfigs[acct.TokenConfig]
	if !ok || tc == nil {
		return nil, nil, fmt.Errorf("account %s uses token config %q, which does not exist: see mailport token-config list", account, acct.TokenConfig)
	}
	return acct, tc, nil
}

// Client builds the OAuth2 client of a token config, with its secret when
// one is set (a missing secret means a public client).
func (m *Manager) Client(tokenConfig string) (*Client, []string, error) {
	tc, ok := m.Config.TokenConfigs[tokenConfig]
	if !ok || tc == nil {
		return nil, nil, fmt.Errorf("no token config named %s: see mailport token-config list", tokenConfig)
	}
	c, warnings, err := NewClient(tokenConfig, tc, "", m.HTTP)
	if err != nil {
		return nil, nil, err
	}
	c.Now = m.Now
	if err := m.setCredential(c); err != nil {
		return nil, nil, err
	}
	return c, warnings, nil
}

// TokenSource returns the token source of an OAuth2 account. The token
// sources of one account share their in-memory token and refresh mutex,
// whoever asks (IMAP, POP3, SMTP, Graph, the diagnosis), so a refresh
// token is redeemed once per process: providers that rotate refresh
// tokens refuse a second use of one, and some then revoke every token of
// the sign-in. Each call returns its own TokenSource, so a caller may
// change its Skew alone.
func (m *Manager) TokenSource(account string) (*TokenSource, error) {
	acct, tc, err := m.Lookup(account)
	if err != nil {
		return nil, err
	}
	if tc == nil {
		return nil, fmt.Errorf("account %s uses password authentication, not OAuth2", account)
	}
	c, _, err := m.Client(acct.TokenConfig)
	if err != nil {
		return nil, err
	}
	c.Account = account
	override, _ := m.Secrets.RefreshTokenOverride(account)
	return &TokenSource{
		Account: account, Client: c, Store: m.Secrets.Store, Override: override, KeepOverride: override != "" && m.Secrets.KeepsRotatedTokens(),
		LockDir: m.LockDir, Login: acct.Login, Scopes: c.scopes(acct.Protocol), Now: m.Now, Warn: m.Warn,
		shared: m.sharedState(account),
	}, nil
}

func (m *Manager) sharedState(account string) *tokenState {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shared == nil {
		m.shared = map[string]*tokenState{}
	}
	st := m.shared[account]
	if st == nil {
		st = &tokenState{}
		m.shared[account] = st
	}
	return st
}

// AuthenticateOptions are the inputs of `mailport authenticate`.
type AuthenticateOptions struct {
	// Device forces the device flow whatever the token config's flow.
	Device bool
	// NoBrowser, Listen, Timeout, Out, In and Open are as in UserFlowOptions.
	NoBrowser bool
	Listen    string
	Timeout   time.Duration
	Out       io.Writer
	In        io.Reader
	Open      func(url string) error
	// Sleep replaces the device flow's wait between polls (tests).
	Sleep func(ctx context.Context, d time.Duration) error
	// Warn, when set, receives the warnings known before the sign-in (a
	// tenant of common or a placeholder, no offline_access) at once: a
	// sign-in they explain may then fail, and its error would hide them.
	// They are in AuthResult.Warnings too.
	Warn func(string)
}

// AuthResult is what `authenticate` reports.
type AuthResult struct {
	Account string `json:"account"`
	Flow    string `json:"flow"`
	// User is who signed in, when the provider says.
	User     string    `json:"user,omitempty"`
	Expiry   time.Time `json:"expiry,omitzero"`
	Scopes   []string  `json:"scopes,omitempty"`
	Audience []string  `json:"audience,omitempty"`
	// Stored is false for client credentials and service accounts: their
	// tokens are fetched on demand and never stored.
	Stored   bool     `json:"stored"`
	Warnings []string `json:"warnings,omitempty"`
	Token    *Token   `json:"-"`
}

// Authenticate obtains a token for an account with the token config's flow
// and stores it. Before any browser opens it checks that the scopes can
// serve the account's protocol.
func (m *Manager) Authenticate(ctx context.Context, account string, opts AuthenticateOptions) (*AuthResult, error) {
	acct, tc, err := m.Lookup(account)
	if err != nil {
		return nil, err
	}
	if tc == nil {
		return nil, fmt.Errorf("account %s uses password authentication, so there is nothing to authenticate: set its password with mailport account edit %s --password-stdin", account, account)
	}
	c, warnings, err := m.Client(acct.TokenConfig)
	if err != nil {
		return nil, err
	}
	c.Account = account
	if err := CheckScopes(acct.TokenConfig, tc, acct); err != nil {
		return nil, err
	}
	scopes := c.scopes(acct.Protocol)
	flow := tc.Flow
	if flow == "" {
		flow = config.FlowUser
	}
	if opts.Device {
		flow = config.FlowDevice
	}
	appOnly := flow == config.FlowClientCredentials || flow == config.FlowServiceAccount
	if !appOnly && tc.Provider == config.ProviderMicrosoft && !hasScope(scopes, ScopeOfflineAccess) {
		warnings = append(warnings, fmt.Sprintf("token config %s does not ask for offline_access, so Microsoft gives no refresh token and the account must authenticate again within about an hour: add offline_access to its scopes", acct.TokenConfig))
	}
	if opts.Warn != nil {
		for _, w := range warnings {
			opts.Warn(w)
		}
	}

	var tok *Token
	switch flow {
	case config.FlowClientCredentials:
		tok, err = c.ClientCredentialsToken(ctx, scopes)
	case config.FlowServiceAccount:
		tok, err = c.ServiceAccountToken(ctx, scopes, acct.Login)
	case config.FlowDevice:
		tok, err = c.DeviceFlow(ctx, DeviceFlowOptions{Scopes: scopes, Out: opts.Out, Sleep: opts.Sleep})
	default:
		tok, err = c.UserFlow(ctx, UserFlowOptions{
			Scopes: scopes, Listen: opts.Listen, NoBrowser: opts.NoBrowser, Timeout: opts.Timeout,
			Out: opts.Out, In: opts.In, Open: opts.Open, LoginHint: acct.Login,
		})
	}
	if err != nil {
		return nil, err
	}
	res := &AuthResult{Account: account, Flow: flow, User: tok.User, Expiry: tok.Expiry, Scopes: tok.Scopes, Token: tok}
	if tok.Claims != nil {
		res.Audience = tok.Claims.Audience
		if flow == config.FlowClientCredentials {
			res.Scopes = tok.Claims.Roles
		}
	}
	if !appOnly {
		if err := SaveToken(m.Secrets.Store, account, tok); err != nil {
			return nil, err
		}
		res.Stored = true
		if tok.RefreshToken == "" && tc.Provider == config.ProviderGoogle {
			warnings = append(warnings, "Google returned no refresh token, so account "+account+" will need to authenticate again when the access token expires: "+googleNoRefreshRemedy)
		}
		if tok.User != "" && acct.Login != "" && !strings.EqualFold(tok.User, acct.Login) {
			warnings = append(warnings, fmt.Sprintf("signed in as %s, but account %s logs in as %s: the mail server refuses the token unless %s may use that mailbox", tok.User, account, acct.Login, tok.User))
		}
	}
	if w := audienceWarning(tc, acct, tok); w != "" {
		warnings = append(warnings, w)
	}
	if src, _ := m.Secrets.TokenSource(account); src == secret.SourceEnv {
		warnings = append(warnings, fmt.Sprintf("%s is set and wins over the stored token", secret.EnvName(secret.EnvRefreshTokenPrefix, account)))
	}
	res.Warnings = warnings
	return res, nil
}

// audienceWarning flags a Microsoft token issued for another resource than
// the protocol needs (the scopes check should have caught it; the provider
// has the last word).
func audienceWarning(tc *config.TokenConfig, acct *config.Account, tok *Token) string {
	if tc.Provider != config.ProviderMicrosoft || tok.Claims == nil || len(tok.Claims.Audience) == 0 {
		return ""
	}
	cloud := CloudOf(tc)
	for _, a := range tok.Claims.Audience {
		if cloud.ServesAudience(acct.Protocol, a) {
			return ""
		}
	}
	return fmt.Sprintf("the token is for %s, but %s needs a token for %s: fix the token config's scopes", strings.Join(tok.Claims.Audience, " "), acct.Protocol, cloud.Resource(acct.Protocol))
}

// State is an account's authentication state as status shows it.
type State string

const (
	StateAuthenticated    State = "AUTHENTICATED"
	StateNotAuthenticated State = "NOT AUTHENTICATED"
	StateNeedsReauth      State = "NEEDS REAUTH"
	StatePasswordSet      State = "PASSWORD SET"
	StateNoPassword       State = "NO PASSWORD"
	StateDisabled         State = "DISABLED"
)

// Status is one account's line of `mailport status`.
type Status struct {
	Account string `json:"account"`
	State   State  `json:"state"`
	Auth    string `json:"auth"`
	// Source is where the token or password comes from.
	Source secret.Source `json:"source"`
	Flow   string        `json:"flow,omitempty"`
	User   string        `json:"user,omitempty"`
	// Expiry of the stored access token (it is refreshed on use).
	Expiry      time.Time `json:"expiry,omitzero"`
	Expired     bool      `json:"expired,omitempty"`
	Refreshable bool      `json:"refreshable,omitempty"`
	Scopes      []string  `json:"scopes,omitempty"`
	Audience    []string  `json:"audience,omitempty"`
	// Cause says why NEEDS REAUTH or NOT AUTHENTICATED, and the fix.
	Cause    string   `json:"cause,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Inspect reports an account's state without contacting any server.
func (m *Manager) Inspect(account string) (*Status, error) {
	acct, tc, err := m.Lookup(account)
	if err != nil {
		return nil, err
	}
	st := &Status{Account: account, Auth: acct.Auth}
	if tc == nil {
		_, src, err := m.Secrets.Password(account)
		st.Source = src
		switch {
		case err == nil:
			st.State = StatePasswordSet
		case secret.IsNotFound(err):
			st.State, st.Cause = StateNoPassword, fmt.Sprintf("set it with mailport account edit %s --password-stdin", account)
		default:
			return nil, fmt.Errorf("reading the password of account %s: %w", account, err)
		}
	} else {
		st.Flow = tc.Flow
		if w := CredentialExpiryWarning(acct.TokenConfig, tc, m.now()); w != "" {
			st.Warnings = append(st.Warnings, w)
		}
		if err := m.inspectToken(account, acct, tc, st); err != nil {
			return nil, err
		}
	}
	if !acct.Enabled {
		st.State = StateDisabled
	}
	return st, nil
}

func (m *Manager) inspectToken(account string, acct *config.Account, tc *config.TokenConfig, st *Status) error {
	if tc.Flow == config.FlowServiceAccount {
		key, src, err := m.Secrets.ClientSecret(acct.TokenConfig)
		st.Source = src
		switch {
		case err == nil:
			if _, perr := ParseServiceAccountKey([]byte(key)); perr != nil {
				st.State, st.Cause = StateNotAuthenticated, fmt.Sprintf("the service account key of token config %s is unusable (%v): store it again with mailport token-config edit %s --key-file FILE", acct.TokenConfig, perr, acct.TokenConfig)
			} else {
				st.State, st.Refreshable, st.User = StateAuthenticated, true, acct.Login
			}
		case secret.IsNotFound(err):
			st.State, st.Cause = StateNotAuthenticated, fmt.Sprintf("token config %s has no service account key: store it with mailport token-config edit %s --key-file FILE", acct.TokenConfig, acct.TokenConfig)
		default:
			return fmt.Errorf("reading the service account key of token config %s: %w", acct.TokenConfig, err)
		}
		return nil
	}
	if tc.Flow == config.FlowClientCredentials && tc.CredentialKind() != config.CredentialSecret {
		return m.inspectCredential(acct.TokenConfig, tc, st)
	}
	if tc.Flow == config.FlowClientCredentials {
		_, src, err := m.Secrets.ClientSecret(acct.TokenConfig)
		st.Source = src
		switch {
		case err == nil:
			st.State, st.Refreshable = StateAuthenticated, true
		case secret.IsNotFound(err):
			st.State, st.Cause = StateNotAuthenticated, fmt.Sprintf("token config %s has no client secret: store it with mailport token-config edit %s --client-secret-stdin", acct.TokenConfig, acct.TokenConfig)
		default:
			return fmt.Errorf("reading the client secret of token config %s: %w", acct.TokenConfig, err)
		}
		return nil
	}
	if _, ok := m.Secrets.RefreshTokenOverride(account); ok {
		st.Source, st.State, st.Refreshable = secret.SourceEnv, StateAuthenticated, true
		return nil
	}
	st.Source = secret.Source(m.Secrets.Store.Name())
	t, err := LoadToken(m.Secrets.Store, account)
	if err != nil {
		if secret.IsNotFound(err) {
			st.Source = secret.SourceNotSet
			st.State, st.Cause = StateNotAuthenticated, "run mailport authenticate "+account
			return nil
		}
		return err
	}
	st.User, st.Expiry, st.Scopes = t.User, t.Expiry, t.Scopes
	if t.Claims != nil {
		st.Audience = t.Claims.Audience
	}
	st.Expired = !t.Expiry.IsZero() && !m.now().Before(t.Expiry)
	st.Refreshable = t.RefreshToken != ""
	switch {
	case t.ReauthCause != "":
		st.State, st.Cause = StateNeedsReauth, t.ReauthCause+"; run mailport authenticate "+account
	case t.ClientID != "" && t.ClientID != tc.ClientID:
		st.State, st.Cause = StateNeedsReauth, "the token was issued to another client id; run mailport authenticate "+account
	case st.Expired && !st.Refreshable:
		st.State, st.Cause = StateNeedsReauth, "the access token expired and there is no refresh token; run mailport authenticate "+account
	default:
		st.State = StateAuthenticated
	}
	return nil
}

// SecretExpiryWarning warns when a token config's client secret expires
// within 30 days or has expired ("" otherwise, or when no date is set).
func SecretExpiryWarning(name string, tc *config.TokenConfig, now time.Time) string {
	if tc.SecretExpires == "" {
		return ""
	}
	d, err := time.Parse(config.DateLayout, tc.SecretExpires)
	if err != nil {
		return fmt.Sprintf("token config %s: secret_expires %q is not a date (YYYY-MM-DD)", name, tc.SecretExpires)
	}
	days := int(d.Sub(now.Truncate(24*time.Hour)).Hours() / 24)
	switch {
	case days < 0:
		return fmt.Sprintf("the client secret of token config %s expired on %s: create a new one in the app registration and store it with mailport token-config edit %s --client-secret-stdin", name, tc.SecretExpires, name)
	case days <= 30:
		return fmt.Sprintf("the client secret of token config %s expires on %s, in %s: create a new one in the app registration and store it with mailport token-config edit %s --client-secret-stdin", name, tc.SecretExpires, plural.Of(days, "day", "days"), name)
	}
	return ""
}

// StatusAll inspects the named accounts, or all of them sorted by name.
func (m *Manager) StatusAll(accounts ...string) ([]*Status, error) {
	if len(accounts) == 0 {
		for name := range m.Config.Accounts {
			accounts = append(accounts, name)
		}
		sort.Strings(accounts)
	}
	out := make([]*Status, 0, len(accounts))
	for _, a := range accounts {
		st, err := m.Inspect(a)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Logout forgets an account's stored token. It reports whether one was
// stored; an environment override (which logout cannot remove) is named
// in the returned note.
func (m *Manager) Logout(account string) (removed bool, note string, err error) {
	if _, _, err := m.Lookup(account); err != nil {
		return false, "", err
	}
	if _, err := m.Secrets.Store.Get(secret.TokenKey(account)); err == nil {
		removed = true
	} else if !secret.IsNotFound(err) {
		return false, "", fmt.Errorf("reading the token of account %s: %w", account, err)
	}
	if err := DeleteToken(m.Secrets.Store, account); err != nil {
		return false, "", err
	}
	if _, ok := m.Secrets.RefreshTokenOverride(account); ok {
		note = fmt.Sprintf("%s is still set in the environment and will keep being used", secret.EnvName(secret.EnvRefreshTokenPrefix, account))
	}
	return removed, note, nil
}
