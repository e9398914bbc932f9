package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redactor is an io.Writer for protocol transcripts that never lets a
// secret through. It works line by line: lines carrying credentials
// (AUTHENTICATE / AUTH / PASS / LOGIN commands and SASL continuation
// responses) lose their arguments, and any registered secret value (a
// password, an access token and its base64 SASL forms) is replaced
// wherever it appears.
type Redactor struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	secrets []string
	pending []byte
	inSASL  bool // the previous client line started a SASL exchange
}

// NewRedactor wraps w. prefix (e.g. "imap ") starts every written line.
// A nil w gives a Redactor that discards everything.
func NewRedactor(w io.Writer, prefix string) *Redactor {
	if w == nil {
		w = io.Discard
	}
	return &Redactor{w: w, prefix: prefix}
}

// Secret registers a value that must never appear in the transcript, along
// with its base64 forms.
func (r *Redactor) Secret(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		r.secrets = append(r.secrets, v, base64.StdEncoding.EncodeToString([]byte(v)))
	}
	r.longestFirst()
}

// longestFirst orders the secrets so a SASL payload is replaced whole
// before a token inside it could cut it into pieces that no longer match
// (the user name around the token would stay readable).
func (r *Redactor) longestFirst() {
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// SASLPayload registers a SASL initial response (raw bytes) as secret.
func (r *Redactor) SASLPayload(payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(payload) > 0 {
		r.secrets = append(r.secrets, base64.StdEncoding.EncodeToString(payload))
		r.longestFirst()
	}
}

// Write buffers partial lines so a secret split across writes is still caught.
func (r *Redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, p...)
	for {
		i := bytes.IndexByte(r.pending, '\n')
		if i < 0 {
			break
		}
		line := string(r.pending[:i+1])
		r.pending = r.pending[i+1:]
		if _, err := io.WriteString(r.w, r.prefix+r.redact(line)); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes a trailing partial line.
func (r *Redactor) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return nil
	}
	line := string(r.pending)
	r.pending = nil
	_, err := io.WriteString(r.w, r.prefix+r.redact(line)+"\n")
	return err
}

var (
	// "a1 AUTHENTICATE XOAUTH2 <ir>", "AUTH PLAIN <ir>", "AUTH XOAUTH2 <ir>"
	authCmd = regexp.MustCompile(`(?i)^(\S+\s+)?(AUTHENTICATE|AUTH)(\s+\S+)(\s+.*)?$`)
	// "PASS secret", "a1 LOGIN user secret"
	passCmd  = regexp.MustCompile(`(?i)^(PASS)\s+.*$`)
	loginCmd = regexp.MustCompile(`(?i)^(\S+\s+LOGIN\s+\S+)\s+.*$`)
	// a client line of only base64: a SASL continuation response
	base64Line = regexp.MustCompile(`^[A-Za-z0-9+/]{8,}={0,2}$`)
)

const redacted = "[redacted]"

func (r *Redactor) redact(line string) string {
	for _, s := range r.secrets {
		line = strings.ReplaceAll(line, s, redacted)
	}
	body := strings.TrimRight(line, "\r\n")
	end := line[len(body):]
	switch {
	case authCmd.MatchString(body):
		m := authCmd.FindStringSubmatch(body)
		r.inSASL = true
		if m[4] != "" {
			return m[1] + m[2] + m[3] + " " + redacted + end
		}
		return body + end
	case passCmd.MatchString(body):
		return "PASS " + redacted + end
	case loginCmd.MatchString(body):
		return loginCmd.ReplaceAllString(body, "$1 "+redacted) + end
	case r.inSASL && base64Line.MatchString(strings.TrimSpace(body)):
		return redacted + end
	case r.inSASL && !strings.HasPrefix(body, "+"):
		r.inSASL = false // the exchange ended with the server's verdict
	}
	return line
}
