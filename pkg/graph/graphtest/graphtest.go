// Package graphtest is a fake Microsoft Graph mail service for tests: an
// httptest server on 127.0.0.1 over an in-memory, multi-user mail store.
//
// It answers the requests pkg/graph makes, with the shapes, status codes
// and error codes Microsoft documents: /me and /users/{id|upn} prefixes;
// mailFolders by id or well-known name with childFolders ($filter on
// displayName, $top, $skip, @odata.nextLink, includeHiddenFolders); messages with $select, $filter (and-ed terms on isRead,
// receivedDateTime, subject, hasAttachments), $orderby, $top, $skip and
// @odata.nextLink; /messages/{id} GET, PATCH and DELETE; $value; move (201,
// new id); sendMail with a base64 MIME body (202, delivered to the fake's
// users and saved to Sent Items). Like Graph, it refuses a malformed id
// with 400 ErrorInvalidIdMalformed "Id is malformed.", another user's
// mailbox without a grant with 403 ErrorAccessDenied, a bad token with 401
// InvalidAuthenticationToken, a $filter whose order does not lead with the
// $orderby property with 400 InefficientFilter, and a request over 4 MB
// with 413.
//
// Tests inject throttling (Throttle), read request counters (Stats,
// Requests, Count) and build mailboxes with AddUser, AddFolder and
// AddMessage.
package graphtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxRequestBytes is the request body limit the fake enforces (413 above it).
const MaxRequestBytes = 4 << 20

// Options configure a Server.
type Options struct {
	// Authorize decides whose a bearer token is. It returns the user's
	// principal name, or an error that becomes 401 InvalidAuthenticationToken
	// with the error's text as message. Nil accepts the tokens IssueToken made.
	Authorize func(token string) (user string, err error)
	// ValueDelay holds every $value answer back this long before streaming,
	// so tests can observe concurrent downloads.
	ValueDelay time.Duration
}

// Server is the fake Graph. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give graph.Options.BaseURL (".../v1.0").
	URL string

	tb   testing.TB
	hs   *httptest.Server
	opts Options

	mu            sync.Mutex
	users         map[string]*user // by lower-cased principal name
	tokens        map[string]string
	grants        map[string]bool // caller + "\x00" + mailbox, lower-cased
	folders       map[string]*folder
	msgs          map[string]*message
	seq           uint64
	throttleN     int
	throttleAfter string
	inflight      int
	maxInflight   int
	throttled     int

	// logMu guards log alone: the log is written as a status goes out,
	// which some handlers do while holding mu.
	logMu sync.Mutex
	log   []Request
}

type user struct {
	id, upn, name string
	root          *folder
	wellKnown     map[string]*folder
	restDisabled  bool
}

type folder struct {
	id, name string
	hidden   bool // isHidden: left out of listings without includeHiddenFolders=true
	owner    *user
	parent   *folder
	children []*folder
}

type message struct {
	id                string
	seq               uint64
	folder            *folder
	received, sent    time.Time
	created, modified time.Time
	isRead            bool
	subject, msgID    string
	from              string
	to, cc, bcc       []string
	hasAttachments    bool
	size              int64
	raw               []byte
	open              func() (io.ReadCloser, error)
	changeKey         string
}

// Request is one request the fake answered.
type Request struct {
	Method string
	Path   string // escaped, after the /v1.0 prefix
	Query  string // raw query
	Caller string // the user the token belonged to ("" when refused)
	Status int
}

// Stats are the fake's request counters.
type Stats struct {
	Requests      int // all requests answered
	Throttled     int // answered 429 by Throttle
	MaxConcurrent int // the most requests in progress at the same time
}

// well-known folder names and the display names the fake creates them with.
var wellKnownNames = []struct{ key, name string }{
	{"inbox", "Inbox"}, {"drafts", "Drafts"}, {"sentitems", "Sent Items"}, {"deleteditems", "Deleted Items"},
	{"junkemail", "Junk Email"}, {"archive", "Archive"}, {"outbox", "Outbox"},
	{"conversationhistory", "Conversation History"},
}

// New starts a fake Graph on 127.0.0.1 and stops it when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{
		tb: tb, opts: opts,
		users: map[string]*user{}, tokens: map[string]string{}, grants: map[string]bool{},
		folders: map[string]*folder{}, msgs: map[string]*message{},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("graphtest: listen on 127.0.0.1: %v", err)
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.hs.Listener.Close()
	s.hs.Listener = l
	s.hs.Start()
	s.URL = s.hs.URL + "/v1.0"
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// Start runs a fake Graph outside a test (mailport demo). Misuse of the
// helpers panics instead of failing a test; Close stops it.
func Start(opts Options) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return New(panicTB{}, opts), nil
}

