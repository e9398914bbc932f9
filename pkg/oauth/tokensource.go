package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// DefaultSkew is how long before its expiry an access token is refreshed,
// so that it does not expire between our check and the server's.
const DefaultSkew = 2 * time.Minute

// TokenSource hands out a current access token for one account. Every
// protocol adapter gets its token here (AccessToken fits mail.TokenFunc).
// Safe for concurrent use. The TokenSources one Manager hands out for an
// account share one in-memory token and one mutex, so a process redeems a
// refresh token once however many connections it opens; TokenSources of
// other processes coordinate through the store and the lock directory.
type TokenSource struct {
	Account string
	Client  *Client
	Store   secret.Store
	// Override is a refresh token from the environment
	// (MAILPORT_REFRESH_TOKEN_<ACCOUNT>); it wins over the store, and
	// tokens obtained with it stay in memory (the environment cannot be
	// rewritten, and a CI machine may have no writable store), unless
	// KeepOverride is set.
	Override string
	// KeepOverride: the store keeps what Override becomes when the
	// provider rotates it (an encrypted secrets file on a persistent
	// volume or CI cache), so the next run presents the rotated token,
	// not the redeemed one. The kept token carries a hash of the
	// Override it descends from: a new value in the variable wins.
	KeepOverride bool
	// LockDir holds the lock files that serialise refreshes across
	// processes (beside the config). Empty: this process only.
	LockDir string
	// Login is the account's login: the mailbox a service account acts
	// for (the assertion's sub).
	Login string
	// Scopes are sent with refreshes and client-credentials requests.
	Scopes []string
	Skew   time.Duration    // 0 means DefaultSkew
	Now    func() time.Time // nil means time.Now
	// Warn, when set, receives warnings a person should act on (e.g. a
	// rotated refresh token that cannot be stored), once per account for
	// the TokenSources of one Manager.
	Warn func(string)

	shared *tokenState // from the Manager; nil: own
	own    tokenState
}

// tokenState is what the TokenSources of one account in one process
// share: the mutex that serialises their refreshes and the tokens kept in
// memory.
type tokenState struct {
	mu  sync.Mutex
	mem *Token // client credentials and Override tokens
	// rotatedWarned: the warning about a rotated refresh token that
	// cannot be stored was given.
	rotatedWarned bool
}

func (ts *TokenSource) state() *tokenState {
	if ts.shared != nil {
		return ts.shared
	}
	return &ts.own
}

func (ts *TokenSource) now() time.Time {
	if ts.Now != nil {
		return ts.Now()
	}
	return time.Now()
}

func (ts *TokenSource) skew() time.Duration {
	if ts.Skew > 0 {
		return ts.Skew
	}
	return DefaultSkew
}

// AccessToken returns a current access token (a mail.TokenFunc).
func (ts *TokenSource) AccessToken(ctx context.Context) (string, error) {
	t, err := ts.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Token returns a current token, refreshing it when it has expired or is
// about to. Errors needing a person are *AuthRequiredError.
func (ts *TokenSource) Token(ctx context.Context) (*Token, error) {
	st := ts.state()
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case ts.Client.Config.Flow == config.FlowClientCredentials:
		return ts.appOnly(ctx, st)
	case ts.Client.Config.Flow == config.FlowServiceAccount:
		return ts.serviceAccount(ctx, st)
	case ts.Override != "":
		return ts.fromOverride(ctx, st)
	}
	t, err := ts.load()
	if err != nil {
		return nil, err
	}
	if t.Valid(ts.now(), ts.skew()) {
		return t, nil
	}
	if t.RefreshToken == "" {
		return nil, ts.noRefreshToken()
	}
	unlock, err := ts.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have refreshed while we waited for the lock.
	t, err = ts.load()
	if err != nil {
		return nil, err
	}
	if t.Valid(ts.now(), ts.skew()) {
		return t, nil
	}
	nt, err := ts.refresh(ctx, t)
	if err != nil {
		var ar *AuthRequiredError
		if errors.As(err, &ar) {
			// Remember it, so status says NEEDS REAUTH without asking again.
			t.ReauthCause = ar.Cause
			if serr := SaveToken(ts.Store, ts.Account, t); serr != nil {
				return nil, fmt.Errorf("%w (and recording that failed: %v)", err, serr)
			}
		}
		return nil, err
	}
	// The provider may have invalidated the old refresh token already:
	// the new one must be safe before the access token is used.
	if err := SaveToken(ts.Store, ts.Account, nt); err != nil {
		return nil, fmt.Errorf("refreshed the token of account %s but could not keep it: %w", ts.Account, err)
	}
	return nt, nil
}

