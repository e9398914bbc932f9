// Package smtptest runs an in-process SMTP submission server on 127.0.0.1
// for tests, for the diagnosis tests and for `mailport demo`.
//
// It is built on github.com/emersion/go-smtp and offers AUTH PLAIN and LOGIN
// against a user table, XOAUTH2 (and optionally OAUTHBEARER) through a token
// hook, implicit TLS or STARTTLS with a freshly generated CA, and switches
// that make it fail the way real providers do (Microsoft's "SMTP AUTH is
// disabled for the tenant", a plain 535, no XOAUTH2 on offer). Every message
// it accepts is recorded with its envelope and its exact bytes.
package smtptest

import (
	"github.com/mailport/mailport/internal/testcert"

	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Security is how clients reach the server.
type Security int

const (
	// Plain is an unencrypted listener without STARTTLS.
	Plain Security = iota
	// StartTLS is an unencrypted listener that offers STARTTLS.
	StartTLS
	// ImplicitTLS speaks TLS from the first byte (port 465 style).
	ImplicitTLS
)

// Replies real servers send, for use with RefuseAuth and in assertions.
const (
	// ReplyTenantDisabled is Exchange Online's answer when SMTP AUTH is
	// switched off for the organisation.
	ReplyTenantDisabled = "535 5.7.139 Authentication unsuccessful, SMTP AUTH is disabled for the tenant."
	// ReplyAuthUnsuccessful is Exchange Online's answer to wrong credentials.
	ReplyAuthUnsuccessful = "535 5.7.3 Authentication unsuccessful"
	// ReplyBadCredentials is what this server answers to a wrong password
	// or a token the hook refused.
	ReplyBadCredentials = "535 5.7.8 Authentication credentials invalid"
)

// XOAUTH2Challenge is the JSON the server sends (base64-encoded) before
// refusing an XOAUTH2 token, shaped like Google's.
const XOAUTH2Challenge = `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`

// Options configure a Server. The zero value is a plain-text server that
// accepts mail from anyone without authentication.
type Options struct {
	Security Security
	// Users maps logins to passwords for AUTH PLAIN and LOGIN.
	Users map[string]string
	// PasswordMechanisms are the password mechanisms offered when Users is
	// set; default PLAIN and LOGIN.
	PasswordMechanisms []string
	// Rcpt, when set, judges each RCPT TO address; an error refuses it
	// (a *gosmtp.SMTPError, e.g. from ParseReply, is sent as it is).
	Rcpt func(to string) error
	// Token checks an XOAUTH2 / OAUTHBEARER bearer token for a user; a nil
	// error accepts it. A *gosmtp.SMTPError is sent as it is; any other
	// error becomes ReplyBadCredentials. When nil, no token mechanism is
	// offered.
	Token func(user, token string) error
	// TokenMechanisms are the token mechanisms offered when Token is set;
	// default XOAUTH2 only. OAUTHBEARER is the other one supported.
	TokenMechanisms []string
	// AuthBeforeTLS offers AUTH on a StartTLS listener before STARTTLS.
	// Without it AUTH appears only once the connection is encrypted, as on
	// real submission servers.
	AuthBeforeTLS bool
	// DiscardBodies keeps only the size and SHA-256 of received messages,
	// for tests that send large messages and measure memory.
	DiscardBodies bool
	// MaxMessageBytes is advertised as SIZE and enforced; 0 means no limit.
	MaxMessageBytes int64
	// DSN offers the DSN extension (RFC 3461): NOTIFY= on RCPT TO and RET=
	// on MAIL FROM are accepted and recorded in Received.
	DSN bool
	// Domain names the server in its greeting; default "smtptest.local".
	Domain string
	// Log receives go-smtp's own error log; nil discards it.
	Log io.Writer
}

// Received is one accepted message.
type Received struct {
	From      string   // MAIL FROM address
	To        []string // RCPT TO addresses, in order
	User      string   // the authenticated login, "" without AUTH
	Mechanism string   // the SASL mechanism used, "" without AUTH
	Data      []byte   // the message exactly as received (nil with DiscardBodies)
	Size      int64
	// The MAIL FROM parameters: SIZE= (0 without), BODY= ("" without)
	// and RET= ("" without).
	DeclaredSize int64
	Body         string
	Return       string
	// Notify is each accepted recipient's NOTIFY= list, joined with ","
	// ("" without), in the order of To.
	Notify []string
	SHA256 [sha256.Size]byte
}

// Server is a running test SMTP server.
type Server struct {
	opts     Options
	srv      *gosmtp.Server
	ln       net.Listener
	caPEM    []byte
	tlsDir   string
	serveErr chan error

	mu         sync.Mutex
	messages   []Received
	events     []string
	refuseAuth string
	noXOAUTH2  bool
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, serveErr: make(chan error, 1)}
	be := gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{s: s, conn: c}, nil
	})
	srv := gosmtp.NewServer(be)
	srv.Domain = opts.Domain
	if srv.Domain == "" {
		srv.Domain = "smtptest.local"
	}
	// Real mail can carry lines longer than RFC 5321's limit; the tests
	// check that such lines arrive unchanged, so the server accepts them.
	srv.MaxLineLength = 0
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.EnableDSN = opts.DSN
	srv.AllowInsecureAuth = opts.Security == Plain || opts.AuthBeforeTLS
	logTo := opts.Log
	if logTo == nil {
		logTo = io.Discard
	}
	srv.ErrorLog = log.New(logTo, "smtptest ", 0)
	s.srv = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen on 127.0.0.1: %w", err)
	}
	if opts.Security != Plain {
		certs, err := testcert.New("smtptest")
		if err != nil {
			ln.Close()
			return nil, err
		}
		cfg, caPEM := certs.ServerConfig(), certs.CAPEM
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.caPEM = caPEM
		srv.TLSConfig = cfg
		if opts.Security == ImplicitTLS {
			ln = tls.NewListener(ln, cfg)
		}
	}
	s.ln = ln
	go func() { s.serveErr <- srv.Serve(ln) }()
	return s, nil
}

