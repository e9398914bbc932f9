package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"go.yaml.in/yaml/v3"
)

// Environment variables of the file backend.
const (
	// EnvSecretsFile names the secrets file's path (default: secrets.yaml
	// beside the config file).
	EnvSecretsFile = "MAILPORT_SECRETS_FILE"
	// EnvPassphrase holds the passphrase that encrypts the secrets file.
	EnvPassphrase = "MAILPORT_SECRETS_PASSPHRASE"
	// EnvPassphraseFile names a file holding that passphrase (a mounted
	// secret); one trailing newline is not part of it.
	EnvPassphraseFile = "MAILPORT_SECRETS_PASSPHRASE_FILE"
	// EnvWorkFactor sets the scrypt work factor (log2 N) of the files
	// mailport writes, MinWorkFactor to MaxWorkFactor.
	EnvWorkFactor = "MAILPORT_SECRETS_SCRYPT_WORK_FACTOR"
)

// Scrypt work factors (log2 of N, with r=8: memory is 2^(N+10) bytes).
// DefaultWorkFactor is age's own default: about 1.5 s and 256 MiB per
// open or write on a 2020s server core. MaxWorkFactor is also the
// largest mailport opens, so a planted file cannot ask for gigabytes.
const (
	MinWorkFactor     = 10
	DefaultWorkFactor = 18
	MaxWorkFactor     = 18
)

// maxFileSize bounds what is read of a secrets file (and of its
// decrypted content): tokens are a few kilobytes each.
const maxFileSize = 4 << 20

// maxPassphraseFileSize bounds a passphrase file.
const maxPassphraseFileSize = 64 << 10

// FileError is a secrets file mailport cannot open: encrypted with no
// passphrase set, a wrong passphrase, or damaged. It is a configuration
// problem, not a failed operation: the fix is the passphrase or the file.
type FileError struct {
	Path string
	// Problem is the rest of the sentence after "secrets file PATH".
	Problem string
	Err     error
}

func (e *FileError) Error() string { return "secrets file " + e.Path + e.Problem }
func (e *FileError) Unwrap() error { return e.Err }

// Passphrase is the secret that encrypts the secrets file, and the
// variable it came from (for messages).
type Passphrase struct {
	Value string
	From  string // e.g. "MAILPORT_SECRETS_PASSPHRASE"
}

// isAgeFile reports whether b is an age file (armored or binary) rather
// than plain YAML.
func isAgeFile(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return bytes.HasPrefix(b, []byte(armor.Header)) || bytes.HasPrefix(b, []byte("age-encryption.org/"))
}

// decodeFile turns the bytes of a secrets file into its map: plain YAML,
// or an age file opened with pass (nil: no passphrase set). maxLogN is
// the largest scrypt work factor it accepts. encrypted reports which it
// was. Errors about the encryption are *FileError.
func decodeFile(path string, b []byte, pass *Passphrase, maxLogN int) (m map[string]string, encrypted bool, err error) {
	if !isAgeFile(b) {
		m, err := parseSecrets(path, b)
		return m, false, err
	}
	if pass == nil {
		return nil, true, &FileError{Path: path, Problem: fmt.Sprintf(" is encrypted: set %s (or %s, a file holding it) to the passphrase that opens it", EnvPassphrase, EnvPassphraseFile)}
	}
	plain, err := decrypt(path, b, pass, maxLogN)
	if err != nil {
		return nil, true, err
	}
	m, err = parseSecrets(path, plain)
	return m, true, err
}

func decrypt(path string, b []byte, pass *Passphrase, maxLogN int) ([]byte, error) {
	id, err := age.NewScryptIdentity(pass.Value)
	if err != nil {
		return nil, &FileError{Path: path, Problem: ": " + pass.From + " is empty", Err: err}
	}
	id.SetMaxWorkFactor(maxLogN)
	var src io.Reader = bytes.NewReader(b)
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); bytes.HasPrefix(trimmed, []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(trimmed))
	}
	r, err := age.Decrypt(src, id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		switch {
		case errors.As(err, &noMatch) && !containsString(noMatch.StanzaTypes, "scrypt"):
			return nil, &FileError{Path: path, Problem: " is encrypted to age keys, not a passphrase: mailport opens only files encrypted with a passphrase (age -p)", Err: err}
		case errors.As(err, &noMatch):
			return nil, &FileError{Path: path, Problem: ": the passphrase in " + pass.From + " does not open it", Err: err}
		case strings.Contains(err.Error(), "work factor too large"):
			return nil, &FileError{Path: path, Problem: fmt.Sprintf(" asks for a scrypt work factor above %d, more than mailport spends on opening it: re-encrypt it with %s at most %d", maxLogN, EnvWorkFactor, maxLogN), Err: err}
		}
		return nil, damaged(path, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, damaged(path, err)
	}
	if len(plain) > maxFileSize {
		return nil, &FileError{Path: path, Problem: fmt.Sprintf(" holds more than %d MiB once decrypted, which is not a file mailport wrote", maxFileSize>>20)}
	}
	return plain, nil
}

func damaged(path string, err error) error {
	return &FileError{Path: path, Problem: " is damaged or was changed since mailport encrypted it (age: " + err.Error() + "): restore it from a backup, or remove it and store the secrets again", Err: err}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseSecrets decodes plain YAML: a map of key to value. Empty, "~" and
// comments only are an empty map.
func parseSecrets(path string, b []byte) (map[string]string, error) {
	m := map[string]string{}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the secrets file %s: %w (it must be a map of key: value)", path, err)
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// encrypt seals plain for pass with age's scrypt recipient at work factor
// logN, ASCII-armored: the file stays text, so it can be pasted into a CI
// variable, shown by a cache or backup tool, and edited safely by
// nothing (any change fails age's authentication on the next open).
func encrypt(plain []byte, pass *Passphrase, logN int) ([]byte, error) {
	rcpt, err := age.NewScryptRecipient(pass.Value)
	if err != nil {
		return nil, fmt.Errorf("encrypting the secrets file: %s is empty", pass.From)
	}
	rcpt.SetWorkFactor(logN)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, rcpt)
	if err != nil {
		return nil, fmt.Errorf("encrypting the secrets file: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("encrypting the secrets file: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting the secrets file: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("encrypting the secrets file: %w", err)
	}
	return buf.Bytes(), nil
}