// panicTB is the testing.TB of a fake started outside a test. Embedding
// the interface satisfies its unexported method; only the methods the
// fake calls are implemented.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                           {}
func (panicTB) Cleanup(func())                    {}
func (panicTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// SetAuthorize replaces the bearer-token hook.
func (s *Server) SetAuthorize(fn func(token string) (string, error)) {
	s.mu.Lock()
	s.opts.Authorize = fn
	s.mu.Unlock()
}

// newID returns an id shaped like Exchange's: URL-safe base64 of a
// structure starting 00 03 24 (so it reads "AAMk..."), ending in "=".
func (s *Server) newID(kind byte) string {
	s.seq++
	b := make([]byte, 20)
	b[0], b[1], b[2], b[3] = 0x00, 0x03, 0x24, kind
	binary.BigEndian.PutUint64(b[4:], s.seq)
	rand.Read(b[12:])
	return base64.URLEncoding.EncodeToString(b)
}

// wellFormed reports whether id could be an id of the given kind.
func wellFormed(id string, kind byte) bool {
	b, err := base64.URLEncoding.DecodeString(id)
	return err == nil && len(b) == 20 && b[0] == 0x00 && b[1] == 0x03 && b[2] == 0x24 && b[3] == kind
}

const (
	kindFolder  = 'F'
	kindMessage = 'M'
)

// AddUser creates a user with a mailbox holding the well-known folders and
// returns the user's id. upn is the user principal name and mail address.
func (s *Server) AddUser(upn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(upn)
	if u, ok := s.users[key]; ok {
		return u.id
	}
	var gid [16]byte
	rand.Read(gid[:])
	h := hex.EncodeToString(gid[:])
	u := &user{id: h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], upn: upn,
		name: strings.SplitN(upn, "@", 2)[0], wellKnown: map[string]*folder{}}
	u.root = &folder{id: s.newID(kindFolder), name: "Top of Information Store", owner: u}
	s.folders[u.root.id] = u.root
	u.wellKnown["msgfolderroot"] = u.root
	for _, wk := range wellKnownNames {
		f := s.addChild(u.root, wk.name)
		u.wellKnown[wk.key] = f
	}
	s.users[key] = u
	return u.id
}

func (s *Server) addChild(parent *folder, name string) *folder {
	f := &folder{id: s.newID(kindFolder), name: name, owner: parent.owner, parent: parent}
	parent.children = append(parent.children, f)
	s.folders[f.id] = f
	return f
}

// IssueToken returns a new bearer token for upn, accepted when
// Options.Authorize is nil.
func (s *Server) IssueToken(upn string) string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := "fake-graph-token." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = upn
	s.mu.Unlock()
	return tok
}

// Grant lets caller open mailbox (delegated or shared-mailbox access).
func (s *Server) Grant(caller, mailbox string) {
	s.mu.Lock()
	s.grants[strings.ToLower(caller)+"\x00"+strings.ToLower(mailbox)] = true
	s.mu.Unlock()
}

// DisableREST makes the mailbox answer 404 MailboxNotEnabledForRESTAPI,
// as Graph does for on-premises and inactive mailboxes.
func (s *Server) DisableREST(upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(upn)]; u != nil {
		u.restDisabled = true
	}
}

// Throttle answers the next n requests with 429 ApplicationThrottled and
// the given Retry-After header ("" sends none).
func (s *Server) Throttle(n int, retryAfter string) {
	s.mu.Lock()
	s.throttleN, s.throttleAfter = n, retryAfter
	s.mu.Unlock()
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.logMu.Lock()
	n := len(s.log)
	s.logMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: n, Throttled: s.throttled, MaxConcurrent: s.maxInflight}
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many requests used method and had a path ending in suffix
// (e.g. Count("GET", "/$value"), Count("POST", "/sendMail")).
func (s *Server) Count(method, suffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func (s *Server) fatalf(format string, args ...any) {
	s.tb.Helper()
	s.tb.Fatalf("graphtest: "+format, args...)
}

// findFolder walks a path like "Inbox/Endpoint" (first part a well-known
// name or a display name under the root), creating missing parts when asked.
func (s *Server) findFolder(u *user, path string, create bool) *folder {
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return u.wellKnown["inbox"]
	}
	cur := u.root
	if f, ok := u.wellKnown[strings.ToLower(parts[0])]; ok {
		cur = f
		parts = parts[1:]
	}
	for _, name := range parts {
		var next *folder
		for _, c := range cur.children {
			if strings.EqualFold(c.name, name) {
				next = c
				break
			}
		}
		if next == nil {
			if !create {
				return nil
			}
			next = s.addChild(cur, name)
		}
		cur = next
	}
	return cur
}

func (s *Server) mustUser(upn string) *user {
	s.tb.Helper()
	u := s.users[strings.ToLower(upn)]
	if u == nil {
		s.fatalf("no user %q (call AddUser first)", upn)
	}
	return u
}

// AddFolder creates a folder path (and any missing parents) in upn's
// mailbox and returns the last folder's id.
func (s *Server) AddFolder(upn, path string) string {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findFolder(s.mustUser(upn), path, true).id
}

