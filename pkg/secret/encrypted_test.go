package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/mailport/mailport/internal/heapmeter"
)

// testWorkFactor keeps scrypt fast in tests (about 5 ms); the default is
// measured in TestDefaultWorkFactorCost.
const testWorkFactor = MinWorkFactor

func newEncrypted(t *testing.T, path, passphrase string) (*File, *bytes.Buffer) {
	t.Helper()
	var warn bytes.Buffer
	f := NewEncryptedFile(path, Passphrase{Value: passphrase, From: EnvPassphrase}, &warn)
	f.WorkFactor = testWorkFactor
	return f, &warn
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncryptedFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, warn := newEncrypted(t, path, "correct horse")
	values := map[string]string{
		ClientSecretKey("ms365"): "cs~very.secret",
		PasswordKey("support"):   "pässword with spaces ",
		TokenKey("support"):      `{"access_token":"at-123","refresh_token":"rt-456"}`,
	}
	for k, v := range values {
		if err := f.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	b := readBytes(t, path)
	if !bytes.HasPrefix(b, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n")) {
		t.Errorf("the file does not start with age's armor:\n%s", b)
	}
	for k, v := range values {
		if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(k)) {
			t.Errorf("the encrypted file shows %s or its value in clear:\n%s", k, b)
		}
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("mode = %04o, want 0600", m)
	}
	if warn.Len() != 0 {
		t.Errorf("an encrypted store warned: %q", warn)
	}
	if got := dirNames(t, filepath.Dir(path)); strings.Join(got, " ") != "secrets.yaml secrets.yaml.lock" {
		t.Errorf("directory holds %v, want only the file and its lock", got)
	}
	// Another process with the same passphrase reads every value.
	g, _ := newEncrypted(t, path, "correct horse")
	for k, want := range values {
		if got, err := g.Get(k); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, got, err, want)
		}
	}
	if err := g.Delete(PasswordKey("support")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(PasswordKey("support")); !IsNotFound(err) {
		t.Errorf("after another process deleted it: Get = %v, want not found", err)
	}
	// The age command line opens it too: it is a standard age file.
	id, err := age.NewScryptIdentity("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(readBytes(t, path))), id)
	if err != nil {
		t.Fatalf("age cannot open the file: %v", err)
	}
	plain, _ := io.ReadAll(r)
	if !strings.Contains(string(plain), "client-secret/ms365: cs~very.secret") {
		t.Errorf("decrypted content:\n%s", plain)
	}
}

func TestEncryptedFileWrongPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, _ := newEncrypted(t, path, "right")
	if err := f.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	before := readBytes(t, path)
	g, _ := newEncrypted(t, path, "wrong")
	want := "secrets file " + path + ": the passphrase in MAILPORT_SECRETS_PASSPHRASE does not open it"
	for name, err := range map[string]error{
		"Get":    func() error { _, err := g.Get(TokenKey("a")); return err }(),
		"Set":    g.Set(TokenKey("b"), "x"),
		"Delete": g.Delete(TokenKey("a")),
		"Check":  g.Check(),
	} {
		var fe *FileError
		if err == nil || err.Error() != want || !errors.As(err, &fe) {
			t.Errorf("%s with a wrong passphrase: %v, want the *FileError %q", name, err, want)
		}
	}
	if after := readBytes(t, path); !bytes.Equal(before, after) {
		t.Error("a store with a wrong passphrase changed the file")
	}
}

func TestEncryptedFileWithoutPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, _ := newEncrypted(t, path, "pw")
	if err := f.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	before := readBytes(t, path)
	plain := NewFile(path, nil)
	want := "secrets file " + path + " is encrypted: set MAILPORT_SECRETS_PASSPHRASE (or MAILPORT_SECRETS_PASSPHRASE_FILE, a file holding it) to the passphrase that opens it"
	if _, err := plain.Get(TokenKey("a")); err == nil || err.Error() != want {
		t.Errorf("Get: %v\nwant %s", err, want)
	}
	if err := plain.Set(TokenKey("a"), "other"); err == nil || err.Error() != want {
		t.Errorf("Set: %v\nwant %s", err, want)
	}
	if err := plain.Check(); err == nil || err.Error() != want {
		t.Errorf("Check: %v\nwant %s", err, want)
	}
	if !bytes.Equal(before, readBytes(t, path)) {
		t.Error("a store without the passphrase overwrote the encrypted file")
	}
	if got := plain.Describe(); got != "file (encrypted, age scrypt; no passphrase set)" {
		t.Errorf("Describe = %q", got)
	}
}

