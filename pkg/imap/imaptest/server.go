// Package imaptest runs an in-process IMAP server for tests and for
// `mailport demo`, and holds the IMAP adapter's test suite so that the same
// tests run against this server and against a real Dovecot.
//
// The server is go-imap's imapserver over imapmemserver, listening on
// 127.0.0.1 with a free port. On top of the memory server it adds what
// mailport needs to exercise: SASL PLAIN, XOAUTH2 and OAUTHBEARER with tokens
// checked by a hook, refusals in Dovecot's words, implicit TLS or STARTTLS
// with a self-signed certificate made at start, and switches that drop MOVE,
// UIDPLUS or XOAUTH2 from what the server offers.
package imaptest

import (
	"github.com/mailport/mailport/internal/testcert"

	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/mailport/mailport/pkg/mail"
)

// Config shapes a Server. The zero value is a plain-text server that
// accepts passwords in the clear and offers no OAuth2 mechanism.
type Config struct {
	// Encryption is ssl (implicit TLS), starttls (plain, STARTTLS offered
	// and required before login) or none ("" means none).
	Encryption mail.Encryption
	// TokenCheck validates OAuth2 bearer tokens; a non-nil error refuses the
	// login. Nil means XOAUTH2 and OAUTHBEARER are not offered.
	TokenCheck func(user, token string) error
	// NoXOAUTH2 offers OAUTHBEARER without XOAUTH2.
	NoXOAUTH2 bool
	// NoMove drops the MOVE capability; a MOVE command is then refused.
	NoMove bool
	// NoUIDPlus drops UIDPLUS; UID EXPUNGE is then refused.
	NoUIDPlus bool
	// Trace receives the server's side of every conversation (with secrets).
	Trace io.Writer
	// Log receives the server's error log; nil discards it.
	Log io.Writer
}

// Server is a running IMAP server. Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	srv   *imapserver.Server
	ln    net.Listener
	dir   string
	caPEM []byte

	mu    sync.Mutex
	users map[string]*imapmemserver.User
}

// The hierarchy delimiter of imapmemserver.
const delim = "/"

// New starts a server on 127.0.0.1 with a free port.
func New(cfg Config) (*Server, error) {
	if cfg.Encryption == "" {
		cfg.Encryption = mail.None
	}
	s := &Server{cfg: cfg, users: make(map[string]*imapmemserver.User)}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapMove: {}}
	if cfg.NoMove {
		delete(caps, imap.CapMove)
	}
	if cfg.NoUIDPlus {
		delete(caps, imap.CapUIDPlus)
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s}, nil, nil
		},
		Caps:        caps,
		Logger:      log.New(logw, "imaptest: ", 0),
		DebugWriter: cfg.Trace,
	}

	var tlsConfig *tls.Config
	if cfg.Encryption != mail.None {
		var err error
		certs, err := testcert.New("mailport imaptest")
		if err != nil {
			return nil, err
		}
		tlsConfig, s.caPEM = certs.ServerConfig(), certs.CAPEM
		dir, err := os.MkdirTemp("", "imaptest-")
		if err != nil {
			return nil, fmt.Errorf("imaptest: %w", err)
		}
		s.dir = dir
		if err := os.WriteFile(s.CAFile(), s.caPEM, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("imaptest: %w", err)
		}
	}
	switch cfg.Encryption {
	case mail.None:
		opts.InsecureAuth = true
	case mail.StartTLS:
		opts.TLSConfig = tlsConfig
	case mail.SSL:
	default:
		return nil, fmt.Errorf("imaptest: unknown encryption %q", cfg.Encryption)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("imaptest: %w", err)
	}
	if cfg.Encryption == mail.SSL {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.ln = ln
	s.srv = imapserver.New(opts)
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server and drops every connection.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.removeDir()
	return err
}

func (s *Server) removeDir() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Endpoint is where a client connects, with the server's CA trusted.
func (s *Server) Endpoint() mail.Endpoint {
	a := s.ln.Addr().(*net.TCPAddr)
	return mail.Endpoint{
		Host:       a.IP.String(),
		Port:       a.Port,
		Encryption: s.cfg.Encryption,
		CAFile:     s.CAFile(),
		// The server allows it; a test of the client's refusal clears it.
		AllowPlaintextAuth: s.cfg.Encryption == mail.None,
	}
}

// CAPEM is the PEM of the self-signed certificate (nil without TLS).
func (s *Server) CAPEM() []byte { return s.caPEM }

// CAFile is a file holding CAPEM ("" without TLS); it lives until Close.
func (s *Server) CAFile() string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, "ca.pem")
}

// AddUser adds (or replaces) a user with an empty INBOX.
func (s *Server) AddUser(name, password string) {
	u := imapmemserver.NewUser(name, password)
	u.Create("INBOX", nil)
	s.mu.Lock()
	s.users[name] = u
	s.mu.Unlock()
}

func (s *Server) user(name string) (*imapmemserver.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	if u == nil {
		return nil, fmt.Errorf("imaptest: no user %q", name)
	}
	return u, nil
}