func (ts *TokenSource) load() (*Token, error) {
	t, err := LoadToken(ts.Store, ts.Account)
	if err != nil {
		if secret.IsNotFound(err) {
			return nil, &AuthRequiredError{Account: ts.Account, Cause: "no token is stored"}
		}
		return nil, err
	}
	if t.ReauthCause != "" {
		return nil, &AuthRequiredError{Account: ts.Account, Reauth: true, Cause: t.ReauthCause}
	}
	if t.ClientID != "" && t.ClientID != ts.Client.Config.ClientID {
		return nil, &AuthRequiredError{Account: ts.Account, Reauth: true,
			Cause: fmt.Sprintf("the stored token was issued to client id %s, but token config %s now has client id %s", t.ClientID, ts.Client.Name, ts.Client.Config.ClientID)}
	}
	return t, nil
}

func (ts *TokenSource) noRefreshToken() error {
	cause := "the access token expired and the provider gave no refresh token"
	switch ts.Client.Config.Provider {
	case config.ProviderMicrosoft:
		cause += " (add offline_access to the token config's scopes)"
	case config.ProviderGoogle:
		cause += " (" + googleNoRefreshRemedy + ")"
	}
	return &AuthRequiredError{Account: ts.Account, Reauth: true, Cause: cause}
}

// lock takes the account's refresh lock file.
func (ts *TokenSource) lock(ctx context.Context) (func(), error) {
	if ts.LockDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(ts.LockDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the lock directory %s: %w", ts.LockDir, err)
	}
	path := filepath.Join(ts.LockDir, "token-"+safeName(ts.Account)+".lock")
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the token lock %s is not a regular file (a symbolic link?); mailport will not write through it: remove it", path)
	}
	fl := flock.New(path, flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow))
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ok, err := fl.TryLockContext(lctx, 20*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("waiting for the token lock %s (another mailport refreshing account %s?): %w", path, ts.Account, errors.Join(err, lctx.Err()))
	}
	return func() { fl.Unlock() }, nil
}

// safeName keeps account names (already [a-zA-Z0-9._-] when valid) safe
// as file names whatever they are.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// refresh redeems old's refresh token; the result keeps what the response
// leaves out (the refresh token when not rotated, the user).
func (ts *TokenSource) refresh(ctx context.Context, old *Token) (*Token, error) {
	var scopes []string
	if ts.Client.Config.Provider == config.ProviderMicrosoft {
		scopes = ts.Scopes
	}
	ot, err := ts.Client.refresh(ctx, old.RefreshToken, scopes)
	if err != nil {
		return nil, ts.refreshError(err)
	}
	nt := fromOAuth2(ot, old.Scopes, old.Flow, ts.Client.Config.ClientID, ts.Client.Config.IdentityClaim, ts.now())
	if nt.RefreshToken == "" {
		nt.RefreshToken = old.RefreshToken
	}
	if nt.User == "" {
		nt.User = old.User
	}
	return nt, nil
}

func (ts *TokenSource) refreshError(err error) error {
	var pe *ProviderError
	if errors.As(err, &pe) && reauthCodes[pe.Code] {
		cause := reauthCause(pe, ts.Client.Config.Provider)
		if ts.Override != "" {
			cause = "the refresh token in " + secret.EnvName(secret.EnvRefreshTokenPrefix, ts.Account) + " was refused: " + cause
		}
		return &AuthRequiredError{Account: ts.Account, Reauth: true, Cause: cause, Provider: pe}
	}
	return fmt.Errorf("refreshing the token of account %s at %s: %w", ts.Account, ts.Client.Endpoints.TokenURL, err)
}

func (ts *TokenSource) fromOverride(ctx context.Context, st *tokenState) (*Token, error) {
	if st.mem.Valid(ts.now(), ts.skew()) {
		return st.mem, nil
	}
	if ts.KeepOverride {
		return ts.fromKeptOverride(ctx, st)
	}
	old := &Token{RefreshToken: ts.Override, Scopes: ts.Scopes, Flow: config.FlowUser}
	if st.mem != nil {
		old = st.mem // the rotated refresh token, if any
	}
	nt, err := ts.refresh(ctx, old)
	if err != nil {
		return nil, err
	}
	st.mem = nt
	if nt.RefreshToken != old.RefreshToken && !st.rotatedWarned && ts.Warn != nil {
		st.rotatedWarned = true
		ts.Warn(RotatedOverrideWarning(ts.Account))
	}
	return nt, nil
}