func TestEncryptedFileTampered(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	f, _ := newEncrypted(t, path, "pw")
	if err := f.Set(TokenKey("a"), strings.Repeat("v", 200)); err != nil {
		t.Fatal(err)
	}
	good := readBytes(t, path)
	lines := strings.Split(string(good), "\n")
	// lines: BEGIN, base64 body lines..., END, "".
	for _, tc := range []struct {
		name string
		line int // index of the body line to change
	}{
		{"header", 1},               // the stanza or the header MAC
		{"payload", len(lines) - 3}, // the last body line: the payload's MAC
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]string(nil), lines...)
			l := []byte(bad[tc.line])
			i := len(l) / 2
			if l[i] == 'A' {
				l[i] = 'B'
			} else {
				l[i] = 'A'
			}
			bad[tc.line] = string(l)
			if err := os.WriteFile(path, []byte(strings.Join(bad, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			g, _ := newEncrypted(t, path, "pw")
			_, err := g.Get(TokenKey("a"))
			var fe *FileError
			if err == nil || !errors.As(err, &fe) {
				t.Fatalf("Get of a tampered file: %v, want a *FileError", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "secrets file "+path+" ") || strings.Count(msg, ". ") > 0 || strings.Contains(msg, "\n") {
				t.Errorf("not one sentence naming the file: %q", msg)
			}
			if tc.name == "payload" && !strings.Contains(msg, " is damaged or was changed since mailport encrypted it (age: ") {
				t.Errorf("payload tamper: %q", msg)
			}
			if !strings.Contains(msg, "is damaged or was changed") && !strings.Contains(msg, "does not open it") {
				t.Errorf("tamper reported as %q", msg)
			}
		})
	}
	// A file cut short is damaged too.
	if err := os.WriteFile(path, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	g, _ := newEncrypted(t, path, "pw")
	if _, err := g.Get(TokenKey("a")); err == nil || !strings.Contains(err.Error(), "is damaged or was changed") {
		t.Errorf("Get of a truncated file: %v", err)
	}
}

func TestPlainFileMigratesOnFirstWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	old := NewFile(path, nil)
	for k, v := range map[string]string{TokenKey("support"): "old-token-value", PasswordKey("out"): "old-password-value"} {
		if err := old.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	f, warn := newEncrypted(t, path, "pw")
	if got := f.Describe(); got != "file (plain; encrypted with age scrypt at the next write)" {
		t.Errorf("Describe before migration = %q", got)
	}
	// Reading leaves it as it is, with one warning.
	for range 2 {
		if v, err := f.Get(TokenKey("support")); err != nil || v != "old-token-value" {
			t.Fatalf("Get from the plain file = %q, %v", v, err)
		}
	}
	if want := "warning: secrets are still in plain text at " + path + "; mailport encrypts the file with MAILPORT_SECRETS_PASSPHRASE at its next write\n"; warn.String() != want {
		t.Errorf("warnings %q, want %q", warn, want)
	}
	// The first write encrypts it, keeping the old values.
	if err := f.Set(TokenKey("new"), "new-token-value"); err != nil {
		t.Fatal(err)
	}
	b := readBytes(t, path)
	for _, clear := range []string{"old-token-value", "old-password-value", "new-token-value", "plain text"} {
		if bytes.Contains(b, []byte(clear)) {
			t.Errorf("after the first write %q is still on disk:\n%s", clear, b)
		}
	}
	if !isAgeFile(b) {
		t.Errorf("not encrypted after the first write:\n%s", b)
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("mode = %04o, want 0600", m)
	}
	if got := dirNames(t, filepath.Dir(path)); strings.Join(got, " ") != "secrets.yaml secrets.yaml.lock" {
		t.Errorf("directory holds %v (a leftover copy of the plain file?)", got)
	}
	g, _ := newEncrypted(t, path, "pw")
	for k, want := range map[string]string{TokenKey("support"): "old-token-value", PasswordKey("out"): "old-password-value", TokenKey("new"): "new-token-value"} {
		if v, err := g.Get(k); err != nil || v != want {
			t.Errorf("after migration Get(%s) = %q, %v; want %q", k, v, err, want)
		}
	}
	if got := g.Describe(); got != "file (encrypted, age scrypt)" {
		t.Errorf("Describe after migration = %q", got)
	}
}

// A write that changes nothing still encrypts a plain file: asking for a
// passphrase means the plain text should go.
func TestPlainFileMigratesOnUnchangedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := NewFile(path, nil).Set(TokenKey("a"), "same-value"); err != nil {
		t.Fatal(err)
	}
	f, _ := newEncrypted(t, path, "pw")
	if err := f.Set(TokenKey("a"), "same-value"); err != nil {
		t.Fatal(err)
	}
	if b := readBytes(t, path); bytes.Contains(b, []byte("same-value")) {
		t.Errorf("still plain:\n%s", b)
	}
}

func TestEncryptedFileDecryptsOncePerProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	w, _ := newEncrypted(t, path, "pw")
	for i := range 3 {
		if err := w.Set(TokenKey(fmt.Sprint(i)), "v"); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := newEncrypted(t, path, "pw")
	for range 5 {
		for i := range 3 {
			if _, err := f.Get(TokenKey(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A rotated token written back, and read again.
	if err := f.Set(TokenKey("0"), "rotated"); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Get(TokenKey("0")); err != nil || v != "rotated" {
		t.Fatalf("Get after Set = %q, %v", v, err)
	}
	if f.decrypts != 1 {
		t.Errorf("15 reads and a write decrypted the file %d times, want 1", f.decrypts)
	}
	// Another process's write is seen.
	if err := w.Set(TokenKey("1"), "from another process"); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Get(TokenKey("1")); err != nil || v != "from another process" {
		t.Errorf("Get after another process wrote = %q, %v", v, err)
	}
	if f.decrypts != 2 {
		t.Errorf("decrypts = %d, want 2 after another process wrote", f.decrypts)
	}
}

func TestEncryptedConcurrentWritersLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	const writers, keysEach = 4, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*keysEach)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, _ := newEncrypted(t, path, "pw")
			for k := range keysEach {
				if err := f.Set(fmt.Sprintf("token/w%d-k%d", w, k), "v"); err != nil {
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
	f, _ := newEncrypted(t, path, "pw")
	for w := range writers {
		for k := range keysEach {
			if _, err := f.Get(fmt.Sprintf("token/w%d-k%d", w, k)); err != nil {
				t.Errorf("lost: %v", err)
			}
		}
	}
}

func TestOpenEnvPassphraseVariants(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	pfile := filepath.Join(dir, "pass")
	open := func(vars map[string]string) (Store, error) {
		vars[EnvWorkFactor] = fmt.Sprint(testWorkFactor)
		return OpenEnv("file", config, func(k string) string { return vars[k] }, nil)
	}
	s, err := open(map[string]string{EnvPassphrase: "mounted secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	// The file variant: one trailing newline (LF or CRLF) is not part of it.
	for _, content := range []string{"mounted secret", "mounted secret\n", "mounted secret\r\n"} {
		if err := os.WriteFile(pfile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := open(map[string]string{EnvPassphraseFile: pfile})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(TokenKey("a")); err != nil || v != "v" {
			t.Errorf("passphrase file %q: Get = %q, %v", content, v, err)
		}
	}
	// Two newlines: the second belongs to the passphrase, which is wrong.
	if err := os.WriteFile(pfile, []byte("mounted secret\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = open(map[string]string{EnvPassphraseFile: pfile})
	if err != nil {
		t.Fatal(err)
	}
	want := "secrets file " + filepath.Join(dir, FileName) + ": the passphrase in MAILPORT_SECRETS_PASSPHRASE_FILE (" + pfile + ") does not open it"
	if _, err := s.Get(TokenKey("a")); err == nil || err.Error() != want {
		t.Errorf("Get = %v, want %s", err, want)
	}

	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{EnvPassphrase: "a", EnvPassphraseFile: pfile}, "both MAILPORT_SECRETS_PASSPHRASE and MAILPORT_SECRETS_PASSPHRASE_FILE are set: set one of them"},
		{map[string]string{EnvPassphraseFile: filepath.Join(dir, "missing")}, "reading the passphrase file named by MAILPORT_SECRETS_PASSPHRASE_FILE: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
	} {
		if _, err := open(tc.vars); err == nil || err.Error() != tc.want {
			t.Errorf("OpenEnv(%v) = %v, want %s", tc.vars, err, tc.want)
		}
	}
	if err := os.WriteFile(pfile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := open(map[string]string{EnvPassphraseFile: pfile}); err == nil || err.Error() != "the passphrase file "+pfile+" named by MAILPORT_SECRETS_PASSPHRASE_FILE is empty" {
		t.Errorf("empty passphrase file: %v", err)
	}
}

func TestOpenEnvSecretsFilePath(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "cache", "mailport-secrets")
	vars := map[string]string{EnvSecretsFile: elsewhere}
	s, err := OpenEnv("file", filepath.Join(dir, "etc", "config.yaml"), func(k string) string { return vars[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*File).Path(); got != elsewhere {
		t.Errorf("path = %q, want %q", got, elsewhere)
	}
	// Without a config path, MAILPORT_SECRETS_FILE is enough.
	if _, err := OpenEnv("file", "", func(k string) string { return vars[k] }, nil); err != nil {
		t.Errorf("OpenEnv with MAILPORT_SECRETS_FILE and no config: %v", err)
	}
	if err := s.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Errorf("the secrets file is not at MAILPORT_SECRETS_FILE: %v", err)
	}
}

// The work factor the environment asks for is the one in the file's
// scrypt stanza; other values are refused with the range.
func TestOpenEnvWorkFactor(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{EnvPassphrase: "pw", EnvWorkFactor: "11"}
	s, err := OpenEnv("file", filepath.Join(dir, "config.yaml"), func(k string) string { return vars[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	header, err := io.ReadAll(armor.NewReader(bytes.NewReader(readBytes(t, filepath.Join(dir, FileName)))))
	if err != nil {
		t.Fatal(err)
	}
	if !regexpScrypt(header, "11") {
		t.Errorf("the file's header does not name work factor 11:\n%q", header[:80])
	}
	for _, v := range []string{"9", "19", "fast"} {
		vars[EnvWorkFactor] = v
		want := fmt.Sprintf("MAILPORT_SECRETS_SCRYPT_WORK_FACTOR=%q: give a whole number from 10 to 18 (18, age's default, costs about 1.5 s and 256 MiB per open; each step down halves both)", v)
		if _, err := OpenEnv("file", filepath.Join(dir, "config.yaml"), func(k string) string { return vars[k] }, nil); err == nil || err.Error() != want {
			t.Errorf("work factor %s: %v", v, err)
		}
	}
}

func regexpScrypt(header []byte, logN string) bool {
	for _, line := range strings.Split(string(header), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			return f[3] == logN
		}
	}
	return false
}

// A file asking for more scrypt work than mailport spends is refused
// before scrypt runs (at age's maximum, 22, it would take 4 GiB). The
// limit is MaxWorkFactor; a file at 12 against a limit of 11 shows it.
func TestEncryptedFileWorkFactorTooLarge(t *testing.T) {
	pass := &Passphrase{Value: "pw", From: EnvPassphrase}
	b, err := encrypt([]byte("a: b\n"), pass, 12)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = decodeFile("/x/secrets.yaml", b, pass, 11)
	want := "secrets file /x/secrets.yaml asks for a scrypt work factor above 11, more than mailport spends on opening it: re-encrypt it with MAILPORT_SECRETS_SCRYPT_WORK_FACTOR at most 11"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if m, _, err := decodeFile("/x/secrets.yaml", b, pass, 12); err != nil || m["a"] != "b" {
		t.Errorf("at the limit: %v, %v", m, err)
	}
}

// A file encrypted to age keys rather than a passphrase is named as such.
func TestEncryptedFileToRecipientsIsRefused(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a: b\n"))
	w.Close()
	aw.Close()
	_, _, err = decodeFile("/x/s", buf.Bytes(), &Passphrase{Value: "pw", From: EnvPassphrase}, MaxWorkFactor)
	if want := "secrets file /x/s is encrypted to age keys, not a passphrase: mailport opens only files encrypted with a passphrase (age -p)"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestDefaultWorkFactorCost measures what age's default work factor costs
// here: one open and one write of a secrets file (MAILPORT_MEASURE=1).
func TestDefaultWorkFactorCost(t *testing.T) {
	if os.Getenv("MAILPORT_MEASURE") == "" {
		t.Skip("set MAILPORT_MEASURE=1 to measure scrypt at the default work factor")
	}
	path := filepath.Join(t.TempDir(), FileName)
	f := NewEncryptedFile(path, Passphrase{Value: "pw", From: EnvPassphrase}, nil)
	start := time.Now()
	if err := f.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	write := time.Since(start)
	g := NewEncryptedFile(path, Passphrase{Value: "pw", From: EnvPassphrase}, nil)
	start = time.Now()
	if _, err := g.Get(TokenKey("a")); err != nil {
		t.Fatal(err)
	}
	t.Logf("work factor %d: write %v, open %v", DefaultWorkFactor, write, time.Since(start))
}

// A command that reads the encrypted file and writes it back (a refreshed
// token) holds one scrypt's memory at a time, not two: at work factor 16
// scrypt needs 64 MiB, and the read-modify-write stays under 1.5 times
// that.
func TestEncryptedFileReadWriteHeapPeak(t *testing.T) {
	const wf = 16
	path := filepath.Join(t.TempDir(), FileName)
	w, _ := newEncrypted(t, path, "pw")
	w.WorkFactor = wf
	if err := w.Set(TokenKey("a"), "v"); err != nil {
		t.Fatal(err)
	}
	f, _ := newEncrypted(t, path, "pw")
	f.WorkFactor = wf
	var err error
	peak := heapmeter.Peak(func() {
		if _, err = f.Get(TokenKey("a")); err == nil {
			err = f.Set(TokenKey("a"), "rotated")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	const scryptMem = 128 * 8 << wf // 128·r·N bytes with r=8, N=2^wf
	t.Logf("read and write at work factor %d: heap peak %d MiB (scrypt alone %d MiB)", wf, peak>>20, scryptMem>>20)
	if peak > scryptMem*3/2 {
		t.Errorf("heap grew by %d MiB for one read and one write, want under %d MiB: the two scrypt buffers overlapped", peak>>20, scryptMem*3/2>>20)
	}
}
