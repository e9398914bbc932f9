package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mailport/mailport/pkg/mail"
)

// Graph error codes callers commonly branch on. Graph has many more; Error
// keeps whatever code the service sent.
const (
	CodeInvalidIDMalformed   = "ErrorInvalidIdMalformed"
	CodeAccessDenied         = "ErrorAccessDenied"
	CodeItemNotFound         = "ErrorItemNotFound"
	CodeMailboxNotEnabled    = "MailboxNotEnabledForRESTAPI"
	CodeInvalidAuthToken     = "InvalidAuthenticationToken"
	CodeInvalidUser          = "ErrorInvalidUser"
	CodeApplicationThrottled = "ApplicationThrottled"
	CodeInefficientFilter    = "InefficientFilter"
)

// Error is an error answer from Microsoft Graph, decoded from its
// {"error":{"code","message","innerError"}} body. Callers branch on Code,
// not on Message, which Microsoft rewords from time to time.
type Error struct {
	StatusCode int    // the HTTP status
	Code       string // e.g. "ErrorInvalidIdMalformed"
	Message    string // e.g. "Id is malformed."
	RequestID  string // the request-id Microsoft support asks for
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: HTTP %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id " + e.RequestID + ")")
	}
	return b.String()
}

// ErrorCode returns the Graph error code in err's chain, or "" when err
// holds no *Error.
func ErrorCode(err error) string {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return ""
}

// errorBody is Graph's error envelope.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// maxErrorBody bounds how much of an error answer is read; Graph's are small.
const maxErrorBody = 64_000

// parseError reads an error response, at most maxErrorBody of it. A body
// that is not Graph's JSON (a proxy's HTML page, say) still yields an
// *Error with the HTTP status text. The error is the watch's when the
// server stalled the error body past Timeout.
func (c *Client) parseError(resp *http.Response) (*Error, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	var te *TimeoutError
	if errors.As(err, &te) {
		return nil, err
	}
	return decodeError(resp.StatusCode, resp.Header.Get("request-id"), raw, c.serverName()), nil
}

// decodeError makes an *Error of an error answer's status, request-id
// header and first maxErrorBody+1 octets.
func decodeError(status int, requestID string, raw []byte, server string) *Error {
	e := &Error{StatusCode: status, RequestID: requestID}
	if len(raw) > maxErrorBody {
		e.Message = fmt.Sprintf("%s (%s sent an error answer longer than %s, which Graph's never are; the rest was not read)",
			http.StatusText(status), server, sizeText(maxErrorBody))
		return e
	}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
		e.Code = clip(eb.Error.Code, 200)
		e.Message = clip(eb.Error.Message, 2000)
		if e.RequestID == "" {
			e.RequestID = clip(eb.Error.InnerError.RequestID, 200)
		}
		return e
	}
	e.Message = http.StatusText(status)
	if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 200 && utf8.ValidString(s) {
		e.Message += ": " + s
	}
	return e
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// authFailure is what Authenticate returns for 401/403: a *mail.AuthError
// (what every adapter returns for a refusal) that also unwraps to the
// *Error, so the diagnosis can match on the Graph code.
type authFailure struct {
	auth  *mail.AuthError
	graph *Error
}

func (a *authFailure) Error() string   { return a.auth.Error() }
func (a *authFailure) Unwrap() []error { return []error{a.auth, a.graph} }

// TooLargeError refuses a message that Graph's sendMail cannot take.
type TooLargeError struct {
	Size  int64 // octets of MIME read before giving up (at least Limit+1)
	Limit int64 // the largest MIME message sendMail can carry
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message is larger than %d bytes: Microsoft Graph sendMail accepts at most 4 MB per request, "+
		"which base64 leaves about 3 MB of MIME for; send it through an SMTP outbound account instead", e.Limit)
}

// opError is an error with the operation it broke, said once as
// "graph: OP: cause" even when the cause is itself one of this package's
// "graph: ..." errors.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "graph: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "graph: ")
}

func (e *opError) Unwrap() error { return e.err }

// wrapf names the operation (a format and its arguments) err broke.
func wrapf(err error, format string, args ...any) error {
	return &opError{op: fmt.Sprintf(format, args...), err: err}
}