// Addr is the listening address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the listening IP address, "127.0.0.1".
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the listening port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// CAPEM is the PEM certificate of the CA that signed the server's
// certificate (valid for 127.0.0.1, ::1 and localhost); nil for Plain.
func (s *Server) CAPEM() []byte { return s.caPEM }

// CAFile writes the CA certificate to a file owned by the server (removed
// by Close) and returns its path, for mail.Endpoint.CAFile.
func (s *Server) CAFile() (string, error) {
	if s.caPEM == nil {
		return "", errors.New("smtptest: a Plain server has no certificate")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsDir == "" {
		dir, err := os.MkdirTemp("", "smtptest-ca-")
		if err != nil {
			return "", fmt.Errorf("smtptest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), s.caPEM, 0o600); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("smtptest: %w", err)
		}
		s.tlsDir = dir
	}
	return filepath.Join(s.tlsDir, "ca.pem"), nil
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Events returns the transaction commands seen so far, e.g.
// "AUTH PLAIN", "MAIL FROM:<a@x>", "RCPT TO:<b@y>", "DATA".
func (s *Server) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// RefuseAuth makes every later AUTH attempt end with reply, a full SMTP
// reply line such as ReplyTenantDisabled. The empty string restores
// normal checking.
func (s *Server) RefuseAuth(reply string) {
	s.mu.Lock()
	s.refuseAuth = reply
	s.mu.Unlock()
}

// OfferXOAUTH2 switches the token mechanisms on or off for later
// connections (on by default when Options.Token is set).
func (s *Server) OfferXOAUTH2(on bool) {
	s.mu.Lock()
	s.noXOAUTH2 = !on
	s.mu.Unlock()
}

// Close stops the server, drops open connections and removes the CA file.
func (s *Server) Close() error {
	err := s.srv.Close()
	// Serve may not have registered the listener with go-smtp yet, in
	// which case srv.Close did not close it.
	s.ln.Close()
	if serr := <-s.serveErr; serr != nil && !errors.Is(serr, gosmtp.ErrServerClosed) && err == nil {
		err = serr
	}
	s.mu.Lock()
	if s.tlsDir != "" {
		os.RemoveAll(s.tlsDir)
		s.tlsDir = ""
	}
	s.mu.Unlock()
	return err
}

func (s *Server) event(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *Server) authRequired() bool { return len(s.opts.Users) > 0 || s.opts.Token != nil }

// refusal returns the configured refusal as an SMTP error, or nil.
func (s *Server) refusal() error {
	s.mu.Lock()
	reply := s.refuseAuth
	s.mu.Unlock()
	if reply == "" {
		return nil
	}
	return ParseReply(reply)
}

// ParseReply turns a reply line like "535 5.7.3 Authentication
// unsuccessful" into the go-smtp error that makes the server send exactly
// that line.
func ParseReply(reply string) *gosmtp.SMTPError {
	e := &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.NoEnhancedCode, Message: reply}
	code, rest, ok := strings.Cut(reply, " ")
	if n, err := strconv.Atoi(code); ok && err == nil && n >= 200 && n < 600 {
		e.Code, e.Message = n, rest
	}
	enh, text, ok := strings.Cut(e.Message, " ")
	parts := strings.Split(enh, ".")
	if ok && len(parts) == 3 {
		var ec gosmtp.EnhancedCode
		valid := true
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil {
				valid = false
				break
			}
			ec[i] = n
		}
		if valid {
			e.EnhancedCode, e.Message = ec, text
		}
	}
	return e
}

func badCredentials() error { return ParseReply(ReplyBadCredentials) }

type session struct {
	s    *Server
	conn *gosmtp.Conn

	user, mech string
	from       string
	to         []string
	notify     []string
	mailOpts   gosmtp.MailOptions
}

var _ gosmtp.AuthSession = (*session)(nil)

func (x *session) AuthMechanisms() []string {
	var mechs []string
	if len(x.s.opts.Users) > 0 {
		if len(x.s.opts.PasswordMechanisms) > 0 {
			mechs = append(mechs, x.s.opts.PasswordMechanisms...)
		} else {
			mechs = append(mechs, "PLAIN", "LOGIN")
		}
	}
	x.s.mu.Lock()
	tokens := x.s.opts.Token != nil && !x.s.noXOAUTH2
	x.s.mu.Unlock()
	if tokens {
		if len(x.s.opts.TokenMechanisms) > 0 {
			mechs = append(mechs, x.s.opts.TokenMechanisms...)
		} else {
			mechs = append(mechs, "XOAUTH2")
		}
	}
	return mechs
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	offered := false
	for _, m := range x.AuthMechanisms() {
		offered = offered || m == mech
	}
	if !offered {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	x.s.event("AUTH " + mech)
	ok := func(user string) {
		x.user, x.mech = user, mech
	}
	checkPassword := func(user, pass string) error {
		if err := x.s.refusal(); err != nil {
			return err
		}
		if want, found := x.s.opts.Users[user]; !found || want != pass {
			return badCredentials()
		}
		ok(user)
		return nil
	}
	checkToken := func(user, token string) error {
		if err := x.s.refusal(); err != nil {
			return err
		}
		if err := x.s.opts.Token(user, token); err != nil {
			var se *gosmtp.SMTPError
			if errors.As(err, &se) {
				return se
			}
			return badCredentials()
		}
		ok(user)
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return badCredentials()
			}
			return checkPassword(user, pass)
		}), nil
	case "LOGIN":
		return &loginServer{check: checkPassword}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: checkToken}, nil
	case "OAUTHBEARER":
		return &oauthBearerServer{check: checkToken}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (x *session) Mail(from string, o *gosmtp.MailOptions) error {
	if x.s.authRequired() && x.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	x.s.event("MAIL FROM:<" + from + ">")
	x.from = from
	x.mailOpts = gosmtp.MailOptions{}
	if o != nil {
		x.mailOpts = *o
	}
	return nil
}