// HideFolder marks a folder path (created if missing) as hidden from mail
// clients, as Exchange's isHidden: mailFolders and childFolders leave it
// out unless the request says includeHiddenFolders=true.
func (s *Server) HideFolder(upn, path string) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.findFolder(s.mustUser(upn), path, true).hidden = true
}

// FolderID returns the id of a folder path, or "" when there is none.
func (s *Server) FolderID(upn, path string) string {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.findFolder(s.mustUser(upn), path, false); f != nil {
		return f.id
	}
	return ""
}

// Message is a message to add.
type Message struct {
	// Raw is the RFC 5322 message. Alternatively Open returns a fresh stream
	// of it on every call (for large messages that should not be held in memory).
	Raw      []byte
	Open     func() (io.ReadCloser, error)
	Received time.Time // zero: now
	IsRead   bool
}

// AddMessage adds a raw message to a folder path (created if missing) and
// returns its id.
func (s *Server) AddMessage(upn, path string, raw []byte) string {
	s.tb.Helper()
	return s.AddMessageWith(upn, path, Message{Raw: raw})
}

// AddMessageWith adds a message with explicit properties and returns its id.
func (s *Server) AddMessageWith(upn, path string, m Message) string {
	s.tb.Helper()
	open := m.Open
	if open == nil {
		raw := m.Raw
		open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	}
	rc, err := open()
	if err != nil {
		s.fatalf("open message: %v", err)
	}
	msg := &message{raw: m.Raw, open: m.Open, isRead: m.IsRead, received: m.Received}
	hdrErr := msg.readHeader(rc)
	rc.Close()
	if hdrErr != nil {
		s.fatalf("message header: %v", hdrErr)
	}
	if m.Open != nil {
		rc, err := m.Open()
		if err != nil {
			s.fatalf("open message: %v", err)
		}
		msg.size, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			s.fatalf("read message: %v", err)
		}
	} else {
		msg.size = int64(len(m.Raw))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.findFolder(s.mustUser(upn), path, true)
	s.store(msg, f)
	return msg.id
}

// store files msg into f with a new id.
func (s *Server) store(m *message, f *folder) {
	now := time.Now().UTC().Truncate(time.Second)
	if m.received.IsZero() {
		m.received = now
	}
	m.received = m.received.UTC()
	if m.created.IsZero() {
		m.created = now
	}
	m.modified = now
	m.folder = f
	m.id = s.newID(kindMessage)
	m.seq = s.seq
	m.changeKey = base64.StdEncoding.EncodeToString([]byte(m.id[:12]))
	s.msgs[m.id] = m
}

// readHeader fills the properties Graph derives from the MIME header.
func (m *message) readHeader(r io.Reader) error {
	pm, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	h := pm.Header
	dec := new(wordDecoder)
	m.subject = dec.decode(h.Get("Subject"))
	m.msgID = h.Get("Message-Id")
	if t, err := h.Date(); err == nil {
		m.sent = t.UTC()
	}
	if a, err := mail.ParseAddress(h.Get("From")); err == nil {
		m.from = a.Address
	}
	m.to, m.cc, m.bcc = addrs(h, "To"), addrs(h, "Cc"), addrs(h, "Bcc")
	m.hasAttachments = strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "multipart/mixed")
	return nil
}

func addrs(h mail.Header, field string) []string {
	var out []string
	for _, v := range h[field] {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			continue
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}

// MessageInfo describes a stored message.
type MessageInfo struct {
	ID                string
	Subject           string
	InternetMessageID string
	IsRead            bool
	Received          time.Time
	Size              int64
}

// Messages lists a folder's messages, oldest first; nil when the folder
// does not exist.
func (s *Server) Messages(upn, path string) []MessageInfo {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.findFolder(s.mustUser(upn), path, false)
	if f == nil {
		return nil
	}
	var out []MessageInfo
	for _, m := range s.sorted(f, false) {
		out = append(out, MessageInfo{ID: m.id, Subject: m.subject, InternetMessageID: m.msgID, IsRead: m.isRead, Received: m.received, Size: m.size})
	}
	return out
}

// Content returns a stored message's bytes.
func (s *Server) Content(id string) ([]byte, error) {
	s.mu.Lock()
	m := s.msgs[id]
	s.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("graphtest: no message %s", id)
	}
	rc, err := m.reader()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (m *message) reader() (io.ReadCloser, error) {
	if m.open != nil {
		return m.open()
	}
	return io.NopCloser(bytes.NewReader(m.raw)), nil
}

// sorted returns f's messages by received time (ties by arrival).
func (s *Server) sorted(f *folder, desc bool) []*message {
	var out []*message
	for _, m := range s.msgs {
		if m.folder == f {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.received.Equal(b.received) {
			if desc {
				return a.received.After(b.received)
			}
			return a.received.Before(b.received)
		}
		if desc {
			return a.seq > b.seq
		}
		return a.seq < b.seq
	})
	return out
}
