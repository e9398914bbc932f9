// Package secret keeps mailport's secrets — OAuth2 client secrets, account
// passwords and tokens — out of the config file: in the OS keyring (the
// default), or in a file for machines without one (encrypted with age's
// scrypt passphrase recipient when a passphrase is set, plain text
// otherwise), with read-only environment overrides for CI.
package secret

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped) when a store has no value for a key.
var ErrNotFound = errors.New("secret not found")

// Store is a place secrets live. Keys are the names built by the Key
// functions below.
type Store interface {
	// Get returns the value for key, or an error wrapping ErrNotFound.
	Get(key string) (string, error)
	// Set stores value under key, replacing any earlier value.
	Set(key, value string) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
	// Name is the backend as users name it: "keyring" or "file".
	Name() string
}

// Keys of the secrets mailport stores.

// ClientSecretKey names a token config's OAuth2 client secret.
func ClientSecretKey(tokenConfig string) string { return "client-secret/" + tokenConfig }

// PasswordKey names an account's password (auth: basic).
func PasswordKey(account string) string { return "password/" + account }

// TokenKey names an account's OAuth2 token set (JSON, see pkg/oauth).
func TokenKey(account string) string { return "token/" + account }

// IsNotFound reports whether err means the secret is not set.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func notFound(key string) error { return fmt.Errorf("%s: %w", key, ErrNotFound) }
