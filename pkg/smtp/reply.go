package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// Limits on a reply. No honest server comes near them (RFC 5321 allows
// 512 octets a line; a long EHLO reply has about 20 lines); a server that
// passes one is broken or hostile, and the client stops rather than grow
// without bound.
const (
	maxLine       = 64 << 10 // one reply line
	maxReplyLines = 1000     // the lines of one reply
	maxReply      = 1 << 20  // the octets of one reply
)

// Sentinels for the ways a server can misbehave; the errors that Dial and
// the Client's methods return wrap them (test with errors.Is).
var (
	// ErrLineTooLong: the server sent a reply line longer than 64 KiB.
	ErrLineTooLong = errors.New("the SMTP server sent a reply line longer than 64 KiB")
	// ErrReplyTooLong: a reply passed 1,000 lines or 1 MiB.
	ErrReplyTooLong = errors.New("the SMTP server sent a reply longer than 1,000 lines or 1 MiB")
	// ErrEndlessReply: the server kept sending a reply for a whole step
	// timeout without finishing it.
	ErrEndlessReply = errors.New("the SMTP server kept sending without finishing its reply")
	// ErrBadReply: a reply line that is not an SMTP reply ("250 ..." or
	// "250-...").
	ErrBadReply = errors.New("the SMTP server's reply breaks the protocol")
	// ErrNotSMTP: the greeting is not an SMTP reply (for example an IMAP,
	// POP3 or HTTP server on the port).
	ErrNotSMTP = errors.New("the server does not speak SMTP")
)

// replyError is one sentence about a reply that breaks a rule; it unwraps
// to a sentinel.
type replyError struct {
	text string
	kind error
	line string // the offending line, for ErrBadReply
}

func (e *replyError) Error() string { return e.text }
func (e *replyError) Unwrap() error { return e.kind }

// readReply reads one reply (RFC 5321 section 4.2): lines "CODE-text"
// ending with "CODE text" (or a bare "CODE"), all with the same code. The
// text is the lines' texts joined with "\n", as net/textproto returns it.
// A line is at most maxLine octets, a reply at most maxReplyLines lines
// and maxReply octets; the reader is left where the reply ended.
func readReply(br *bufio.Reader) (code int, msg string, err error) {
	var text strings.Builder
	total := 0
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return 0, "", err
		}
		total += len(line) + 2
		if n == maxReplyLines || total > maxReply {
			return 0, "", &replyError{text: ErrReplyTooLong.Error(), kind: ErrReplyTooLong}
		}
		c, more, rest, ok := parseLine(line)
		if !ok || (n > 0 && c != code) {
			what := "a line that is not an SMTP reply"
			if ok {
				what = fmt.Sprintf("a line with code %d inside a reply with code %d", c, code)
			}
			return 0, "", &replyError{text: fmt.Sprintf("the server sent %s: %s", what, quote(line)), kind: ErrBadReply, line: line}
		}
		code = c
		if n > 0 {
			text.WriteByte('\n')
		}
		text.WriteString(rest)
		if !more {
			return code, text.String(), nil
		}
	}
}

// readLine reads one line without its CRLF (or bare LF, and any more CRs
// before it).
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine+2 {
			return "", &replyError{text: ErrLineTooLong.Error(), kind: ErrLineTooLong}
		}
		switch err {
		case nil:
			if buf == nil {
				buf = chunk // no copy: converted to a string below
			} else {
				buf = append(buf, chunk...)
			}
			// Every CR before the LF goes: a stray one ("250-x\r\r\n")
			// would otherwise leave a CRLF inside the joined reply text.
			line := strings.TrimRight(strings.TrimSuffix(string(buf), "\n"), "\r")
			return line, nil
		case bufio.ErrBufferFull:
			buf = append(buf, chunk...)
		default:
			return "", err
		}
	}
}

// parseLine splits "250-text", "250 text" or "250" into its code, whether
// more lines follow, and the text.
func parseLine(line string) (code int, more bool, text string, ok bool) {
	if len(line) < 3 {
		return 0, false, "", false
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", false
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 200 || code > 599 {
		return 0, false, "", false
	}
	switch {
	case len(line) == 3:
		return code, false, "", true
	case line[3] == ' ':
		return code, false, line[4:], true
	case line[3] == '-':
		return code, true, line[4:], true
	}
	return 0, false, "", false
}

// notSMTP explains a greeting line that is not an SMTP reply.
func notSMTP(line string) error {
	what := ""
	switch {
	case strings.HasPrefix(line, "+OK"):
		what = " (a POP3 server's greeting: use protocol pop3 for an inbound account, or the SMTP port, usually 587 or 465)"
	case strings.HasPrefix(line, "* OK") || strings.HasPrefix(line, "* PREAUTH") || strings.HasPrefix(line, "* BYE"):
		what = " (an IMAP server's greeting: the port is an IMAP port, SMTP submission is usually 587 or 465)"
	case strings.HasPrefix(line, "HTTP/"):
		what = " (a web server's answer: the port is not a mail port)"
	case strings.HasPrefix(line, "\x16\x03"):
		what = " (a TLS handshake: use encryption ssl)"
	}
	return &replyError{text: fmt.Sprintf("the server did not greet with an SMTP reply, so it is not an SMTP server: it sent %s%s", quote(line), what), kind: ErrNotSMTP}
}

// quote quotes what the server sent for an error message, cut to 100
// octets.
func quote(s string) string {
	if len(s) > 100 {
		return fmt.Sprintf("%q…", s[:100])
	}
	return fmt.Sprintf("%q", s)
}
