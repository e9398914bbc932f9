package imap

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Limits on what a server may send outside message bodies. No honest server
// comes near them; each is far below what would strain memory, because
// imapclient builds every atom, quoted string and non-body literal in memory
// before it hands it over.
const (
	// maxLine bounds one response line, counting any non-body literal in it.
	maxLine = 256 << 10
	// maxSearchLine bounds the UID SEARCH line: 1 000 000 UIDs of up to
	// ten digits each fit. A folder holding fewer messages gets less
	// (see search); read to this limit, the worst line (UIDs that never
	// form a range) grows the heap by some 40 MB.
	maxSearchLine = 12 << 20
	// maxStep bounds everything a server sends outside message bodies
	// while one command runs (or between two commands).
	maxStep = 4 << 20
	// maxSearchStep is maxStep for UID SEARCH.
	maxSearchStep = 16 << 20
	// maxPerMessage bounds what may come outside the body for one fetched
	// message (an honest reply has about 50 bytes).
	maxPerMessage = 4 << 20
	// maxListing is the most messages List returns for one folder: the
	// listing of a million messages already takes some 60 MB.
	maxListing = 1_000_000
	// listingBatch is how many UIDs one listing UID FETCH asks for; each
	// batch is one network step with its own deadline.
	listingBatch = 1000
	// maxListingLiteral is the largest literal accepted in a listing reply
	// (which asks for none).
	maxListingLiteral = 64 << 10
	// slackBody is how far a message's literal may pass twice its
	// RFC822.SIZE before it is refused unread (Exchange's sizes are not
	// exact, but never off by a factor of two); Graph and POP3 use the
	// same bound.
	slackBody = 16_000_000
	// minBodyRate is the slowest average rate at which a message body may
	// arrive, beyond one step timeout of grace.
	minBodyRate = 4 << 10
	// maxNesting is the deepest a line may nest parentheses: imapclient
	// reads nested lists by recursion and wraps its error once per level
	// on the way out, so 250 000 "(" in a BODY item took it 30 s and
	// 300 MB of stack. An honest BODYSTRUCTURE nests a level or two per
	// MIME level.
	maxNesting = 100
	// maxWords is how much of a server's own words (a refusal, a
	// challenge) an error keeps.
	maxWords = 500
	// maxGreeting bounds the greeting and STARTTLS response lines we read ourselves.
	maxGreeting = 8192
)

// A ServerError reports an IMAP server that broke the protocol or sent
// more than mailport accepts: an endless line, a huge literal where none
// was asked for, a flood of responses, invalid UIDs, no UIDVALIDITY, or a
// greeting of another protocol. Its Error is one sentence that names the
// server and what it did.
type ServerError struct {
	Addr string    // host:port
	Kind FaultKind // what went wrong, for callers that branch on it
	// Did is what the server did, e.g. "sent a line longer than 1024 KiB
	// in a capability reply".
	Did string
}

func (e *ServerError) Error() string {
	return "the IMAP server at " + e.Addr + " " + e.Did
}

// FaultKind classifies a ServerError.
type FaultKind string

const (
	FaultLineTooLong   FaultKind = "line-too-long"   // a line past the line limit
	FaultLiteralTooBig FaultKind = "literal-too-big" // a literal where none was asked for, or too big
	FaultFlood         FaultKind = "flood"           // too much data for one command
	FaultNotIMAP       FaultKind = "not-imap"        // the greeting is another protocol's or junk
	FaultBadUID        FaultKind = "bad-uid"         // UID 0, too many UIDs, UIDs never asked for
	FaultNoUIDValidity FaultKind = "no-uidvalidity"  // SELECT without a usable UIDVALIDITY
	FaultTooSlow       FaultKind = "too-slow"        // a message body slower than the minimum rate
	FaultBadCapability FaultKind = "bad-capability"  // a capability list go-imap cannot parse without looping forever
	FaultTooDeep       FaultKind = "too-deep"        // parentheses nested past maxNesting
)

// meter counts what the server sends outside message bodies and fails the
// read that goes past a limit. It sits under imapclient's buffered reader,
// so it sees bytes a little before the decoder does; it does not parse
// IMAP, it only counts, so no server can make it disagree with the decoder
// about where a line ends in a way that lifts a limit.
//
// Message bodies are read through a stepReader, which marks the connection
// as in a body while it reads; those bytes are not counted (they stream to
// the caller and never sit in memory).
type meter struct {
	addr string

	mu     sync.Mutex
	line   int64  // most bytes of a line
	step   int64  // most bytes for the current step
	what   string // the reply being read, e.g. "a capability reply"
	used   int64  // bytes counted in the current step
	cur    int64  // bytes of the current line so far
	lit    int64  // size of the literal the current line began with (a "{N}" marker), 0 if none
	tail   [24]byte
	ntail  int
	inBody bool
	fault  *ServerError
	caps   capGuard
	depth  int // parentheses open on the current line
}

func newMeter(addr string) *meter {
	return &meter{addr: addr, line: maxLine, step: maxStep, what: "a reply"}
}

// reset starts a new step: what names the reply for errors.
func (m *meter) reset(what string, line, step int64) {
	m.mu.Lock()
	m.what, m.line, m.step, m.used = what, line, step, 0
	m.mu.Unlock()
}

// body marks the start or end of reading a message body.
func (m *meter) body(on bool) {
	m.mu.Lock()
	m.inBody = on
	if !on {
		// The body ends a line as far as length goes: what follows is
		// the rest of the FETCH response, counted afresh.
		m.cur, m.lit, m.ntail = 0, 0, 0
		m.caps = capGuard{n: -1}
	}
	m.mu.Unlock()
}

