package secret

import (
	"os"
	"strings"
)

// Source tells where a secret's value comes from.
type Source string

const (
	SourceEnv     Source = "environment"
	SourceNotSet  Source = "not set"
	SourceKeyring Source = "keyring"
	SourceFile    Source = "file"
)

// Environment override prefixes. The name after the prefix is the token
// config or account name upper-cased, with every other character than
// A-Z and 0-9 turned into "_".
const (
	EnvClientSecretPrefix = "MAILPORT_CLIENT_SECRET_"
	EnvPasswordPrefix     = "MAILPORT_PASSWORD_"
	EnvRefreshTokenPrefix = "MAILPORT_REFRESH_TOKEN_"
)

// EnvName builds an override variable's name, e.g.
// EnvName(EnvPasswordPrefix, "support-desk") == "MAILPORT_PASSWORD_SUPPORT_DESK".
func EnvName(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Resolver reads secrets the way every command does: a set environment
// override wins, then the store. Overrides are read-only: writes go to the store.
type Resolver struct {
	Store  Store
	Getenv func(string) string // nil means os.Getenv
}

func (r *Resolver) getenv(k string) string {
	if r.Getenv != nil {
		return r.Getenv(k)
	}
	return os.Getenv(k)
}

func (r *Resolver) lookup(envPrefix, name, key string) (string, Source, error) {
	if v := r.getenv(EnvName(envPrefix, name)); v != "" {
		return v, SourceEnv, nil
	}
	v, err := r.Store.Get(key)
	if err != nil {
		if IsNotFound(err) {
			return "", SourceNotSet, err
		}
		return "", SourceNotSet, err
	}
	return v, Source(r.Store.Name()), nil
}

// ClientSecret returns a token config's client secret and where it came from.
func (r *Resolver) ClientSecret(tokenConfig string) (string, Source, error) {
	return r.lookup(EnvClientSecretPrefix, tokenConfig, ClientSecretKey(tokenConfig))
}

// Password returns an account's password and where it came from.
func (r *Resolver) Password(account string) (string, Source, error) {
	return r.lookup(EnvPasswordPrefix, account, PasswordKey(account))
}

// RefreshTokenOverride returns the refresh token set in the environment
// for an account, if any (CI jobs without a keyring).
func (r *Resolver) RefreshTokenOverride(account string) (string, bool) {
	v := r.getenv(EnvName(EnvRefreshTokenPrefix, account))
	return v, v != ""
}

// TokenSource tells where an account's token comes from without reading
// its value into the caller: the environment override, the store, or not set.
func (r *Resolver) TokenSource(account string) (Source, error) {
	if _, ok := r.RefreshTokenOverride(account); ok {
		return SourceEnv, nil
	}
	_, err := r.Store.Get(TokenKey(account))
	if err != nil {
		if IsNotFound(err) {
			return SourceNotSet, nil
		}
		return SourceNotSet, err
	}
	return Source(r.Store.Name()), nil
}

// KeepsRotatedTokens reports whether the store keeps what an environment
// refresh token becomes when the provider rotates it: only an encrypted
// secrets file does (a keyring is a workstation's, and a plain file would
// put a live token in clear text on a CI cache).
func (r *Resolver) KeepsRotatedTokens() bool {
	f, ok := r.Store.(*File)
	return ok && f.Encrypted()
}
