package secret

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

func newTestFile(t *testing.T) (*File, *bytes.Buffer) {
	t.Helper()
	var warn bytes.Buffer
	return NewFile(filepath.Join(t.TempDir(), "mailport", FileName), &warn), &warn
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestFilePathBesideConfig(t *testing.T) {
	got := FilePath("/home/ann/.config/mailport/config.yaml")
	if want := "/home/ann/.config/mailport/secrets.yaml"; got != want {
		t.Errorf("FilePath = %q, want %q", got, want)
	}
}

func TestFileMissingIsEmpty(t *testing.T) {
	f, _ := newTestFile(t)
	_, err := f.Get(PasswordKey("support"))
	if !IsNotFound(err) {
		t.Fatalf("Get from a missing file: err = %v, want not found", err)
	}
	if want := "password/support: secret not found"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if _, err := os.Stat(f.Path()); !os.IsNotExist(err) {
		t.Errorf("reading created the file: %v", err)
	}
	if err := f.Delete(PasswordKey("support")); err != nil {
		t.Errorf("Delete from a missing file: %v", err)
	}
	if _, err := os.Stat(f.Path()); !os.IsNotExist(err) {
		t.Errorf("deleting a missing key created the file: %v", err)
	}
}

func TestFileSetGetDeleteMode0600AndOneWarning(t *testing.T) {
	f, warn := newTestFile(t)
	if f.Name() != "file" {
		t.Errorf("Name() = %q, want file", f.Name())
	}
	if err := f.Set(ClientSecretKey("ms365"), "s3cr3t~value"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := f.Set(PasswordKey("support"), "hunter2"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if m := fileMode(t, f.Path()); m != 0o600 {
		t.Errorf("file mode = %04o, want 0600", m)
	}
	if m := fileMode(t, filepath.Dir(f.Path())); m != 0o700 {
		t.Errorf("created directory mode = %04o, want 0700", m)
	}
	if got, err := f.Get(ClientSecretKey("ms365")); err != nil || got != "s3cr3t~value" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := f.Delete(ClientSecretKey("ms365")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := f.Get(ClientSecretKey("ms365")); !IsNotFound(err) {
		t.Errorf("Get after Delete: err = %v, want not found", err)
	}
	if got, err := f.Get(PasswordKey("support")); err != nil || got != "hunter2" {
		t.Errorf("the other key after Delete: Get = %q, %v", got, err)
	}

	data, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("s3cr3t~value")) {
		t.Errorf("the deleted secret is still in the file:\n%s", data)
	}
	want := fileHeader + "password/support: hunter2\n"
	if string(data) != want {
		t.Errorf("file =\n%s\nwant\n%s", data, want)
	}

	wantWarn := "warning: secrets are kept in plain text at " + f.Path() + " (set MAILPORT_SECRETS_PASSPHRASE to encrypt them)\n"
	if warn.String() != wantWarn {
		t.Errorf("warnings =\n%q\nwant exactly one line\n%q", warn.String(), wantWarn)
	}
}

func TestFileReadOnlyUseWarnsToo(t *testing.T) {
	f, warn := newTestFile(t)
	_, _ = f.Get("token/x")
	if !strings.Contains(warn.String(), "plain text at "+f.Path()) {
		t.Errorf("reading gave no plain-text warning: %q", warn.String())
	}
}

func TestFileValuesRoundTrip(t *testing.T) {
	values := map[string]string{
		"token/newlines":   "{\n  \"access_token\": \"eyJ0eXAi.x.y\",\n  \"refresh_token\": \"0.AX8A\"\n}\n",
		"token/crlf":       "line one\r\nline two\r\n",
		"password/spaces":  "  leading and trailing  ",
		"password/trail":   "trailing space then newline \n",
		"password/yaml":    "- not: a list # nor a comment\n? key\n--- \n...",
		"password/quotes":  `it's "quoted" \ back\slash`,
		"password/special": "!&*%@`|>{}[],:#",
		"password/unicode": "pässwörd 🔑 \u00a0nbsp",
		"password/tab":     "\tindented\ttabs",
		"password/bool":    "yes",
		"password/number":  "0123",
		"password/null":    "~",
		"password/empty":   "",
		"token/only-nl":    "\n",
		"token/only-space": " ",
		"token/nul":        "a\x00b\x7fc",
		"token/not-utf8":   "\xff\xfe raw bytes",
		"token/long":       strings.Repeat("abcdefghij", 500) + " " + strings.Repeat("k", 300),
	}
	f, _ := newTestFile(t)
	for k, v := range values {
		if err := f.Set(k, v); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	fresh := NewFile(f.Path(), nil)
	for k, want := range values {
		got, err := fresh.Get(k)
		if err != nil || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
}

func TestFileAtomicNoLeftovers(t *testing.T) {
	f, _ := newTestFile(t)
	for i := range 20 {
		if err := f.Set(fmt.Sprintf("token/a%d", i), strings.Repeat("x", i*100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Delete("token/a3"); err != nil {
		t.Fatal(err)
	}
	got := dirNames(t, filepath.Dir(f.Path()))
	want := []string{"secrets.yaml", "secrets.yaml.lock"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("directory holds %v, want only %v", got, want)
	}
	if m := fileMode(t, f.Path()+".lock"); m != 0o600 {
		t.Errorf("lock file mode = %04o, want 0600", m)
	}
}

func TestFileConcurrentWritersLoseNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	const writers, keysEach = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*keysEach)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One File per writer, as two mailport processes would have.
			f := NewFile(path, nil)
			for k := range keysEach {
				if err := f.Set(fmt.Sprintf("token/w%d-k%d", w, k), fmt.Sprintf("value %d/%d", w, k)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Set: %v", err)
	}
	f := NewFile(path, nil)
	for w := range writers {
		for k := range keysEach {
			key := fmt.Sprintf("token/w%d-k%d", w, k)
			if got, err := f.Get(key); err != nil || got != fmt.Sprintf("value %d/%d", w, k) {
				t.Errorf("Get(%s) = %q, %v", key, got, err)
			}
		}
	}
}

func TestFileWidePermissionsAreFixed(t *testing.T) {
	f, warn := newTestFile(t)
	if err := os.MkdirAll(filepath.Dir(f.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Path(), []byte("password/support: 1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	// A hand-written number is still the password's text.
	if got, err := f.Get(PasswordKey("support")); err != nil || got != "1234" {
		t.Fatalf("Get = %q, %v; want 1234", got, err)
	}
	if m := fileMode(t, f.Path()); m != 0o600 {
		t.Errorf("mode after reading = %04o, want 0600", m)
	}
	want := "warning: secrets are kept in plain text at " + f.Path() + " (set MAILPORT_SECRETS_PASSPHRASE to encrypt them)\n" +
		"warning: " + f.Path() + " could be read by other users (mode 0644); changed it to 0600\n"
	if warn.String() != want {
		t.Errorf("warnings =\n%s\nwant\n%s", warn.String(), want)
	}
}

func TestFileNotAMap(t *testing.T) {
	f, _ := newTestFile(t)
	if err := os.MkdirAll(filepath.Dir(f.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Path(), []byte("- password/support\n- hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := f.Get(PasswordKey("support"))
	if err == nil || IsNotFound(err) {
		t.Fatalf("err = %v, want a read error", err)
	}
	for _, words := range []string{"reading the secrets file " + f.Path(), "line 1", "it must be a map of key: value"} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("err = %q, want it to contain %q", err, words)
		}
	}
	// A write must not replace a file it cannot read.
	if err := f.Set("token/x", "v"); err == nil {
		t.Error("Set over an unreadable file succeeded")
	}
	if data, _ := os.ReadFile(f.Path()); string(data) != "- password/support\n- hunter2\n" {
		t.Errorf("the unreadable file changed to:\n%s", data)
	}
}

func TestFileCommentsOnlyIsEmpty(t *testing.T) {
	f, _ := newTestFile(t)
	if err := os.MkdirAll(filepath.Dir(f.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Path(), []byte(fileHeader), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("token/x"); !IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
	if err := f.Set("token/x", "v"); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("token/x"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(f.Path()); string(data) != fileHeader {
		t.Errorf("empty store file =\n%q\nwant only the header", data)
	}
}

func TestFileLockHeldByAnotherProcess(t *testing.T) {
	f, _ := newTestFile(t)
	f.LockTimeout = 150 * time.Millisecond
	if err := os.MkdirAll(filepath.Dir(f.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	other := flock.New(f.Path() + ".lock")
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	start := time.Now()
	err := f.Set("token/x", "v")
	if err == nil {
		t.Fatal("Set succeeded while another process held the lock")
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("gave up after %s, want about 150ms", elapsed)
	}
	want := "another mailport process has held the lock " + f.Path() + ".lock for 150ms; try again when it has finished"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	// Reads need no lock.
	if _, err := f.Get("token/x"); !IsNotFound(err) {
		t.Errorf("Get while locked: %v, want not found", err)
	}
}

func TestFileWritesThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "vault", "mailport-secrets.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, FileName)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	f := NewFile(link, nil)
	if err := f.Set("token/x", "v"); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v, %v", info, err)
	}
	if data, err := os.ReadFile(real); err != nil || !strings.Contains(string(data), "token/x: v") {
		t.Errorf("target = %q, %v", data, err)
	}
}

// A relative path (from a relative --config) is named absolutely in the
// warning, so the user finds the file wherever they are.
func TestFileWarningNamesAnAbsolutePath(t *testing.T) {
	t.Chdir(t.TempDir())
	var warn strings.Builder
	f := NewFile("secrets.yaml", &warn)
	if err := f.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs("secrets.yaml")
	if f.Path() != want || warn.String() != "warning: secrets are kept in plain text at "+want+" (set MAILPORT_SECRETS_PASSPHRASE to encrypt them)\n" {
		t.Errorf("path %q, warning %q; want %s", f.Path(), warn.String(), want)
	}
}
