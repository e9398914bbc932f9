// Package pop3test is an in-process POP3 server for tests: a mailbox of raw
// messages on 127.0.0.1, USER/PASS, AUTH PLAIN and XOAUTH2 (both forms),
// optional STLS or implicit TLS with a self-signed certificate, PIPELINING,
// and switches that reproduce real servers' failures (Microsoft's refusal of
// the one-line XOAUTH2 form, the base64 JSON error challenge, a server
// without XOAUTH2, a server that stops answering).
package pop3test

import (
	"github.com/mailport/mailport/internal/testcert"

	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// Options configure a Server. The zero value offers USER/PASS and AUTH
// PLAIN for Users, XOAUTH2 for ValidToken, and PIPELINING, without TLS.
type Options struct {
	// Users maps user names to passwords for USER/PASS and AUTH PLAIN.
	Users map[string]string
	// ValidToken decides XOAUTH2 logins; nil refuses every token.
	ValidToken func(user, token string) bool

	STLS        bool // offer STLS, with a self-signed certificate
	ImplicitTLS bool // speak TLS from the first byte (encryption ssl)

	NoPipelining bool // do not list PIPELINING
	NoXOAUTH2    bool // do not offer XOAUTH2
	NoPlain      bool // do not offer AUTH PLAIN (USER/PASS only)
	NoCAPA       bool // answer CAPA with -ERR, like an RFC 1939 server

	// RefuseOneLineXOAUTH2 answers "AUTH XOAUTH2 <response>" with
	// "-ERR Protocol error", as Microsoft does.
	RefuseOneLineXOAUTH2 bool
	// XOAUTH2Challenge sends a base64 JSON challenge before refusing a
	// token, as Google and Microsoft do, and waits for the empty reply.
	XOAUTH2Challenge bool
	// FailText is the refusal of a login; default "-ERR [AUTH] Authentication failed.".
	FailText string

	// ListSize, when set, is what LIST reports as message n's size
	// (given its true size): a server whose sizes are wrong.
	ListSize func(n, size int) string
	// StatCount, when set, is what STAT reports as the message count
	// (given the true count).
	StatCount func(count int) int
	// HideUIDL, when set, leaves message n out of the UIDL listing.
	HideUIDL func(n int) bool

	// Stall makes the server stop answering, without closing the
	// connection, when it returns true for a command's verb (upper-cased)
	// or for "" before the greeting.
	Stall func(verb string) bool
}

// Challenge is the decoded challenge sent with Options.XOAUTH2Challenge.
const Challenge = `{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/POP.AccessAsUser.All"}`

// Message is one message in the mailbox.
type Message struct {
	UID  string
	Data []byte
}

// Stats count what the server saw.
type Stats struct {
	Sessions int
	Commands int
	// Pipelined counts commands that had already arrived when the server
	// finished the previous one: the client sent them ahead of the reply.
	Pipelined int
}

// Server is a running test server.
type Server struct {
	opts   Options
	ln     net.Listener
	tls    *tls.Config
	caFile string

	mu       sync.Mutex
	msgs     []*Message
	next     int
	stats    Stats
	commands []string
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// NewServer starts a server on 127.0.0.1 and stops it when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.FailText == "" {
		opts.FailText = "-ERR [AUTH] Authentication failed."
	}
	s := &Server{opts: opts, conns: map[net.Conn]struct{}{}}
	if opts.STLS || opts.ImplicitTLS {
		certs, err := testcert.New("pop3test")
		if err != nil {
			t.Fatalf("pop3test: make a certificate: %v", err)
		}
		s.tls = certs.ServerConfig()
		pemBytes := certs.CAPEM
		s.caFile = filepath.Join(t.TempDir(), "pop3test-ca.pem")
		if err := os.WriteFile(s.caFile, pemBytes, 0o600); err != nil {
			t.Fatalf("pop3test: write the certificate: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pop3test: listen: %v", err)
	}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the server's port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// CAFile is the PEM file of the self-signed certificate ("" without TLS).
func (s *Server) CAFile() string { return s.caFile }

// Endpoint describes the server for a client: encryption ssl with
// ImplicitTLS, starttls with STLS, none otherwise; the certificate trusted
// through CAFile; plaintext passwords allowed on the unencrypted loopback;
// a 5-second step timeout.
func (s *Server) Endpoint() mail.Endpoint {
	enc := mail.None
	switch {
	case s.opts.ImplicitTLS:
		enc = mail.SSL
	case s.opts.STLS:
		enc = mail.StartTLS
	}
	return mail.Endpoint{Host: "127.0.0.1", Port: s.Port(), Encryption: enc, CAFile: s.caFile,
		AllowPlaintextAuth: enc == mail.None, Timeout: 5 * time.Second}
}

// AddMessage appends a raw message and returns its UIDL.
func (s *Server) AddMessage(data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	uid := fmt.Sprintf("uid%06d", s.next)
	s.msgs = append(s.msgs, &Message{UID: uid, Data: data})
	return uid
}

// AddMessageUID appends a raw message with the given UIDL, which may be
// one that another message already has (a server that breaks RFC 1939).
func (s *Server) AddMessageUID(uid string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.msgs = append(s.msgs, &Message{UID: uid, Data: data})
}

// Messages returns the messages in the mailbox.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = *m
	}
	return out
}

