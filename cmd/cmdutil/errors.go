package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// Exit codes, as documented in the README and design.
const (
	ExitOK          = 0
	ExitFailed      = 1   // the operation or a check failed
	ExitUsage       = 2   // usage or configuration error
	ExitAuth        = 3   // authentication required
	ExitInterrupted = 130 // interrupted (Ctrl-C)
)

// FlagError is a usage mistake: bad flag, missing argument, bad combination.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ConfigError is an invalid or inconsistent configuration, or an unknown name.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigErrorf builds a ConfigError.
func ConfigErrorf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// AuthRequiredError means the account must (re-)authenticate.
type AuthRequiredError struct{ Err error }

func (e *AuthRequiredError) Error() string { return e.Err.Error() }
func (e *AuthRequiredError) Unwrap() error { return e.Err }

// ErrSilent means the command already reported the failure; exit 1.
var ErrSilent = errors.New("silent failure")

// ErrCancel means the user interrupted.
var ErrCancel = errors.New("interrupted")

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	var flagErr *FlagError
	var cfgErr *ConfigError
	var authErr *AuthRequiredError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrCancel), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &authErr):
		return ExitAuth
	case oauth.IsAuthRequired(err), errors.As(err, new(*connect.NoPasswordError)):
		return ExitAuth
	case errors.As(err, &flagErr), errors.As(err, &cfgErr), errors.As(err, new(*oauth.ScopeError)), errors.Is(err, oauth.ErrGoogleDeviceMail),
		errors.As(err, new(*secret.FileError)): // a secrets file the passphrase does not open
		// A token config whose scopes cannot serve the account is a
		// configuration error: the fix is an edit, not a retry.
		return ExitUsage
	}
	return ExitFailed
}