// received returns the bytes counted in the current step.
func (m *meter) received() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// err returns the limit that was passed, or nil.
func (m *meter) err() *ServerError {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fault
}

// setFault records f unless a fault is recorded already, and returns the
// recorded one.
func (m *meter) setFault(f *ServerError) *ServerError {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault == nil {
		m.fault = f
	}
	return m.fault
}

// count notes p, just read from the server, and returns the fault when a
// limit has been passed.
func (m *meter) count(p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault != nil {
		return m.fault
	}
	if m.inBody {
		return nil
	}
	m.used += int64(len(p))
	for q := p; len(q) > 0; {
		i := bytes.IndexAny(q, "()\n")
		if i < 0 {
			break
		}
		switch q[i] {
		case '(':
			m.depth++
		case ')':
			m.depth = max(0, m.depth-1)
		default:
			m.depth = 0
		}
		if m.depth > maxNesting {
			m.fault = &ServerError{Addr: m.addr, Kind: FaultTooDeep, Did: fmt.Sprintf("sent parentheses nested more than %d deep in %s", maxNesting, m.what)}
			return m.fault
		}
		q = q[i+1:]
	}
	if m.caps.feed(p) {
		m.fault = &ServerError{Addr: m.addr, Kind: FaultBadCapability, Did: fmt.Sprintf("sent a capability list with \"(\" in it in %s, which no capability holds", m.what)}
		return m.fault
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m.cur += int64(len(p))
			m.keepTail(p)
			break
		}
		m.cur += int64(i)
		if m.cur > m.line {
			break
		}
		m.keepTail(p[:i])
		m.lit = literalMarker(m.tail[:m.ntail])
		m.cur, m.ntail = 0, 0
		p = p[i+1:]
	}
	switch {
	case m.cur > m.line && m.lit > 0:
		m.fault = &ServerError{Addr: m.addr, Kind: FaultLiteralTooBig, Did: fmt.Sprintf("sent a %s literal in %s (the limit is %s)", humanBytes(m.lit), m.what, kib(m.line))}
	case m.cur > m.line:
		m.fault = &ServerError{Addr: m.addr, Kind: FaultLineTooLong, Did: fmt.Sprintf("sent a line longer than %s in %s", kib(m.line), m.what)}
	case m.used > m.step:
		m.fault = &ServerError{Addr: m.addr, Kind: FaultFlood, Did: fmt.Sprintf("sent more than %s in %s without finishing it", kib(m.step), m.what)}
	default:
		return nil
	}
	return m.fault
}

// keepTail keeps the last bytes of the current line.
func (m *meter) keepTail(b []byte) {
	if len(b) >= len(m.tail) {
		m.ntail = copy(m.tail[:], b[len(b)-len(m.tail):])
		return
	}
	if m.ntail+len(b) > len(m.tail) {
		drop := m.ntail + len(b) - len(m.tail)
		copy(m.tail[:], m.tail[drop:m.ntail])
		m.ntail -= drop
	}
	m.ntail += copy(m.tail[m.ntail:], b)
}

// literalMarker returns N when line (the end of a line without its LF)
// ends with "{N}" or "{N}\r", else 0.
func literalMarker(line []byte) int64 {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(string(line[i+1:len(line)-1]), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// kib formats a limit: "1024 KiB".
func kib(n int64) string { return strconv.FormatInt(n>>10, 10) + " KiB" }

// humanBytes formats a size a server announced, in decimal units: "10 GB".
func humanBytes(n int64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB", "PB", "EB"}
	f, u := float64(n), 0
	for f >= 1000 && u < len(units)-1 {
		f /= 1000
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = trimZero(s)
	return s + " " + units[u]
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

// capGuard spots a capability list with a "(" in it: go-imap's
// readCapabilities (v2.0.0-beta.8) then loops forever without reading
// another byte, so neither a deadline nor closing the connection ends it.
// No capability can hold "(", so refusing such a line costs an honest
// server nothing. It watches the start of each line for "* CAPABILITY" or
// a status response with a [CAPABILITY ...] code, and then the list up to
// its "]" or the line's end.
type capGuard struct {
	head [48]byte
	n    int  // bytes of head so far; -1 when past the start of the line
	in   bool // inside a capability list
}

// feed notes p and reports whether it completed such a list.
func (g *capGuard) feed(p []byte) bool {
	for len(p) > 0 {
		switch {
		case g.in:
			i := bytes.IndexAny(p, "(]\n")
			if i < 0 {
				return false
			}
			switch p[i] {
			case '(':
				return true
			case ']':
				g.in, g.n = false, -1
			default:
				g.in, g.n = false, 0
			}
			p = p[i+1:]
		case g.n < 0:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return false
			}
			g.n, p = 0, p[i+1:]
		default:
			b := p[0]
			p = p[1:]
			if b == '\n' {
				g.n = 0
				continue
			}
			g.head[g.n] = b
			g.n++
			if capsStart(g.head[:g.n]) {
				g.in = true
			} else if g.n == len(g.head) {
				g.n = -1
			}
		}
	}
	return false
}

// capsStart reports whether head is "* CAPABILITY" or "TAG STATUS
// [CAPABILITY", where imapclient starts reading a capability list.
func capsStart(head []byte) bool {
	const word = "CAPABILITY"
	if len(head) < len(word) || !bytes.EqualFold(head[len(head)-len(word):], []byte(word)) {
		return false
	}
	before := string(head[:len(head)-len(word)])
	if before == "* " {
		return true
	}
	tag, rest, ok := strings.Cut(before, " ")
	if !ok || tag == "" {
		return false
	}
	status, code, ok := strings.Cut(rest, " ")
	switch strings.ToUpper(status) {
	case "OK", "NO", "BAD", "PREAUTH", "BYE":
		return ok && code == "["
	}
	return false
}
