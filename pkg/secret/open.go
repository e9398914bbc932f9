package secret

import (
	"fmt"
	"io"
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

// Open returns the store named by backend: "" or "keyring" for the OS
// keyring, "file" for secrets.yaml beside the config file at configPath.
// warn receives the file backend's plain-text warning (nil discards it).
// The caller chooses backend from --secrets, else MAILPORT_SECRETS.
func Open(backend, configPath string, warn io.Writer) (Store, error) {
	switch strings.ToLower(strings.TrimSpace(backend)) {
	case "", BackendKeyring:
		return NewKeyring(), nil
	case BackendFile:
		if configPath == "" {
			return nil, fmt.Errorf("the file secret store needs the config file's path, to keep %s beside it", FileName)
		}
		return NewFile(FilePath(configPath), warn), nil
	}
	return nil, fmt.Errorf("unknown secret store %q: choose %s (--secrets or %s)", backend, strings.Join(Backends, " or "), EnvSecrets)
}
