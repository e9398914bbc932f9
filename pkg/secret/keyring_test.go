package secret

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
)

// realKeyringRequested reports whether the tests run against a real Secret
// Service (scripts/with-keyring.sh sets MAILPORT_TEST_KEYRING=1).
func realKeyringRequested() bool { return os.Getenv("MAILPORT_TEST_KEYRING") == "1" }

// useKeyringMock swaps go-keyring's OS provider for its in-memory mock.
// The swap lasts for the whole test binary and cannot be undone, so these
// tests step aside when the real Secret Service test runs in the same binary.
func useKeyringMock(t *testing.T) {
	t.Helper()
	if realKeyringRequested() {
		t.Skip("MAILPORT_TEST_KEYRING=1: go-keyring's mock would replace the real Secret Service for the whole test binary")
	}
	gokeyring.MockInit()
}

func wantFileAlternative(t *testing.T, err error) {
	t.Helper()
	for _, words := range []string{"--secrets file", "MAILPORT_SECRETS=file"} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("error %q does not name %q", err, words)
		}
	}
}

func TestKeyringMockSetGetDelete(t *testing.T) {
	useKeyringMock(t)
	k := NewKeyring()
	if k.Name() != "keyring" {
		t.Errorf("Name() = %q, want keyring", k.Name())
	}
	key := PasswordKey("support")

	_, err := k.Get(key)
	if !IsNotFound(err) {
		t.Fatalf("Get before Set: err = %v, want not found", err)
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("not-found error %q does not name the key", err)
	}

	if err := k.Set(key, "hunter2"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := k.Get(key); err != nil || got != "hunter2" {
		t.Fatalf("Get = %q, %v; want hunter2", got, err)
	}
	// The secret lives under service "mailport", where secret-tool finds it.
	if got, err := gokeyring.Get("mailport", key); err != nil || got != "hunter2" {
		t.Errorf("go-keyring Get(mailport, %s) = %q, %v", key, got, err)
	}

	if err := k.Set(key, "second"); err != nil {
		t.Fatalf("Set again: %v", err)
	}
	if got, _ := k.Get(key); got != "second" {
		t.Errorf("after replacing, Get = %q, want second", got)
	}

	if err := k.Delete(key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get(key); !IsNotFound(err) {
		t.Errorf("Get after Delete: err = %v, want not found", err)
	}
	if err := k.Delete(key); err != nil {
		t.Errorf("deleting a missing key: %v, want nil", err)
	}
}

func TestKeyringMockNoSecretService(t *testing.T) {
	useKeyringMock(t)
	gokeyring.MockInitWithError(dbus.Error{
		Name: "org.freedesktop.DBus.Error.ServiceUnknown",
		Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"},
	})
	t.Cleanup(gokeyring.MockInit)

	_, err := NewKeyring().Get(PasswordKey("support"))
	if !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("err = %v, want ErrKeyringUnavailable", err)
	}
	if IsNotFound(err) || errors.Is(err, ErrKeyringTimeout) {
		t.Errorf("err = %v also reads as not found or timed out", err)
	}
	want := "the OS keyring is not available: no Secret Service (such as gnome-keyring) is running on the D-Bus session bus " +
		"(The name org.freedesktop.secrets was not provided by any .service files); " +
		"use --secrets file or MAILPORT_SECRETS=file to keep secrets in a plain-text file instead"
	if err.Error() != want {
		t.Errorf("err =\n%s\nwant\n%s", err, want)
	}
}

// blockingAPI never answers until released, like a Secret Service waiting
// on an unlock prompt.
type blockingAPI struct{ release chan struct{} }

func newBlockingAPI(t *testing.T) *blockingAPI {
	b := &blockingAPI{release: make(chan struct{})}
	t.Cleanup(func() { close(b.release) })
	return b
}

func (b *blockingAPI) Get(service, user string) (string, error) { <-b.release; return "late", nil }
func (b *blockingAPI) Set(service, user, password string) error { <-b.release; return nil }
func (b *blockingAPI) Delete(service, user string) error        { <-b.release; return nil }

func TestKeyringTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	ops := map[string]func(*Keyring) error{
		"Get":    func(k *Keyring) error { _, err := k.Get("token/support"); return err },
		"Set":    func(k *Keyring) error { return k.Set("token/support", "v") },
		"Delete": func(k *Keyring) error { return k.Delete("token/support") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := &Keyring{API: newBlockingAPI(t), Timeout: timeout}
			start := time.Now()
			err := op(k)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("a keyring that never answers gave no error")
			}
			if elapsed < timeout || elapsed > timeout+time.Second {
				t.Errorf("gave up after %s, want about %s", elapsed, timeout)
			}
			if !errors.Is(err, ErrKeyringTimeout) || errors.Is(err, ErrKeyringUnavailable) || IsNotFound(err) {
				t.Errorf("err = %v, want only ErrKeyringTimeout", err)
			}
			if !strings.HasPrefix(err.Error(), "the OS keyring did not answer within 200ms while ") {
				t.Errorf("err = %q", err)
			}
			wantFileAlternative(t, err)
		})
	}
}

