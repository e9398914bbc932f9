package mail

import (
	"errors"
	"fmt"
	"strings"
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
	// Suggestions are the existing folder paths nearest to Path (see
	// ClosestPaths), nearest first; empty when none is near or the
	// folders could not be listed.
	Suggestions []string
}

func (e *FolderNotFoundError) Error() string {
	s := fmt.Sprintf("folder %q not found", e.Path)
	if e.Missing != "" && e.Missing != e.Path {
		s = fmt.Sprintf("folder %q not found: no %q", e.Path, e.Missing)
	}
	if len(e.Suggestions) > 0 {
		s += "; did you mean " + orList(e.Suggestions) + "?"
	}
	return s
}

// orList quotes names and joins them: "a", "b" or "c".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// PlaintextAuthError refuses to send a password over an unencrypted connection.
type PlaintextAuthError struct{ Host string }

func (e *PlaintextAuthError) Error() string {
	return fmt.Sprintf("refusing to send a password to %s without encryption: use encryption ssl or starttls, or set the account property allow_plaintext_auth=true", e.Host)
}
