package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
)

// Body says what SendMessage knows of a message's octets.
type Body int

const (
	// BodyUnknown: the content is not known. BODY=8BITMIME is declared
	// whenever the server offers 8BITMIME, as Send always did, and nothing
	// is refused for want of it.
	BodyUnknown Body = iota
	// Body7Bit: every octet is below 0x80 (as mailport's composer writes
	// them: quoted-printable, base64 and RFC 2047). No BODY= is declared.
	Body7Bit
	// Body8Bit: some octet is 0x80 or above. The server must offer
	// 8BITMIME, and BODY=8BITMIME is declared.
	Body8Bit
)

// SendOptions are what SendMessage knows and is asked beyond the
// envelope. The zero value is Send's behaviour.
type SendOptions struct {
	// Size is the message's size in octets when it is known before sending
	// (0: unknown). It is declared with SIZE= when the server offers SIZE,
	// and a message larger than the server's announced limit is refused
	// before MAIL FROM (ErrTooLarge).
	Size int64
	// Measure, when Size is 0, finds the size (say, by composing the
	// message once more into a counter); it is called only when the server
	// announces a SIZE limit, and its answer is used as Size is.
	Measure func() (int64, error)
	// Body is what is known of the message's octets.
	Body Body
	// Notify asks for delivery status notifications (RFC 3461) with
	// NOTIFY= on every RCPT TO: any of "SUCCESS", "FAILURE", "DELAY", or
	// "NEVER" alone. Empty leaves it to the server (failures only).
	Notify []string
	// Return is what a notification carries back, with RET= on MAIL FROM:
	// "FULL" (the whole message) or "HDRS" (its header); "" leaves it to
	// the server.
	Return string
	// Partial sends the message to the accepted recipients when some are
	// refused (the Report lists the refused ones); without it a refusal
	// sends nothing.
	Partial bool
}

// Report is what SendMessage did with the envelope's recipients.
type Report struct {
	Accepted []string           // recipients the server took, in order
	Refused  []RefusedRecipient // recipients it refused, with its words
}

// RefusedRecipient is one recipient the server refused at RCPT TO.
type RefusedRecipient struct {
	Address string
	Code    int    // e.g. 550
	Text    string // the server's words, e.g. "5.1.1 <x@example.com>: Recipient address rejected"
}

// Reply is the server's reply as it came: "550 5.1.1 ...".
func (r RefusedRecipient) Reply() string {
	return strings.TrimSpace(strconv.Itoa(r.Code) + " " + r.Text)
}

// RecipientsRefusedError is the refusal of one or more recipients when
// nothing was sent: every refused address with the server's reply.
type RecipientsRefusedError struct {
	Server  string // host:port
	Refused []RefusedRecipient
	Total   int // the recipients tried
}

func (e *RecipientsRefusedError) Error() string {
	var b strings.Builder
	if len(e.Refused) == e.Total {
		fmt.Fprintf(&b, "the SMTP server %s refused every recipient, so nothing was sent: ", e.Server)
	} else {
		fmt.Fprintf(&b, "the SMTP server %s refused %d of %s, so nothing was sent (--partial sends to the others): ",
			e.Server, len(e.Refused), plural.Of(e.Total, "recipient", "recipients"))
	}
	for i, r := range e.Refused {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Address + ": " + r.Reply())
	}
	return b.String()
}

// Unwrap gives each refusal as a *ReplyError naming its RCPT TO command,
// for callers that look for the server's words with errors.As.
func (e *RecipientsRefusedError) Unwrap() []error {
	errs := make([]error, 0, len(e.Refused))
	for _, r := range e.Refused {
		errs = append(errs, &ReplyError{Command: "RCPT TO:<" + r.Address + ">", Code: r.Code, Text: r.Text})
	}
	return errs
}

// Refusals of a message before any command is sent, because the server's
// EHLO says it would not take it; the errors SendMessage returns wrap them
// (test with errors.Is) and say more: the sizes, the server.
var (
	// ErrTooLarge: the message is larger than the server's SIZE limit.
	ErrTooLarge = errors.New("the message is larger than the SMTP server takes")
	// ErrNo8BitMIME: an 8-bit message to a server without 8BITMIME.
	ErrNo8BitMIME = errors.New("the SMTP server does not take 8-bit mail")
	// ErrNoDSN: delivery status notifications asked of a server without DSN.
	ErrNoDSN = errors.New("the SMTP server does not offer delivery status notifications")
)