// MailboxName maps a configured path ("Inbox/Endpoint") to this server's
// mailbox name ("INBOX/Endpoint").
func MailboxName(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return strings.Join(parts, delim)
}

// CreateFolder creates a folder and any missing parents.
func (s *Server) CreateFolder(user, path string) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	parts := strings.Split(MailboxName(path), delim)
	for i := range parts {
		err := u.Create(strings.Join(parts[:i+1], delim), nil)
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			return fmt.Errorf("imaptest: create %s: %w", path, err)
		}
	}
	return nil
}

// Append stores a raw message in a folder with the given flags (e.g.
// imap.FlagSeen) and internal date (zero: now) and returns its UID.
func (s *Server) Append(user, path string, raw []byte, flags []imap.Flag, date time.Time) (imap.UID, error) {
	u, err := s.user(user)
	if err != nil {
		return 0, err
	}
	data, err := u.Append(MailboxName(path), literal{bytes.NewReader(raw)}, &imap.AppendOptions{Flags: flags, Time: date})
	if err != nil {
		return 0, fmt.Errorf("imaptest: append to %s: %w", path, err)
	}
	return data.UID, nil
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

// errAuthFailed is Dovecot's refusal, word for word, so diagnosis tests see
// what they will see in production.
var errAuthFailed = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeAuthenticationFailed,
	Text: "AUTHENTICATE failed.",
}

// session is one connection. It embeds imapmemserver's user session (nil
// until login) for everything but authentication and the switches.
type session struct {
	*imapmemserver.UserSession
	srv *Server
}

var (
	_ imapserver.SessionIMAP4rev2 = (*session)(nil)
	_ imapserver.SessionSASL      = (*session)(nil)
)

func (s *session) Login(username, password string) error {
	u, err := s.srv.user(username)
	if err != nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *session) loginToken(username, token string) error {
	u, err := s.srv.user(username)
	if err != nil {
		return errAuthFailed
	}
	if err := s.srv.cfg.TokenCheck(username, token); err != nil {
		return errAuthFailed
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *session) AuthenticateMechanisms() []string {
	mechs := []string{sasl.Plain}
	if s.srv.cfg.TokenCheck != nil {
		if !s.srv.cfg.NoXOAUTH2 {
			mechs = append(mechs, mail.XOAUTH2)
		}
		mechs = append(mechs, sasl.OAuthBearer)
	}
	return mechs
}

func (s *session) Authenticate(mech string) (sasl.Server, error) {
	offered := false
	for _, m := range s.AuthenticateMechanisms() {
		offered = offered || m == mech
	}
	if !offered {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported authentication mechanism."}
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed, Text: "Authorization failed."}
			}
			return s.Login(username, password)
		}), nil
	case mail.XOAUTH2:
		return &xoauth2Server{s: s}, nil
	default:
		return &oauthBearerServer{inner: sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if err := s.loginToken(o.Username, o.Token); err != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer", Scope: "mail"}
			}
			return nil
		})}, nil
	}
}

func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.srv.cfg.NoMove {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command."}
	}
	return s.UserSession.Move(w, numSet, dest)
}

func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.srv.cfg.NoUIDPlus && uids != nil {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command."}
	}
	return s.UserSession.Expunge(w, uids)
}

// xoauth2Server is the server side of XOAUTH2 as Google and Dovecot run
// it: a refused token gets a JSON challenge, the client answers with an
// empty response, and only then comes the NO.
type xoauth2Server struct {
	s      *session
	failed bool
}

// xoauth2Challenge is what Dovecot 2.3 sends for a refused token.
const xoauth2Challenge = `{"status":"401","schemes":"bearer","scope":"mail"}`

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, errAuthFailed
	}
	if resp == nil {
		return nil, false, nil // ask for the initial response
	}
	user, token, ok := parseXOAUTH2(resp)
	if !ok {
		return nil, true, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid XOAUTH2 initial response."}
	}
	if err := x.s.loginToken(user, token); err != nil {
		x.failed = true
		return []byte(xoauth2Challenge), false, nil
	}
	return nil, true, nil
}

// parseXOAUTH2 reads "user=U^Aauth=Bearer T^A^A".
func parseXOAUTH2(b []byte) (user, token string, ok bool) {
	for _, f := range strings.Split(string(b), "\x01") {
		switch {
		case strings.HasPrefix(f, "user="):
			user = strings.TrimPrefix(f, "user=")
		case strings.HasPrefix(f, "auth="):
			a := strings.TrimPrefix(f, "auth=")
			if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				token = a[7:]
			}
		}
	}
	return user, token, user != "" && token != ""
}

// oauthBearerServer adapts go-sasl's server: it asks for a missing initial
// response with an empty challenge (go-sasl sends "=", which a client reads
// as an error challenge) and turns its errors into Dovecot's refusal.
type oauthBearerServer struct {
	inner   sasl.Server
	started bool
}

func (o *oauthBearerServer) Next(resp []byte) ([]byte, bool, error) {
	if !o.started && resp == nil {
		return nil, false, nil
	}
	o.started = true
	ch, done, err := o.inner.Next(resp)
	if err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) {
			err = errAuthFailed
		}
	}
	return ch, done, err
}
