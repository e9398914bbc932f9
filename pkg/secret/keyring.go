package secret

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
)

// KeyringService is the service name mailport's secrets carry in the OS
// keyring (the "service" attribute in the Secret Service; the key is the
// "username" attribute), so `secret-tool lookup service mailport username
// password/support` finds an account's password.
const KeyringService = "mailport"

// DefaultKeyringTimeout bounds every keyring call: a Secret Service that
// waits on an unlock prompt nobody will answer must not hang the CLI.
const DefaultKeyringTimeout = 3 * time.Second

// Errors the keyring backend wraps, so callers (status, test) can tell a
// keyring that is not there from one that does not answer. A missing
// secret wraps ErrNotFound instead.
var (
	// ErrKeyringUnavailable: there is no D-Bus session bus, no Secret
	// Service on it, or its keyring is locked and cannot be unlocked here.
	ErrKeyringUnavailable = errors.New("OS keyring unavailable")
	// ErrKeyringTimeout: the keyring did not answer within the timeout.
	ErrKeyringTimeout = errors.New("OS keyring timed out")
)

// fileAlternative ends every error that a user can only get past by not
// using the keyring at all.
const fileAlternative = "use --secrets file or MAILPORT_SECRETS=file to keep secrets in a plain-text file instead"

// KeyringAPI is the part of zalando/go-keyring the backend calls. Tests
// put a fake here to exercise the timeout without a Secret Service.
type KeyringAPI interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// goKeyring calls go-keyring's package functions, so keyring.MockInit()
// in tests swaps the real Secret Service for its in-memory mock.
type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }
func (goKeyring) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}
func (goKeyring) Delete(service, user string) error { return gokeyring.Delete(service, user) }

// Keyring is the Store in the OS keyring (the freedesktop Secret Service on
// Linux, via zalando/go-keyring). The zero value is ready to use.
type Keyring struct {
	// Service is the keyring service name; empty means KeyringService.
	Service string
	// Timeout bounds each call; zero means DefaultKeyringTimeout.
	Timeout time.Duration
	// API is the keyring implementation; nil means the OS keyring.
	API KeyringAPI
}

// NewKeyring returns the OS keyring store with the default service and timeout.
func NewKeyring() *Keyring { return &Keyring{} }

// Name reports "keyring".
func (k *Keyring) Name() string { return string(SourceKeyring) }

// Get returns the secret stored under key.
func (k *Keyring) Get(key string) (string, error) {
	var value string
	err := k.do("reading", key, func(api KeyringAPI, service string) error {
		v, err := api.Get(service, key)
		value = v
		return err
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// Set stores value under key, replacing an earlier value.
func (k *Keyring) Set(key, value string) error {
	return k.do("storing", key, func(api KeyringAPI, service string) error {
		return api.Set(service, key, value)
	})
}

// Delete removes key; a key that is not there is not an error.
func (k *Keyring) Delete(key string) error {
	err := k.do("deleting", key, func(api KeyringAPI, service string) error {
		return api.Delete(service, key)
	})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// do runs one keyring call in its own goroutine and stops waiting after the
// timeout. go-keyring cannot be cancelled, so a hung call's goroutine is
// left behind; the buffered channel lets it finish without blocking.
func (k *Keyring) do(verb, key string, call func(KeyringAPI, string) error) error {
	api := k.API
	if api == nil {
		api = goKeyring{}
	}
	service := k.Service
	if service == "" {
		service = KeyringService
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}

	done := make(chan error, 1)
	go func() {
		defer func() {
			// A panic inside the D-Bus code must not take the CLI down
			// from a goroutine nobody waits on.
			if r := recover(); r != nil {
				done <- fmt.Errorf("keyring call panicked: %v", r)
			}
		}()
		done <- call(api, service)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return classifyKeyringError(verb, key, err)
	case <-timer.C:
		return &KeyringError{Verb: verb, Key: key, Kind: ErrKeyringTimeout, Timeout: timeout}
	}
}

// KeyringError is a failure of the OS keyring other than a missing secret.
// Its message is one sentence that says what happened and what to do.
type KeyringError struct {
	Verb    string        // "reading", "storing" or "deleting"
	Key     string        // the secret's key
	Kind    error         // ErrKeyringUnavailable, ErrKeyringTimeout, or nil for anything else
	Reason  string        // why the keyring is unavailable, in words
	Timeout time.Duration // set for ErrKeyringTimeout
	Err     error         // what go-keyring returned (nil on timeout)
}

func (e *KeyringError) Error() string {
	switch e.Kind {
	case ErrKeyringTimeout:
		return fmt.Sprintf("the OS keyring did not answer within %s while %s %q (it may be locked and waiting for an unlock prompt); %s",
			e.Timeout, e.Verb, e.Key, fileAlternative)
	case ErrKeyringUnavailable:
		return fmt.Sprintf("the OS keyring is not available: %s (%v); %s", e.Reason, e.Err, fileAlternative)
	}
	return fmt.Sprintf("OS keyring: %s %q failed: %v; if the keyring cannot be fixed, %s", e.Verb, e.Key, e.Err, fileAlternative)
}

// Unwrap lets errors.Is match both the kind (ErrKeyringTimeout,
// ErrKeyringUnavailable) and the underlying go-keyring error.
func (e *KeyringError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func classifyKeyringError(verb, key string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gokeyring.ErrNotFound) {
		return notFound(key)
	}
	if reason := unavailableReason(err); reason != "" {
		return &KeyringError{Verb: verb, Key: key, Kind: ErrKeyringUnavailable, Reason: reason, Err: err}
	}
	return &KeyringError{Verb: verb, Key: key, Err: err}
}

// unavailableReason tells, in words, why err means there is no keyring to
// talk to, or "" when err came from a keyring that is there.
func unavailableReason(err error) string {
	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) {
		switch dbusErr.Name {
		case "org.freedesktop.DBus.Error.ServiceUnknown",
			"org.freedesktop.DBus.Error.NameHasNoOwner",
			"org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
			"org.freedesktop.DBus.Error.Spawn.ChildExited",
			"org.freedesktop.DBus.Error.Spawn.ExecFailed":
			return "no Secret Service (such as gnome-keyring) is running on the D-Bus session bus"
		}
		return ""
	}
	// go-keyring's words when the Secret Service could not unlock the
	// collection, e.g. a fresh gnome-keyring started by D-Bus activation
	// with no login keyring and no prompter to create one.
	if strings.HasPrefix(err.Error(), "failed to unlock correct collection") {
		return "its default keyring is locked and could not be unlocked"
	}
	// Everything below fails before a bus answers: no address, no
	// socket, no dbus-launch to start one.
	var execErr *exec.Error
	var exitErr *exec.ExitError
	var netErr *net.OpError
	switch {
	case errors.As(err, &execErr), errors.As(err, &exitErr), errors.As(err, &netErr),
		errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED),
		strings.HasPrefix(err.Error(), "dbus: "),
		strings.Contains(err.Error(), "dbus-launch"),
		strings.Contains(err.Error(), "autolaunch"):
		return "no D-Bus session bus to reach a Secret Service on"
	}
	return ""
}