func (x *session) Rcpt(to string, o *gosmtp.RcptOptions) error {
	x.s.event("RCPT TO:<" + to + ">")
	if x.s.opts.Rcpt != nil {
		if err := x.s.opts.Rcpt(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	var notify []string
	if o != nil {
		for _, n := range o.Notify {
			notify = append(notify, string(n))
		}
	}
	x.notify = append(x.notify, strings.Join(notify, ","))
	return nil
}

func (x *session) Data(r io.Reader) error {
	x.s.event("DATA")
	h := sha256.New()
	var body bytes.Buffer
	w := io.Writer(h)
	if !x.s.opts.DiscardBodies {
		w = io.MultiWriter(h, &body)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return err
	}
	m := Received{From: x.from, To: append([]string(nil), x.to...), User: x.user, Mechanism: x.mech, Size: n,
		DeclaredSize: x.mailOpts.Size, Body: string(x.mailOpts.Body), Return: string(x.mailOpts.Return),
		Notify: append([]string(nil), x.notify...)}
	copy(m.SHA256[:], h.Sum(nil))
	if !x.s.opts.DiscardBodies {
		m.Data = body.Bytes()
	}
	x.s.mu.Lock()
	x.s.messages = append(x.s.messages, m)
	x.s.mu.Unlock()
	return nil
}

// Reset is called for RSET and also after every DATA and EHLO; only the
// envelope is cleared, the login stays.
func (x *session) Reset() {
	x.from, x.to, x.notify = "", nil, nil
	x.mailOpts = gosmtp.MailOptions{}
}

func (x *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// does not provide.
type loginServer struct {
	check func(user, pass string) error
	user  *string
	step  int
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch {
	case l.step == 1 && response == nil:
		return []byte("Username:"), false, nil
	case l.user == nil:
		u := string(response)
		l.user = &u
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(*l.user, string(response))
	}
}

// xoauth2Server checks "user=U^Aauth=Bearer T^A^A". A refused token gets
// the JSON challenge first; the refusal follows the client's empty answer,
// as Google and Microsoft do.
type xoauth2Server struct {
	check  func(user, token string) error
	failed error
}

func (x *xoauth2Server) Next(response []byte) ([]byte, bool, error) {
	if x.failed != nil {
		return nil, true, x.failed
	}
	if response == nil {
		return []byte{}, false, nil
	}
	user, token, ok := parseXOAUTH2(string(response))
	if !ok {
		return nil, true, &gosmtp.SMTPError{Code: 501, EnhancedCode: gosmtp.EnhancedCode{5, 5, 2}, Message: "Malformed XOAUTH2 response"}
	}
	err := x.check(user, token)
	if err == nil {
		return nil, true, nil
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) && se.EnhancedCode == (gosmtp.EnhancedCode{5, 7, 139}) {
		// A tenant-wide refusal comes at once, without a challenge.
		return nil, true, err
	}
	x.failed = err
	return []byte(XOAUTH2Challenge), false, nil
}

func parseXOAUTH2(s string) (user, token string, ok bool) {
	fields := strings.Split(strings.TrimSuffix(s, "\x01\x01"), "\x01")
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "user="):
			user = strings.TrimPrefix(f, "user=")
		case strings.HasPrefix(strings.ToLower(f), "auth=bearer "):
			token = f[len("auth=bearer "):]
		}
	}
	return user, token, user != "" && token != ""
}

// oauthBearerServer wraps go-sasl's, whose refusals would otherwise reach
// the client as a generic 454.
type oauthBearerServer struct {
	check func(user, token string) error
	inner sasl.Server
	err   error
}

func (o *oauthBearerServer) Next(response []byte) ([]byte, bool, error) {
	if o.inner == nil {
		o.inner = sasl.NewOAuthBearerServer(func(opts sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if err := o.check(opts.Username, opts.Token); err != nil {
				o.err = err
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		})
	}
	challenge, done, err := o.inner.Next(response)
	if err != nil {
		if o.err != nil {
			return nil, true, o.err
		}
		return nil, true, badCredentials()
	}
	return challenge, done, nil
}
