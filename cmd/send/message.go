package send

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/compose"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
)

// message is what run sends: the envelope, the bytes and what is known of
// them.
type message struct {
	env       mail.Envelope
	body      io.ReadCloser
	messageID string
	opts      smtp.SendOptions
}

// message builds what would be sent: the composed or --raw message, its
// envelope and the SMTP options (size, 8-bit, DSN, --partial).
func (o *Options) message(f *cmdutil.Factory, a *config.Account) (*message, error) {
	to, err := compose.SplitAddresses(o.To)
	if err != nil {
		return nil, cmdutil.FlagErrorf("--to: %v", err)
	}
	cc, err := compose.SplitAddresses(o.Cc)
	if err != nil {
		return nil, cmdutil.FlagErrorf("--cc: %v", err)
	}
	bcc, err := compose.SplitAddresses(o.Bcc)
	if err != nil {
		return nil, cmdutil.FlagErrorf("--bcc: %v", err)
	}
	from := o.From
	if from == "" {
		from = a.Login
	} else {
		// Checked here for --raw too, whose envelope takes the bare address.
		bare, err := compose.ParseAddress(o.From)
		if err != nil {
			return nil, cmdutil.FlagErrorf("--from: %v", err)
		}
		if o.Raw != "" {
			from = bare
		}
	}
	msg := &message{opts: smtp.SendOptions{Partial: o.Partial}}
	if o.DSN != "" {
		msg.opts.Notify, _ = smtp.ParseNotify(o.DSN) // checked by check
	}
	if o.DSNRet != "" {
		msg.opts.Return, _ = smtp.ParseReturn(o.DSNRet)
	}
	if o.Raw != "" {
		raw, err := compose.OpenRaw(o.Raw, f.IO.In)
		if err != nil {
			return nil, cmdutil.FlagErrorf("--raw: %v", err)
		}
		rcpts := append(append(append([]string{}, to...), cc...), bcc...)
		if len(rcpts) == 0 {
			rcpts = raw.Recipients()
			if len(raw.Bcc) > 0 {
				fmt.Fprintln(f.IO.ErrOut, "warning: the message has a Bcc field, which is sent as it is and so visible to every recipient")
			}
		}
		if len(rcpts) == 0 {
			raw.Close()
			return nil, cmdutil.FlagErrorf("no recipients: the message has no To, Cc or Bcc field; give --to")
		}
		if o.From == "" && raw.From != "" {
			from = raw.From
		}
		rd, err := raw.Reader()
		if err != nil {
			raw.Close()
			return nil, err
		}
		msg.env = mail.Envelope{From: from, To: rcpts}
		msg.messageID, msg.opts.Size = raw.MessageID, raw.Size
		msg.opts.Body = smtp.Body7Bit
		if raw.EightBit {
			msg.opts.Body = smtp.Body8Bit
		}
		msg.body = struct {
			io.Reader
			io.Closer
		}{rd, raw}
	} else {
		text, err := o.body(f)
		if err != nil {
			return nil, err
		}
		m := &compose.Message{From: from, To: to, Cc: cc, Bcc: bcc, Subject: o.Subject, Text: text, Attachments: o.Attach}
		if o.HTMLFile != "" {
			b, err := os.ReadFile(o.HTMLFile)
			if err != nil {
				return nil, cmdutil.FlagErrorf("--html-file: %v", err)
			}
			m.HTML = string(b)
		}
		for _, h := range o.Headers {
			hdr, err := compose.ParseHeader(h)
			if err != nil {
				return nil, cmdutil.FlagErrorf("--header %q: %v", h, err)
			}
			m.Headers = append(m.Headers, hdr)
		}
		if err := m.Validate(); err != nil {
			return nil, cmdutil.FlagErrorf("%v", err)
		}
		// One Date for the message and its measurement.
		m.Date = f.Now()
		msg.env = mail.Envelope{From: m.Sender(), To: m.Recipients()}
		// The composer encodes text, names and attachments into 7 bits;
		// only a non-ASCII address (SMTPUTF8) is written as it is.
		msg.opts.Body = smtp.Body7Bit
		if !isASCII(m.From + strings.Join(msg.env.To, "")) {
			msg.opts.Body = smtp.BodyUnknown
		}
		msg.body, msg.messageID, err = m.Stream()
		if err != nil {
			return nil, err
		}
		// The message is streamed; for a server that announces SIZE it is
		// composed once more into a counter, so that a message over the
		// limit is refused before it is uploaded.
		msgID := msg.messageID
		msg.opts.Measure = func() (int64, error) { return m.Size(msgID) }
	}
	if o.EnvelopeFrom != "" {
		msg.env.From, _ = compose.ParseAddress(o.EnvelopeFrom) // checked by check
	}
	return msg, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// body returns the text body: --body, --body-file, or stdin when it is not a terminal.
func (o *Options) body(f *cmdutil.Factory) (string, error) {
	switch {
	case o.bodyGiven:
		return o.Body, nil
	case o.BodyFile != "":
		file, err := os.Open(o.BodyFile)
		if err != nil {
			return "", cmdutil.FlagErrorf("--body-file: %v", err)
		}
		defer file.Close()
		return readBody(file, "--body-file "+o.BodyFile)
	case !f.IO.IsStdinTTY():
		return readBody(f.IO.In, "the body on stdin")
	}
	return "", nil
}

// maxBody bounds a text body, which is held in memory to be encoded;
// attachments and --raw messages are streamed and have no such bound.
const maxBody = 64 << 20

// readBody reads a text body, refusing one above maxBody instead of
// sending it cut short.
func readBody(r io.Reader, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > maxBody {
		return "", cmdutil.FlagErrorf("%s is larger than 64 MiB: send big content as an attachment (--attach FILE) or as a whole message (--raw)", what)
	}
	return string(b), nil
}
