package smtp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
)

// tracer writes the transcript: client lines through mail.Redactor
// ("smtp C: "), server lines ("smtp S: ") through a writer that only
// replaces registered secrets. Server lines must not go through the
// Redactor: its command patterns would mangle an EHLO line such as
// "250 AUTH PLAIN LOGIN".
type tracer struct {
	on     bool
	client *mail.Redactor
	server *serverTrace
	// mute hides the message data: a transcript is for the dialogue,
	// and a 30 MB body would bury it (and be copied line by line).
	mute      bool
	dataBytes int64
}

func newTracer(w io.Writer) *tracer {
	if w == nil {
		return &tracer{}
	}
	// Both directions share w; a lock keeps their lines whole.
	sw := &syncWriter{w: w}
	return &tracer{on: true, client: mail.NewRedactor(sw, "smtp C: "), server: &serverTrace{w: sw, prefix: "smtp S: "}}
}

// secret registers values that must not appear in either direction.
func (t *tracer) secret(values ...string) {
	if !t.on {
		return
	}
	t.client.Secret(values...)
	t.server.secret(values...)
}

// saslPayload registers a SASL response (raw bytes) as secret.
func (t *tracer) saslPayload(p []byte) {
	if !t.on || len(p) == 0 {
		return
	}
	t.client.SASLPayload(p)
	t.server.secret(base64.StdEncoding.EncodeToString(p))
}

func (t *tracer) startData() { t.mute, t.dataBytes = true, 0 }

func (t *tracer) endData() {
	t.mute = false
	if t.on {
		fmt.Fprintf(t.client, "[message data and final \".\": %s]\r\n", plural.Of(t.dataBytes, "octet", "octets"))
	}
}

func (t *tracer) flush() {
	if t.on {
		_ = t.client.Flush()
		_ = t.server.flush()
	}
}

func (t *tracer) sent(p []byte) {
	if t.mute {
		t.dataBytes += int64(len(p))
		return
	}
	if t.on {
		// A transcript that cannot be written must not stop the mail.
		_, _ = t.client.Write(p)
	}
}

func (t *tracer) received(p []byte) {
	if t.on {
		_, _ = t.server.Write(p)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

type serverTrace struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	secrets []string
	pending []byte
}

func (s *serverTrace) secret(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) >= 4 {
			s.secrets = append(s.secrets, v, base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
}

func (s *serverTrace) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, p...)
	for {
		i := bytes.IndexByte(s.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(s.pending[:i+1])
		s.pending = s.pending[i+1:]
		if _, err := io.WriteString(s.w, s.prefix+s.redact(line)); err != nil {
			return len(p), err
		}
	}
}

func (s *serverTrace) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	line := string(s.pending)
	s.pending = nil
	_, err := io.WriteString(s.w, s.prefix+s.redact(line)+"\n")
	return err
}

func (s *serverTrace) redact(line string) string {
	for _, v := range s.secrets {
		line = strings.ReplaceAll(line, v, "[redacted]")
	}
	return line
}

// traceConn copies what crosses the connection to the tracer, and counts
// the octets read in the current step.
type traceConn struct {
	net.Conn
	t    *tracer
	got  int64
	last time.Time // when the last octet arrived
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got += int64(n)
	if n > 0 {
		c.last = time.Now()
	}
	if n > 0 {
		c.t.received(p[:n])
	}
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.t.sent(p[:n])
	}
	return n, err
}