func TestKeyringDefaultTimeoutIsThreeSeconds(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	k := &Keyring{API: newBlockingAPI(t)}
	start := time.Now()
	_, err := k.Get("password/support")
	elapsed := time.Since(start)
	if !errors.Is(err, ErrKeyringTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if elapsed < 3*time.Second || elapsed > 4*time.Second {
		t.Errorf("gave up after %s, want 3s", elapsed)
	}
	want := `the OS keyring did not answer within 3s while reading "password/support" (it may be locked and waiting for an unlock prompt); ` +
		"use --secrets file or MAILPORT_SECRETS=file to keep secrets in a plain-text file instead"
	if err.Error() != want {
		t.Errorf("err =\n%s\nwant\n%s", err, want)
	}
}

// errAPI answers every call at once with err and records the service asked.
type errAPI struct {
	mu      sync.Mutex
	err     error
	service string
}

func (e *errAPI) record(service string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.service = service
	return e.err
}
func (e *errAPI) Get(service, user string) (string, error) { return "", e.record(service) }
func (e *errAPI) Set(service, user, password string) error { return e.record(service) }
func (e *errAPI) Delete(service, user string) error        { return e.record(service) }

func TestKeyringErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		kind     error // nil: neither unavailable nor timeout
		notFound bool
		words    string
	}{
		{"not found", gokeyring.ErrNotFound, nil, true, `password/support: secret not found`},
		{"no socket", &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ENOENT)},
			ErrKeyringUnavailable, false, "the OS keyring is not available: no D-Bus session bus to reach a Secret Service on (dial unix: connect: no such file or directory)"},
		{"no dbus-launch", &exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound},
			ErrKeyringUnavailable, false, "no D-Bus session bus to reach a Secret Service on"},
		{"no bus address", errors.New("dbus: couldn't determine address of session bus"),
			ErrKeyringUnavailable, false, "no D-Bus session bus to reach a Secret Service on"},
		{"no secret service", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"},
			ErrKeyringUnavailable, false, "no Secret Service (such as gnome-keyring) is running on the D-Bus session bus (org.freedesktop.DBus.Error.ServiceUnknown)"},
		{"locked", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"),
			ErrKeyringUnavailable, false, `the OS keyring is not available: its default keyring is locked and could not be unlocked (failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'); use --secrets file`},
		{"other D-Bus error", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"Cannot get secret of a locked object"}},
			nil, false, `OS keyring: reading "password/support" failed: Cannot get secret of a locked object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &errAPI{err: tt.err}
			_, err := (&Keyring{API: api}).Get("password/support")
			if err == nil {
				t.Fatal("no error")
			}
			if IsNotFound(err) != tt.notFound {
				t.Errorf("IsNotFound(%v) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
			for _, kind := range []error{ErrKeyringUnavailable, ErrKeyringTimeout} {
				if errors.Is(err, kind) != (kind == tt.kind) {
					t.Errorf("errors.Is(%v, %v) = %v", err, kind, !(kind == tt.kind))
				}
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("err = %q, want it to contain %q", err, tt.words)
			}
			if !tt.notFound {
				wantFileAlternative(t, err)
				if !wraps(err, tt.err) {
					t.Errorf("err = %v does not wrap go-keyring's %v", err, tt.err)
				}
			}
			if api.service != "mailport" {
				t.Errorf("asked service %q, want mailport", api.service)
			}
		})
	}
}

// wraps is errors.Is that also matches dbus.Error, whose []any body makes
// it incomparable.
func wraps(err, target error) bool {
	var want dbus.Error
	if errors.As(target, &want) {
		var got dbus.Error
		return errors.As(err, &got) && got.Name == want.Name
	}
	return errors.Is(err, target)
}

func TestKeyringDeleteMissingIsNotAnError(t *testing.T) {
	t.Parallel()
	api := &errAPI{err: gokeyring.ErrNotFound}
	if err := (&Keyring{API: api, Service: "mailport-test"}).Delete("token/x"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if api.service != "mailport-test" {
		t.Errorf("asked service %q, want the configured mailport-test", api.service)
	}
}

type panickingAPI struct{ *errAPI }

func (panickingAPI) Get(service, user string) (string, error) { panic("dbus: bad reply") }

func TestKeyringPanicBecomesError(t *testing.T) {
	t.Parallel()
	_, err := (&Keyring{API: panickingAPI{&errAPI{}}}).Get("token/x")
	if err == nil || !strings.Contains(err.Error(), "keyring call panicked: dbus: bad reply") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
}

// TestKeyringNoDBusFailsFast runs the real go-keyring (no mock) in a child
// process whose DBUS_SESSION_BUS_ADDRESS points at a socket that does not
// exist. A child, because go-keyring's mock and godbus's shared session
// connection are process-wide.
func TestKeyringNoDBusFailsFast(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-bus-here")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyringNoDBusChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"MAILPORT_TEST_KEYRING_CHILD=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+missing,
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	if runErr != nil {
		t.Fatalf("child test failed: %v\n%s", runErr, out.String())
	}
	if limit := DefaultKeyringTimeout + time.Second; elapsed > limit {
		t.Errorf("took %s without D-Bus, want under %s", elapsed, limit)
	}
	got := out.String()
	want := "the OS keyring is not available: no D-Bus session bus to reach a Secret Service on (dial unix " + missing +
		": connect: no such file or directory); use --secrets file or MAILPORT_SECRETS=file to keep secrets in a plain-text file instead"
	if !strings.Contains(got, "KEYRING ERROR: "+want+"\n") {
		t.Errorf("child said:\n%s\nwant the line:\nKEYRING ERROR: %s", got, want)
	}
}

// TestKeyringNoDBusChild is TestKeyringNoDBusFailsFast's child process.
func TestKeyringNoDBusChild(t *testing.T) {
	if os.Getenv("MAILPORT_TEST_KEYRING_CHILD") != "1" {
		t.Skip("runs only as TestKeyringNoDBusFailsFast's child")
	}
	_, err := NewKeyring().Get(PasswordKey("support"))
	if !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("err = %v, want ErrKeyringUnavailable", err)
	}
	fmt.Printf("KEYRING ERROR: %v\n", err)
}

// TestKeyringRealSecretService talks to a real Secret Service, with no mock.
// Run it through scripts/with-keyring.sh, which starts one.
func TestKeyringRealSecretService(t *testing.T) {
	if !realKeyringRequested() {
		t.Skip("set MAILPORT_TEST_KEYRING=1 (scripts/with-keyring.sh does) to test against a real Secret Service")
	}
	k := NewKeyring()
	key := fmt.Sprintf("password/real-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	value := "p@ss wörd \"quoted\"\nsecond line\t$HOME"

	if _, err := k.Get(key); !IsNotFound(err) {
		t.Fatalf("Get before Set: err = %v, want not found", err)
	}
	if err := k.Set(key, value); err != nil {
		t.Fatalf("Set: %v", err)
	}
	t.Cleanup(func() { _ = k.Delete(key) })
	if got, err := k.Get(key); err != nil || got != value {
		t.Fatalf("Get = %q, %v; want %q", got, err, value)
	}
	secretToolLookup(t, key, value, true)

	if err := k.Set(key, "replaced"); err != nil {
		t.Fatalf("Set again: %v", err)
	}
	if got, err := k.Get(key); err != nil || got != "replaced" {
		t.Fatalf("Get after replacing = %q, %v", got, err)
	}
	secretToolLookup(t, key, "replaced", true)

	if err := k.Delete(key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get(key); !IsNotFound(err) {
		t.Fatalf("Get after Delete: err = %v, want not found", err)
	}
	secretToolLookup(t, key, "", false)
	if err := k.Delete(key); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
}

// secretToolLookup checks through libsecret's secret-tool, independent of
// go-keyring, that the Secret Service holds value under service mailport.
func secretToolLookup(t *testing.T, key, value string, present bool) {
	t.Helper()
	path, err := exec.LookPath("secret-tool")
	if err != nil {
		t.Log("secret-tool not installed (Debian package libsecret-tools); skipping the cross-check")
		return
	}
	out, err := exec.Command(path, "lookup", "service", "mailport", "username", key).Output()
	if !present {
		if err == nil || len(out) != 0 {
			t.Errorf("secret-tool lookup after Delete = %q, %v; want nothing and a failure", out, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("secret-tool lookup service mailport username %s: %v", key, err)
	}
	if string(out) != value {
		t.Errorf("secret-tool lookup = %q, want %q", out, value)
	}
}
