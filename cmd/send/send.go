// Package send holds `mailport send`: one message through an outbound
// account (SMTP or Microsoft Graph), composed from flags or sent raw.
package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/compose"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
)

// Options are the inputs of `mailport send`.
type Options struct {
	F        *cmdutil.Factory
	Account  string
	To       []string
	Cc       []string
	Bcc      []string
	From     string
	Subject  string
	Body     string
	BodyFile string
	HTMLFile string
	Attach   []string
	Headers  []string
	Raw      string
	Timeout  time.Duration

	bodyGiven bool
}

// NewCmdSend is `mailport send`.
func NewCmdSend(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "send ACCOUNT --to ADDR [flags] | --raw FILE|-",
		Short: "Send one message through an outbound account",
		Long: `Send one message through an outbound account (SMTP or Microsoft Graph).

Compose it from flags: recipients (--to, --cc, --bcc: repeatable or comma-separated), --subject,
the body from --body, --body-file or stdin (up to 64 MiB), an HTML alternative from
--html-file, attachments with --attach (content type detected, streamed, any size), extra
header fields with --header. Or send an existing RFC 5322 message with --raw FILE (or - for
stdin): its bytes are sent as they are, its recipients taken from its To, Cc and Bcc fields
unless --to/--cc/--bcc are given.

Everything that can be checked is checked before connecting: an inbound or disabled account,
no recipient, a bad address, a missing attachment, a body too large. The Message-ID is printed
(a --raw message without one is sent without one, and the output says so).`,
		Example: `  mailport send outbox --to ops@example.com --subject "nightly report" --body-file report.txt
  mailport send outbox --to a@example.com,b@example.com --cc boss@example.com \
      --subject "Q3 figures" --body "See the attachment." --attach q3.pdf
  echo "it works" | mailport send outbox --to me@example.com --subject test
  mailport send outbox --raw message.eml
  mailport send outbox --json --to me@example.com --subject hi --body hi | jq -r .message_id`,
		Args: cmdutil.ExactArgs(1, "an outbound ACCOUNT name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Account = args[0]
			opts.bodyGiven = cmd.Flags().Changed("body")
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.To, "to", nil, "recipient `ADDR` (repeatable or comma-separated)")
	fl.StringArrayVar(&opts.Cc, "cc", nil, "copy recipient `ADDR`")
	fl.StringArrayVar(&opts.Bcc, "bcc", nil, "blind copy recipient `ADDR` (not in the header)")
	fl.StringVar(&opts.From, "from", "", "sender `ADDR` (default: the account's login)")
	fl.StringVar(&opts.Subject, "subject", "", "subject")
	fl.StringVar(&opts.Body, "body", "", "plain-text body")
	fl.StringVar(&opts.BodyFile, "body-file", "", "read the plain-text body from `FILE`")
	fl.StringVar(&opts.HTMLFile, "html-file", "", "HTML body from `FILE` (an alternative to the text)")
	fl.StringArrayVar(&opts.Attach, "attach", nil, "attach `FILE` (repeatable)")
	fl.StringArrayVar(&opts.Headers, "header", nil, "extra header field `K:V` (repeatable)")
	fl.StringVar(&opts.Raw, "raw", "", "send an existing message from `FILE` (- for stdin) unchanged")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "bound each network step")
	return cmd
}

func (o *Options) check() error {
	if o.Raw != "" {
		for _, c := range []struct {
			name string
			set  bool
		}{{"--subject", o.Subject != ""}, {"--body", o.bodyGiven}, {"--body-file", o.BodyFile != ""}, {"--html-file", o.HTMLFile != ""}, {"--attach", len(o.Attach) > 0}, {"--header", len(o.Headers) > 0}} {
			if c.set {
				return cmdutil.FlagErrorf("--raw sends a message as it is; %s cannot be combined with it", c.name)
			}
		}
		return nil
	}
	if o.bodyGiven && o.BodyFile != "" {
		return cmdutil.FlagErrorf("use either --body or --body-file, not both")
	}
	if o.Timeout <= 0 {
		return cmdutil.FlagErrorf("--timeout must be positive, e.g. 30s")
	}
	return nil
}

// Result is the documented JSON shape of a sent message.
type Result struct {
	Account    string   `json:"account"`
	MessageID  string   `json:"message_id"`
	From       string   `json:"from"`
	Recipients []string `json:"recipients"`
	Bytes      int64    `json:"bytes,omitempty"`
}