// UIDs returns the UIDLs of the messages in the mailbox.
func (s *Server) UIDs() []string {
	var ids []string
	for _, m := range s.Messages() {
		ids = append(ids, m.UID)
	}
	return ids
}

// Stats returns what the server counted so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Commands returns every command line received, verbatim (SASL responses
// that follow a "+" are not commands and are left out).
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Close stops the server and drops every connection.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.stats.Sessions++
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			sess := &session{s: s, conn: conn, tlsOn: s.opts.ImplicitTLS}
			sess.setConn(conn)
			sess.run()
			s.mu.Lock()
			delete(s.conns, sess.conn)
			delete(s.conns, conn)
			s.mu.Unlock()
			sess.conn.Close()
		}()
	}
}

type session struct {
	s     *Server
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	tlsOn bool

	user    string
	authed  bool
	msgs    []*Message // the maildrop as it was at login
	deleted []bool
}

func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.r = bufio.NewReader(c)
	ss.w = bufio.NewWriterSize(c, 64<<10)
}

func (ss *session) reply(format string, args ...any) {
	fmt.Fprintf(ss.w, format+"\r\n", args...)
}

func (ss *session) flush() error { return ss.w.Flush() }

func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// stall stops answering until the client or Close ends the connection.
func (ss *session) stall(verb string) bool {
	if ss.s.opts.Stall == nil || !ss.s.opts.Stall(verb) {
		return false
	}
	ss.flush()
	io.Copy(io.Discard, ss.conn)
	return true
}

func (ss *session) run() {
	if ss.stall("") {
		return
	}
	ss.reply("+OK pop3test ready.")
	if ss.flush() != nil {
		return
	}
	first := true
	for {
		if !first && ss.r.Buffered() > 0 {
			ss.s.mu.Lock()
			ss.s.stats.Pipelined++
			ss.s.mu.Unlock()
		}
		first = false
		line, err := ss.readLine()
		if err != nil {
			return
		}
		ss.s.mu.Lock()
		ss.s.stats.Commands++
		ss.s.commands = append(ss.s.commands, line)
		ss.s.mu.Unlock()
		f := strings.Fields(line)
		if len(f) == 0 {
			ss.reply("-ERR Unknown command.")
			continue
		}
		verb, args := strings.ToUpper(f[0]), f[1:]
		if ss.stall(verb) {
			return
		}
		if !ss.command(verb, args) {
			ss.flush()
			return
		}
		// Answer a pipelined batch in one write.
		if ss.r.Buffered() == 0 && ss.flush() != nil {
			return
		}
	}
}

func (ss *session) mechanisms() []string {
	var ms []string
	if !ss.s.opts.NoPlain {
		ms = append(ms, "PLAIN")
	}
	if !ss.s.opts.NoXOAUTH2 {
		ms = append(ms, "XOAUTH2")
	}
	return ms
}

