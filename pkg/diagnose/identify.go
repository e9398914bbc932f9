package diagnose

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// What answers on a port, told from its first bytes (or from its silence):
// a support person pointed at the IMAP port with a POP3 account must read
// "port 143 speaks IMAP", not a POP3 error about an IMAP reply.

// Kinds of peer identify tells apart.
const (
	peerIMAP   = "IMAP"
	peerPOP3   = "POP3"
	peerSMTP   = "SMTP"
	peerHTTP   = "HTTP"
	peerSSH    = "SSH"
	peerTLS    = "TLS"  // a TLS record where plain text was expected
	peerJunk   = "junk" // bytes of none of the above
	peerSilent = ""     // nothing at all
)

// maxFirstLine bounds what is read of a peer's first line: a greeting, an
// HTTP status line or an SSH banner are far shorter.
const maxFirstLine = 4 << 10

// identify names the protocol whose first bytes b are: IMAP (`* OK`,
// `* PREAUTH`, `* BYE`), POP3 (`+OK`, `-ERR`), SMTP (a 2xx, 4xx or 5xx
// reply code), HTTP (`HTTP/`), SSH (`SSH-`), TLS (an alert or handshake
// record: 0x15 or 0x16, then 0x03), peerJunk for anything else and
// peerSilent for nothing. Five bytes (a TLS record header's worth) are
// enough.
func identify(b []byte) string {
	if len(b) == 0 {
		return peerSilent
	}
	if len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03 {
		return peerTLS
	}
	up := bytes.ToUpper(b[:min(len(b), 16)])
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if bytes.HasPrefix(up, []byte(p)) {
				return true
			}
		}
		return false
	}
	switch {
	case has("* OK", "* PRE", "* BYE"):
		return peerIMAP
	case has("+OK", "-ERR"):
		return peerPOP3
	case has("HTTP/"):
		return peerHTTP
	case has("SSH-"):
		return peerSSH
	case isSMTPReply(b):
		return peerSMTP
	}
	return peerJunk
}

// isSMTPReply: three digits, the first 2, 4 or 5, then a space, a hyphen
// or the end of the line (RFC 5321 section 4.2).
func isSMTPReply(b []byte) bool {
	if len(b) < 3 || (b[0] != '2' && b[0] != '4' && b[0] != '5') || !isDigit(b[1]) || !isDigit(b[2]) {
		return false
	}
	return len(b) == 3 || b[3] == ' ' || b[3] == '-' || b[3] == '\r' || b[3] == '\n'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// protocolPeer is the peer kind of an account's protocol.
func protocolPeer(protocol string) string {
	switch protocol {
	case config.IMAP:
		return peerIMAP
	case config.POP3:
		return peerPOP3
	case config.SMTP:
		return peerSMTP
	}
	return ""
}

// errLineTooLong is a first line longer than maxFirstLine.
var errLineTooLong = errors.New("the line is longer than 4 KiB")

// readLine reads one line of at most br's buffer size (the caller's
// deadline on the connection bounds the wait) and returns it without its
// line end. On an error it returns what it read so far, which may be
// enough to tell what answered.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return string(line), errLineTooLong
	}
	if err != nil {
		return string(line), err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// readFirst reads from conn until a line end, maxFirstLine bytes, an
// error or the deadline, whichever comes first, after the prefix already
// read. It is for the bytes a TLS handshake found instead of a record.
func readFirst(conn net.Conn, prefix []byte, wait time.Duration) []byte {
	buf := make([]byte, maxFirstLine)
	n := copy(buf, prefix)
	if bytes.IndexByte(buf[:n], '\n') >= 0 {
		return buf[:n]
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if bytes.IndexByte(buf[n-m:n], '\n') >= 0 || err != nil {
			break
		}
	}
	return buf[:n]
}

// httpProbe is what mailport sends to a port that stays silent, to learn
// whether a web server listens there.
const httpProbe = "HEAD / HTTP/1.0\r\nUser-Agent: mailport-test\r\n\r\n"

// askHTTP sends httpProbe on conn and returns the first line of the
// answer ("" when none comes within wait).
func askHTTP(conn net.Conn, wait time.Duration) string {
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := conn.Write([]byte(httpProbe)); err != nil {
		return ""
	}
	return firstLine(readFirst(conn, nil, wait))
}

// firstLine is b up to its first line end, without it.
func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), "\r")
}

// shown is a peer's first line as the finding quotes it: valid UTF-8,
// control characters escaped, at most 60 bytes.
func shown(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "\uFFFD"))
}

// portFor describes the default port of the account's protocol with the
// account's encryption: (995, "POP3 over TLS").
func (r *runner) portFor(enc string) (int, string) {
	p := config.DefaultPort(r.acct.Protocol, enc)
	name := protocolPeer(r.acct.Protocol)
	switch enc {
	case config.SSL:
		return p, name + " over TLS"
	case config.StartTLS:
		return p, name + " with STARTTLS"
	}
	return p, name + " without encryption"
}

