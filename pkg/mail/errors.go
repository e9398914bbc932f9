package mail

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned for an operation the protocol cannot do
// (e.g. marking a POP3 message seen).
var ErrUnsupported = errors.New("not supported by this protocol")

// AuthError is a server's refusal of our credentials. Text keeps the
// server's own words (e.g. "NO AUTHENTICATE failed.", "535 5.7.139 ...")
// because the diagnosis matches on them.
type AuthError struct {
	Mechanism string // "XOAUTH2", "PLAIN", "USER/PASS", ...
	Text      string // the server's response, verbatim
	// Challenge is the decoded server challenge sent before the failure, if
	// any (XOAUTH2 servers send base64 JSON like {"status":"400",...}).
	Challenge string
}

func (e *AuthError) Error() string {
	if e.Challenge != "" {
		return fmt.Sprintf("%s authentication refused: %s (server said %s)", e.Mechanism, e.Text, e.Challenge)
	}
	return fmt.Sprintf("%s authentication refused: %s", e.Mechanism, e.Text)
}

// FolderNotFoundError names the part of a folder path that does not exist.
type FolderNotFoundError struct {
	Path    string // the path asked for, e.g. "Inbox/Endpoint"
	Missing string // the first component not found, e.g. "Endpoint"
}

func (e *FolderNotFoundError) Error() string {
	if e.Missing != "" && e.Missing != e.Path {
		return fmt.Sprintf("folder %q not found: no %q", e.Path, e.Missing)
	}
	return fmt.Sprintf("folder %q not found", e.Path)
}

// PlaintextAuthError refuses to send a password over an unencrypted connection.
type PlaintextAuthError struct{ Host string }

func (e *PlaintextAuthError) Error() string {
	return fmt.Sprintf("refusing to send a password to %s without encryption: use encryption ssl or starttls, or set the account property allow_plaintext_auth=true", e.Host)
}