// command handles one command; false ends the session.
func (ss *session) command(verb string, args []string) bool {
	o := ss.s.opts
	switch verb {
	case "CAPA":
		if o.NoCAPA {
			ss.reply("-ERR Unknown command.")
			return true
		}
		ss.reply("+OK Capability list follows")
		ss.reply("TOP")
		ss.reply("UIDL")
		ss.reply("RESP-CODES")
		if !o.NoPipelining {
			ss.reply("PIPELINING")
		}
		if !ss.authed {
			ss.reply("USER")
			if o.STLS && !ss.tlsOn {
				ss.reply("STLS")
			}
			if ms := ss.mechanisms(); len(ms) > 0 {
				ss.reply("SASL %s", strings.Join(ms, " "))
			}
		}
		ss.reply("IMPLEMENTATION pop3test")
		ss.reply(".")
		return true
	case "QUIT":
		if ss.authed {
			ss.commit()
			ss.reply("+OK Logging out, messages deleted.")
		} else {
			ss.reply("+OK Logging out.")
		}
		return false
	case "NOOP":
		ss.reply("+OK")
		return true
	}
	if !ss.authed {
		return ss.authorization(verb, args)
	}
	return ss.transaction(verb, args)
}

func (ss *session) authorization(verb string, args []string) bool {
	o := ss.s.opts
	switch verb {
	case "STLS":
		if !o.STLS || ss.tlsOn {
			ss.reply("-ERR TLS is not available.")
			return true
		}
		ss.reply("+OK Begin TLS negotiation now.")
		if ss.flush() != nil {
			return false
		}
		tc := tls.Server(ss.conn, ss.s.tls)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() != nil {
			return false
		}
		tc.SetDeadline(time.Time{})
		ss.s.mu.Lock()
		ss.s.conns[tc] = struct{}{}
		ss.s.mu.Unlock()
		ss.setConn(tc)
		ss.tlsOn = true
	case "USER":
		if len(args) != 1 {
			ss.reply("-ERR USER needs one argument.")
			return true
		}
		ss.user = args[0]
		ss.reply("+OK")
	case "PASS":
		if ss.user == "" {
			ss.reply("-ERR No username given.")
			return true
		}
		pw, ok := o.Users[ss.user]
		if !ok || len(args) == 0 || strings.Join(args, " ") != pw {
			ss.reply("%s", o.FailText)
			return true
		}
		ss.login()
	case "AUTH":
		return ss.auth(args)
	default:
		ss.reply("-ERR Unknown command.")
	}
	return true
}

func (ss *session) auth(args []string) bool {
	o := ss.s.opts
	ms := ss.mechanisms()
	if len(args) == 0 {
		ss.reply("+OK")
		for _, m := range ms {
			ss.reply("%s", m)
		}
		ss.reply(".")
		return true
	}
	mech := strings.ToUpper(args[0])
	offered := false
	for _, m := range ms {
		offered = offered || m == mech
	}
	if !offered {
		ss.reply("-ERR Unsupported authentication mechanism.")
		return true
	}
	var resp string
	if len(args) > 1 {
		if mech == "XOAUTH2" && o.RefuseOneLineXOAUTH2 {
			ss.reply("-ERR Protocol error")
			return true
		}
		resp = args[1]
	} else {
		ss.reply("+ ")
		if ss.flush() != nil {
			return false
		}
		var err error
		if resp, err = ss.readLine(); err != nil {
			return false
		}
		if resp == "*" {
			ss.reply("-ERR Authentication aborted by client.")
			return true
		}
	}
	if resp == "=" {
		resp = ""
	}
	payload, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		ss.reply("-ERR Invalid base64 data in initial response")
		return true
	}
	switch mech {
	case "PLAIN":
		parts := bytes.Split(payload, []byte{0})
		if len(parts) != 3 {
			ss.reply("-ERR Invalid PLAIN response")
			return true
		}
		user, pw := string(parts[1]), string(parts[2])
		if want, ok := o.Users[user]; !ok || want != pw {
			ss.reply("%s", o.FailText)
			return true
		}
		ss.user = user
	case "XOAUTH2":
		user, token, ok := parseXOAUTH2(string(payload))
		if !ok || o.ValidToken == nil || !o.ValidToken(user, token) {
			if o.XOAUTH2Challenge {
				ss.reply("+ %s", base64.StdEncoding.EncodeToString([]byte(Challenge)))
				if ss.flush() != nil {
					return false
				}
				if _, err := ss.readLine(); err != nil {
					return false
				}
			}
			ss.reply("%s", o.FailText)
			return true
		}
		ss.user = user
	}
	ss.login()
	return true
}