// fromKeptOverride is fromOverride with a store that keeps the rotated
// refresh token. While the variable holds the value the kept token
// descends from, the kept one is redeemed: the variable's own token was
// redeemed by an earlier run, and a provider with reuse detection would
// revoke the whole sign-in on seeing it again. A different value in the
// variable (a new sign-in) starts a new line.
func (ts *TokenSource) fromKeptOverride(ctx context.Context, st *tokenState) (*Token, error) {
	unlock, err := ts.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	origin := OverrideOrigin(ts.Override)
	old := &Token{RefreshToken: ts.Override, Scopes: ts.Scopes, Flow: config.FlowUser}
	kept := false
	if st.mem != nil && st.mem.RefreshToken != "" {
		old, kept = st.mem, true
	} else {
		t, err := LoadToken(ts.Store, ts.Account)
		switch {
		case err != nil && !secret.IsNotFound(err):
			return nil, err
		case err == nil && t.EnvOrigin == origin && t.RefreshToken != "" && t.ReauthCause == "" &&
			(t.ClientID == "" || t.ClientID == ts.Client.Config.ClientID):
			// Another process may have refreshed it a moment ago.
			if t.Valid(ts.now(), ts.skew()) {
				st.mem = t
				return t, nil
			}
			old, kept = t, true
		}
	}
	nt, err := ts.refresh(ctx, old)
	if err != nil {
		var ar *AuthRequiredError
		if kept && errors.As(err, &ar) && ar.Provider != nil {
			name := secret.EnvName(secret.EnvRefreshTokenPrefix, ts.Account)
			ar.Cause = fmt.Sprintf("the refresh token rotated from the one in %s and kept in the secrets file was refused: %s; set %s to a new refresh token",
				name, reauthCause(ar.Provider, ts.Client.Config.Provider), name)
		}
		return nil, err
	}
	nt.EnvOrigin = origin
	st.mem = nt
	// The provider may have invalidated the old refresh token already:
	// the new one must be safe before the access token is used. When the
	// file cannot take it (a read-only mount), the run goes on as it
	// would without a file, and says so.
	if err := SaveToken(ts.Store, ts.Account, nt); err != nil && !st.rotatedWarned && ts.Warn != nil {
		st.rotatedWarned = true
		ts.Warn(fmt.Sprintf("could not keep the rotated refresh token of account %s (%v); it lives only in this run, and the next run starts again from %s",
			ts.Account, err, secret.EnvName(secret.EnvRefreshTokenPrefix, ts.Account)))
	}
	return nt, nil
}

// OverrideOrigin identifies a refresh token from the environment without
// keeping it: the hex SHA-256 of its value.
func OverrideOrigin(refreshToken string) string {
	sum := sha256.Sum256([]byte(refreshToken))
	return hex.EncodeToString(sum[:])
}

// RotatedOverrideWarning is what a run says when the provider rotated a
// refresh token that came from the environment: the new one lives only in
// this process.
func RotatedOverrideWarning(account string) string {
	return fmt.Sprintf("the provider replaced the refresh token of account %s from %s, and mailport cannot write the new one back to the environment: "+
		"if the provider refuses the old one next time, the variable stops working; keep it in an encrypted secrets file that persists between runs (--secrets file with MAILPORT_SECRETS_PASSPHRASE) or use client credentials, see docs/ci.md",
		account, secret.EnvName(secret.EnvRefreshTokenPrefix, account))
}

func (ts *TokenSource) appOnly(ctx context.Context, st *tokenState) (*Token, error) {
	if st.mem.Valid(ts.now(), ts.skew()) {
		return st.mem, nil
	}
	t, err := ts.Client.ClientCredentialsToken(ctx, ts.Scopes)
	if err != nil {
		return nil, err
	}
	st.mem = t
	return t, nil
}

// serviceAccount is appOnly for a Google service account: a new JWT-bearer
// grant for the account's login whenever the token in memory expires.
func (ts *TokenSource) serviceAccount(ctx context.Context, st *tokenState) (*Token, error) {
	if st.mem.Valid(ts.now(), ts.skew()) {
		return st.mem, nil
	}
	t, err := ts.Client.ServiceAccountToken(ctx, ts.Scopes, ts.Login)
	if err != nil {
		return nil, err
	}
	st.mem = t
	return t, nil
}