// wrongPeer reports, when kind is not the account's protocol, what
// answers on the port and what to change, and blocks the later checks; it
// returns whether it did. first is the peer's first line; overTLS says it
// came after a TLS handshake.
func (r *runner) wrongPeer(c *Check, kind, first string, overTLS bool) bool {
	own := protocolPeer(r.acct.Protocol)
	if kind == own || kind == peerSilent {
		return false
	}
	_, port, enc := r.target()
	right, rightName := r.portFor(string(enc))
	speaks := kind
	if overTLS {
		speaks += " over TLS"
	}
	usePort := fmt.Sprintf("use port %d (%s): `mailport account edit %s --port %d`", right, rightName, r.name, right)
	if right == port {
		usePort = fmt.Sprintf("the server has no %s on its usual port %d: ask its administrator for the %s port and set it with `mailport account edit %s --port ...`", rightName, right, own, r.name)
	}
	ev := r.evidence("tls")
	ev.Text, ev.own = first, true
	var cause, fix, saw string
	switch kind {
	case peerIMAP, peerPOP3, peerSMTP:
		ev.Reason = "wrong-protocol"
		saw = fmt.Sprintf("%s greeting %s", speaks, shown(first))
		cause = fmt.Sprintf("Port %d speaks %s, but the account is %s.", port, speaks, own)
		switch {
		case r.acct.Type == config.Inbound && kind != peerSMTP:
			fix = fmt.Sprintf("To read the mail as %s, %s; or change the account's protocol to the one that answers: `mailport account edit %s --protocol %s`.", own, usePort, r.name, strings.ToLower(kind))
		case kind == peerSMTP:
			fix = fmt.Sprintf("%s is for sending mail; to read it, %s.", kind, usePort)
		default:
			fix = fmt.Sprintf("%s is for reading mail; to send it, %s.", kind, usePort)
		}
	case peerHTTP:
		ev.Reason = "http-on-port"
		web := "HTTP"
		if overTLS {
			web = "HTTPS"
		}
		saw = fmt.Sprintf("%s answer %s", web, shown(first))
		cause = fmt.Sprintf("Port %d is a web server's: it speaks %s, not %s.", port, web, own)
		fix = fmt.Sprintf("Point the account at the mail server: %s, and check the host (`mailport account edit %s --host ...`).", usePort, r.name)
	case peerSSH:
		ev.Reason = "ssh-on-port"
		saw = fmt.Sprintf("SSH banner %s", shown(first))
		cause = fmt.Sprintf("Port %d is an SSH server's, not %s.", port, own)
		fix = fmt.Sprintf("Point the account at the mail server: %s.", usePort)
	case peerTLS:
		ev.Reason = "tls-on-plain-port"
		tr, trName := r.portFor(string(enc))
		saw = "a TLS record where a greeting was due"
		cause = fmt.Sprintf("Port %d answered with a TLS record, so it speaks TLS from the first byte, while the account says encryption %s.", port, enc)
		fix = fmt.Sprintf("Use encryption ssl on this port (`mailport account edit %s --encryption ssl`), or port %d (%s) with %s.", r.name, tr, trName, enc)
	default:
		ev.Reason = "junk-on-port"
		saw = fmt.Sprintf("unrecognised bytes %s", shown(first))
		cause = fmt.Sprintf("Port %d answers with bytes that are neither %s nor any protocol mailport recognises (IMAP, POP3, SMTP, HTTP, SSH, TLS).", port, own)
		fix = fmt.Sprintf("Check the host and port with the server's administrator; for %s, %s.", own, usePort)
	}
	r.findExact(c, Fail, ev, cause, fix)
	c.Saw = saw
	r.block(needNet, fmt.Sprintf("port %d does not speak %s", port, own))
	return true
}

// tlsOnPlainPort reports a port that speaks TLS from the first byte while
// the account expects a plain greeting.
func (r *runner) tlsOnPlainPort(c *Check, ev *Evidence) {
	_, port, enc := r.target()
	right, rightName := r.portFor(string(enc))
	ev.Reason = "tls-on-plain-port"
	fix := fmt.Sprintf("Use encryption ssl on this port (`mailport account edit %s --encryption ssl`), or port %d (%s) with encryption %s.", r.name, right, rightName, enc)
	if right == port {
		fix = fmt.Sprintf("Use encryption ssl on this port: `mailport account edit %s --encryption ssl`.", r.name)
	}
	r.findExact(c, Fail, ev, fmt.Sprintf("Port %d speaks TLS from the first byte (implicit TLS), while the account says encryption %s, so the server waits for a handshake while mailport waits for a greeting.", port, enc), fix)
}

// plainOnTLSPort reports a port of the account's protocol that answers in
// plain text while the account says ssl.
func (r *runner) plainOnTLSPort(c *Check, ev *Evidence, first string) {
	_, port, _ := r.target()
	right, rightName := r.portFor(config.SSL)
	ev.Reason = "plain-on-tls-port"
	fix := fmt.Sprintf("Use encryption starttls on this port (`mailport account edit %s --encryption starttls`), or port %d (%s) with encryption ssl.", r.name, right, rightName)
	if right == port {
		fix = fmt.Sprintf("Use encryption starttls on this port: `mailport account edit %s --encryption starttls`.", r.name)
	}
	r.findExact(c, Fail, ev, fmt.Sprintf("Port %d answered in plain text (%s), so it is a STARTTLS or plain port, while the account says encryption ssl.", port, shown(first)), fix)
}

// findExact adds a finding with the catalog's entry but the check's own
// cause and fix, which say all the catalog's do and name the port: one
// statement, not the specific one followed by the general one. An empty
// fix keeps the catalog's.
func (r *runner) findExact(c *Check, st Status, ev *Evidence, cause, fix string) {
	r.find(c, st, ev, cause, fix)
	f := &c.Findings[len(c.Findings)-1]
	f.Cause = cause
	if fix != "" {
		f.Fix = fix
	}
}