// parseXOAUTH2 reads "user=U^Aauth=Bearer T^A^A".
func parseXOAUTH2(p string) (user, token string, ok bool) {
	for _, kv := range strings.Split(strings.TrimSuffix(p, "\x01\x01"), "\x01") {
		switch {
		case strings.HasPrefix(kv, "user="):
			user = kv[len("user="):]
		case strings.HasPrefix(kv, "auth=Bearer "):
			token = kv[len("auth=Bearer "):]
		}
	}
	return user, token, user != "" && token != ""
}

func (ss *session) login() {
	ss.s.mu.Lock()
	ss.msgs = append([]*Message(nil), ss.s.msgs...)
	ss.s.mu.Unlock()
	ss.deleted = make([]bool, len(ss.msgs))
	ss.authed = true
	ss.reply("+OK Logged in.")
}

// commit removes the messages marked for deletion (the UPDATE state).
func (ss *session) commit() {
	gone := map[*Message]bool{}
	for i, d := range ss.deleted {
		if d {
			gone[ss.msgs[i]] = true
		}
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	kept := ss.s.msgs[:0:0]
	for _, m := range ss.s.msgs {
		if !gone[m] {
			kept = append(kept, m)
		}
	}
	ss.s.msgs = kept
}

// message returns the live message numbered by arg, or replies -ERR.
func (ss *session) message(arg string) (int, bool) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(ss.msgs) {
		ss.reply("-ERR There's no message %s.", arg)
		return 0, false
	}
	if ss.deleted[n-1] {
		ss.reply("-ERR Message is deleted.")
		return 0, false
	}
	return n, true
}

func (ss *session) transaction(verb string, args []string) bool {
	switch verb {
	case "STAT":
		count, size := 0, 0
		for i, m := range ss.msgs {
			if !ss.deleted[i] {
				count++
				size += len(m.Data)
			}
		}
		if ss.s.opts.StatCount != nil {
			count = ss.s.opts.StatCount(count)
		}
		ss.reply("+OK %d %d", count, size)
	case "LIST", "UIDL":
		field := func(i int) string {
			if verb == "LIST" {
				if ss.s.opts.ListSize != nil {
					return ss.s.opts.ListSize(i+1, len(ss.msgs[i].Data))
				}
				return strconv.Itoa(len(ss.msgs[i].Data))
			}
			return ss.msgs[i].UID
		}
		if len(args) > 0 {
			if n, ok := ss.message(args[0]); ok {
				ss.reply("+OK %d %s", n, field(n-1))
			}
			return true
		}
		ss.reply("+OK")
		for i := range ss.msgs {
			if verb == "UIDL" && ss.s.opts.HideUIDL != nil && ss.s.opts.HideUIDL(i+1) {
				continue
			}
			if !ss.deleted[i] {
				ss.reply("%d %s", i+1, field(i))
			}
		}
		ss.reply(".")
	case "RETR":
		if len(args) != 1 {
			ss.reply("-ERR RETR needs a message number.")
			return true
		}
		if n, ok := ss.message(args[0]); ok {
			data := ss.msgs[n-1].Data
			ss.reply("+OK %d octets", len(data))
			if writeStuffed(ss.w, data) != nil {
				return false
			}
		}
	case "DELE":
		if len(args) != 1 {
			ss.reply("-ERR DELE needs a message number.")
			return true
		}
		if n, ok := ss.message(args[0]); ok {
			ss.deleted[n-1] = true
			ss.reply("+OK Marked to be deleted.")
		}
	case "RSET":
		for i := range ss.deleted {
			ss.deleted[i] = false
		}
		ss.reply("+OK")
	default:
		ss.reply("-ERR Unknown command.")
	}
	return true
}

// writeStuffed writes data dot-stuffed and terminated, without copying it.
// A message that does not end with a line break gets CRLF, as RFC 1939
// requires before the terminator.
func writeStuffed(w *bufio.Writer, data []byte) error {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		if line[0] == '.' {
			w.WriteByte('.')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		data = data[len(line):]
		if len(data) == 0 && line[len(line)-1] != '\n' {
			w.WriteString("\r\n")
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}
