package imap

import (
	"io"
	"sync"

	"github.com/mailport/mailport/pkg/mail"
)

// transcript is the --trace of one connection, marked like the POP3 and
// SMTP ones: "imap C: " before what mailport sent, "imap S: " before what
// the server sent. Both directions go through a mail.Redactor, and a
// secret registered once is hidden in both.
type transcript struct {
	client *mail.Redactor
	server *mail.Redactor
}

// newTranscript writes to w; imapclient reads and writes from different
// goroutines, so the two directions share w under a lock that keeps their
// lines whole.
func newTranscript(w io.Writer) *transcript {
	sw := &lockedWriter{w: w}
	return &transcript{client: mail.NewRedactor(sw, "imap C: "), server: mail.NewRedactor(sw, "imap S: ")}
}

// Secret registers values (a password, a token) that must not appear.
func (t *transcript) Secret(values ...string) {
	t.client.Secret(values...)
	t.server.Secret(values...)
}

// SASLPayload registers a SASL response (raw bytes) as secret.
func (t *transcript) SASLPayload(p []byte) {
	t.client.SASLPayload(p)
	t.server.SASLPayload(p)
}

// Flush writes what is left of a partial line in either direction.
func (t *transcript) Flush() error {
	err := t.client.Flush()
	if serr := t.server.Flush(); err == nil {
		err = serr
	}
	return err
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