// ParseNotify checks a --dsn value: a comma-separated list of success,
// failure and delay, or never alone (any case). It returns the keywords
// NOTIFY= takes, upper-cased.
func ParseNotify(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, given := range strings.Split(s, ",") {
		v := strings.ToUpper(strings.TrimSpace(given))
		switch v {
		case "SUCCESS", "FAILURE", "DELAY", "NEVER":
		default:
			return nil, fmt.Errorf("%q is not a notification: use success, failure and delay (comma-separated), or never", strings.TrimSpace(given))
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if seen["NEVER"] && len(out) > 1 {
		return nil, errors.New("never cannot be combined with success, failure or delay")
	}
	return out, nil
}

// ParseReturn checks a --dsn-ret value: full or hdrs (any case).
func ParseReturn(s string) (string, error) {
	switch v := strings.ToUpper(strings.TrimSpace(s)); v {
	case "FULL", "HDRS":
		return v, nil
	}
	return "", fmt.Errorf("%q is not what a notification returns: use full (the whole message) or hdrs (its header)", s)
}

// mailParams checks opts against the server's EHLO and returns the
// parameters of MAIL FROM, each with its leading space.
func (c *Client) mailParams(env mail.Envelope, opts SendOptions) (string, error) {
	if err := checkOptions(opts); err != nil {
		return "", err
	}
	_, hasSize := c.ext["SIZE"]
	_, has8Bit := c.ext["8BITMIME"]
	_, hasDSN := c.ext["DSN"]
	if (len(opts.Notify) > 0 || opts.Return != "") && !hasDSN {
		return "", &replyError{kind: ErrNoDSN, text: fmt.Sprintf("the SMTP server %s does not offer DSN, so it cannot send the delivery notifications asked for; send without --dsn", c.ep.Addr())}
	}
	if opts.Body == Body8Bit && !has8Bit {
		return "", &replyError{kind: ErrNo8BitMIME, text: fmt.Sprintf("the message has 8-bit octets but the SMTP server %s does not take 8-bit mail (no 8BITMIME); re-encode its 8-bit parts as quoted-printable or base64", c.ep.Addr())}
	}
	if opts.Size == 0 && opts.Measure != nil && c.MaxMessageSize() > 0 {
		n, err := opts.Measure()
		if err != nil {
			return "", fmt.Errorf("measure the message: %w", err)
		}
		opts.Size = n
	}
	if limit := c.MaxMessageSize(); limit > 0 && opts.Size > limit {
		return "", &replyError{kind: ErrTooLarge, text: fmt.Sprintf("the message is %s but the SMTP server %s takes at most %s",
			plural.Of(opts.Size, "octet", "octets"), c.ep.Addr(), plural.Of(limit, "octet", "octets"))}
	}
	params := ""
	if hasSize && opts.Size > 0 {
		params += " SIZE=" + strconv.FormatInt(opts.Size, 10)
	}
	if has8Bit && opts.Body != Body7Bit {
		params += " BODY=8BITMIME"
	}
	utf8 := !isASCII(env.From)
	for _, to := range env.To {
		utf8 = utf8 || !isASCII(to)
	}
	if utf8 {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return "", fmt.Errorf("%s does not offer SMTPUTF8, so it cannot take the non-ASCII address in the envelope", c.ep.Addr())
		}
		params += " SMTPUTF8"
	}
	if opts.Return != "" {
		params += " RET=" + opts.Return
	}
	return params, nil
}

// checkOptions refuses options that would put something else than a
// keyword into a command line.
func checkOptions(opts SendOptions) error {
	if len(opts.Notify) > 0 {
		if _, err := ParseNotify(strings.Join(opts.Notify, ",")); err != nil {
			return fmt.Errorf("delivery notifications: %w", err)
		}
	}
	if opts.Return != "" {
		if _, err := ParseReturn(opts.Return); err != nil {
			return err
		}
	}
	if opts.Size < 0 {
		return fmt.Errorf("a message size of %s is not possible", plural.Of(opts.Size, "octet", "octets"))
	}
	return nil
}
