package secret

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Backend names, as users give them to --secrets or MAILPORT_SECRETS.
const (
	BackendKeyring = "keyring"
	BackendFile    = "file"
)

// EnvSecrets is the environment variable that picks the backend when
// --secrets is not given.
const EnvSecrets = "MAILPORT_SECRETS"

// Backends lists the backend names, the default first (for help text and
// shell completion).
var Backends = []string{BackendKeyring, BackendFile}

// Open is OpenEnv reading the process environment.
func Open(backend, configPath string, warn io.Writer) (Store, error) {
	return OpenEnv(backend, configPath, os.Getenv, warn)
}

// OpenEnv returns the store named by backend: "" or "keyring" for the OS
// keyring, "file" for the secrets file: at $MAILPORT_SECRETS_FILE, else
// secrets.yaml beside the config file at configPath; encrypted when
// $MAILPORT_SECRETS_PASSPHRASE or $MAILPORT_SECRETS_PASSPHRASE_FILE is
// set (see FileOptionsFromEnv). warn receives the file backend's warnings
// (nil discards them). The caller chooses backend from --secrets, else
// MAILPORT_SECRETS.
func OpenEnv(backend, configPath string, getenv func(string) string, warn io.Writer) (Store, error) {
	switch strings.ToLower(strings.TrimSpace(backend)) {
	case "", BackendKeyring:
		return NewKeyring(), nil
	case BackendFile:
		path := getenv(EnvSecretsFile)
		if path == "" {
			if configPath == "" {
				return nil, fmt.Errorf("the file secret store needs the config file's path, to keep %s beside it", FileName)
			}
			path = FilePath(configPath)
		}
		pass, workFactor, err := FileOptionsFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		if pass == nil {
			return NewFile(path, warn), nil
		}
		f := NewEncryptedFile(path, *pass, warn)
		f.WorkFactor = workFactor
		return f, nil
	}
	return nil, fmt.Errorf("unknown secret store %q: choose %s (--secrets or %s)", backend, strings.Join(Backends, " or "), EnvSecrets)
}

// FileOptionsFromEnv reads the passphrase of the secrets file from
// $MAILPORT_SECRETS_PASSPHRASE or the file named by
// $MAILPORT_SECRETS_PASSPHRASE_FILE (its content less one trailing
// newline; for secrets mounted as files), nil when neither is set, and
// the scrypt work factor from $MAILPORT_SECRETS_SCRYPT_WORK_FACTOR
// (DefaultWorkFactor when unset).
func FileOptionsFromEnv(getenv func(string) string) (pass *Passphrase, workFactor int, err error) {
	workFactor = DefaultWorkFactor
	if v := strings.TrimSpace(getenv(EnvWorkFactor)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinWorkFactor || n > MaxWorkFactor {
			return nil, 0, fmt.Errorf("%s=%q: give a whole number from %d to %d (%d, age's default, costs about 1.5 s and 256 MiB per open; each step down halves both)",
				EnvWorkFactor, v, MinWorkFactor, MaxWorkFactor, DefaultWorkFactor)
		}
		workFactor = n
	}
	value, file := getenv(EnvPassphrase), getenv(EnvPassphraseFile)
	switch {
	case value != "" && file != "":
		return nil, 0, fmt.Errorf("both %s and %s are set: set one of them", EnvPassphrase, EnvPassphraseFile)
	case value != "":
		return &Passphrase{Value: value, From: EnvPassphrase}, workFactor, nil
	case file != "":
		p, err := readPassphraseFile(file)
		if err != nil {
			return nil, 0, err
		}
		return &Passphrase{Value: p, From: EnvPassphraseFile + " (" + file + ")"}, workFactor, nil
	}
	return nil, workFactor, nil
}

func readPassphraseFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the passphrase file named by %s: %w", EnvPassphraseFile, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxPassphraseFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading the passphrase file named by %s: %w", EnvPassphraseFile, err)
	}
	if len(b) > maxPassphraseFileSize {
		return "", fmt.Errorf("the passphrase file %s named by %s is larger than %d KiB: name the file holding only the passphrase", path, EnvPassphraseFile, maxPassphraseFileSize>>10)
	}
	p := strings.TrimSuffix(string(b), "\n")
	p = strings.TrimSuffix(p, "\r")
	if p == "" {
		return "", fmt.Errorf("the passphrase file %s named by %s is empty", path, EnvPassphraseFile)
	}
	return p, nil
}