func run(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	a, err := account.Lookup(cfg, opts.Account)
	if err != nil {
		return err
	}
	if a.Type != config.Outbound {
		return cmdutil.ConfigErrorf("account %s is an inbound account; send needs an outbound one (smtp or microsoft)", opts.Account)
	}
	if !a.Enabled {
		return cmdutil.ConfigErrorf("account %s is disabled; enable it with `mailport account enable %s`", opts.Account, opts.Account)
	}
	to, err := compose.SplitAddresses(opts.To)
	if err != nil {
		return cmdutil.FlagErrorf("--to: %v", err)
	}
	cc, err := compose.SplitAddresses(opts.Cc)
	if err != nil {
		return cmdutil.FlagErrorf("--cc: %v", err)
	}
	bcc, err := compose.SplitAddresses(opts.Bcc)
	if err != nil {
		return cmdutil.FlagErrorf("--bcc: %v", err)
	}
	from := opts.From
	if from == "" {
		from = a.Login
	} else {
		// Checked here for --raw too, whose envelope takes the bare address.
		bare, err := compose.ParseAddress(opts.From)
		if err != nil {
			return cmdutil.FlagErrorf("--from: %v", err)
		}
		if opts.Raw != "" {
			from = bare
		}
	}

	var (
		body      io.ReadCloser
		env       mail.Envelope
		messageID string
		size      int64
	)
	if opts.Raw != "" {
		raw, err := compose.OpenRaw(opts.Raw, f.IO.In)
		if err != nil {
			return cmdutil.FlagErrorf("--raw: %v", err)
		}
		defer raw.Close()
		rcpts := append(append(append([]string{}, to...), cc...), bcc...)
		if len(rcpts) == 0 {
			rcpts = raw.Recipients()
			if len(raw.Bcc) > 0 {
				fmt.Fprintln(f.IO.ErrOut, "warning: the message has a Bcc field, which is sent as it is and so visible to every recipient")
			}
		}
		if len(rcpts) == 0 {
			return cmdutil.FlagErrorf("no recipients: the message has no To, Cc or Bcc field; give --to")
		}
		if opts.From == "" && raw.From != "" {
			from = raw.From
		}
		env = mail.Envelope{From: from, To: rcpts}
		messageID, size = raw.MessageID, raw.Size
		rd, err := raw.Reader()
		if err != nil {
			return err
		}
		body = io.NopCloser(rd)
	} else {
		text, err := opts.body(f)
		if err != nil {
			return err
		}
		m := &compose.Message{From: from, To: to, Cc: cc, Bcc: bcc, Subject: opts.Subject, Text: text, Attachments: opts.Attach}
		if opts.HTMLFile != "" {
			b, err := os.ReadFile(opts.HTMLFile)
			if err != nil {
				return cmdutil.FlagErrorf("--html-file: %v", err)
			}
			m.HTML = string(b)
		}
		for _, h := range opts.Headers {
			hdr, err := compose.ParseHeader(h)
			if err != nil {
				return cmdutil.FlagErrorf("--header %q: %v", h, err)
			}
			m.Headers = append(m.Headers, hdr)
		}
		if err := m.Validate(); err != nil {
			return cmdutil.FlagErrorf("%v", err)
		}
		env = mail.Envelope{From: m.Sender(), To: m.Recipients()}
		body, messageID, err = m.Stream()
		if err != nil {
			return err
		}
		defer body.Close()
	}

	o, err := f.Opener(opts.Timeout)
	if err != nil {
		return err
	}
	out, err := o.Outbound(cmd.Context(), opts.Account)
	if err != nil {
		return sendError(cmd.Context(), opts.Account, err)
	}
	if err := out.Send(cmd.Context(), env, body); err != nil {
		out.Close()
		var tooLarge *graph.TooLargeError
		if errors.As(err, &tooLarge) {
			return err
		}
		return sendError(cmd.Context(), opts.Account, err)
	}
	if err := out.Close(); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "warning: the message was accepted, but closing the connection failed: %v\n", err)
	}
	res := Result{Account: opts.Account, MessageID: messageID, From: env.From, Recipients: env.To, Bytes: size}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, res)
	}
	if messageID == "" {
		// A --raw message is sent as it is: mailport adds no header.
		fmt.Fprintf(f.IO.Out, "Sent a message without a Message-ID to %s\n", strings.Join(env.To, ", "))
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Sent %s to %s\n", messageID, strings.Join(env.To, ", "))
	return nil
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

// sendError says which account failed to send and, when `mailport test`
// can name the cause (the server, its TLS, the login, the sender), ends
// with the hint to run it, as fetch's errors do. An account that must
// authenticate first already names the command that fixes it.
func sendError(ctx context.Context, account string, err error) error {
	if oauth.IsAuthRequired(err) || ctx.Err() != nil || errors.As(err, new(*connect.NoPasswordError)) {
		return fmt.Errorf("send through %s: %w", account, err)
	}
	return fmt.Errorf("send through %s: %w (run `mailport test %s` for the cause and the fix)", account, err, account)
}
