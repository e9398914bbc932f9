// Package send holds `mailport send`: one message through an outbound
// account (SMTP or Microsoft Graph), composed from flags or sent raw.
package send

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/internal/plural"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/compose"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/smtp"
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

	DryRun       bool
	Partial      bool
	DSN          string
	DSNRet       string
	EnvelopeFrom string

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
(a --raw message without one is sent without one, and the output says so).

--dry-run writes the message to stdout instead of sending it: the same bytes, made by the same
composer (with its own Message-ID and Date), that a send would hand to the server; Bcc addresses
are in the envelope only. It connects to nothing and needs no password or token. With --json it prints the
envelope, the Message-ID and the size instead of the message.

With an SMTP account, mailport reads the server's EHLO before MAIL FROM and refuses, sending
nothing, a message larger than the server's SIZE limit (both sizes are named), a --raw message
with 8-bit octets to a server without 8BITMIME (mailport's own composer writes 7-bit mail), and
--dsn to a server without DSN. The size is declared with SIZE=: a --raw message's is its file's;
a composed message is streamed, so for a server with a SIZE limit it is first composed into a
counter (its attachments are read twice) to learn its size.

Every recipient is tried. If the server refuses any, nothing is sent and the command exits 1,
naming each refused address with the server's reply. With --partial the message goes to the
accepted recipients, the refused ones are listed on stderr (and under "refused" with --json),
and the command exits 0; it exits 1 if every recipient is refused.

--dsn asks the server for delivery status notifications to the envelope sender: a
comma-separated list of success, failure and delay, or never; --dsn-ret says whether a
notification returns the full message or only its header (hdrs). --envelope-from sets the
envelope sender (MAIL FROM, where bounces and notifications go, the Return-Path of the delivered
mail) apart from the From: header. These, and --partial, need an SMTP account.`,
		Example: `  mailport send outbox --to ops@example.com --subject "nightly report" --body-file report.txt
  mailport send outbox --to a@example.com,b@example.com --cc boss@example.com \
      --subject "Q3 figures" --body "See the attachment." --attach q3.pdf
  echo "it works" | mailport send outbox --to me@example.com --subject test
  mailport send outbox --raw message.eml
  mailport send outbox --json --to me@example.com --subject hi --body hi | jq -r .message_id
  mailport send outbox --dry-run --to me@example.com --subject test --body hi > message.eml
  mailport send outbox --dry-run --json --raw message.eml | jq .bytes
  mailport send outbox --to a@example.com,b@example.com --partial --body-file news.txt
  mailport send outbox --to ops@example.com --dsn success,failure --dsn-ret hdrs \
      --envelope-from bounces@example.com --body "with a receipt"`,
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
	fl.BoolVar(&opts.DryRun, "dry-run", false, "write the message to stdout instead of sending it (--json: its envelope and size)")
	fl.BoolVar(&opts.Partial, "partial", false, "when the server refuses some recipients, send to the others (SMTP)")
	fl.StringVar(&opts.DSN, "dsn", "", "ask for delivery notifications: `WHEN` is success,failure,delay or never (SMTP)")
	fl.StringVar(&opts.DSNRet, "dsn-ret", "", "what a notification returns: `WHAT` is full (the message) or hdrs (its header) (SMTP)")
	fl.StringVar(&opts.EnvelopeFrom, "envelope-from", "", "envelope sender `ADDR` (MAIL FROM) apart from the From: header (SMTP)")
	return cmd
}

func (o *Options) check() error {
	if o.DSN != "" {
		if _, err := smtp.ParseNotify(o.DSN); err != nil {
			return cmdutil.FlagErrorf("--dsn: %v", err)
		}
	}
	if o.DSNRet != "" {
		if _, err := smtp.ParseReturn(o.DSNRet); err != nil {
			return cmdutil.FlagErrorf("--dsn-ret: %v", err)
		}
	}
	if o.EnvelopeFrom != "" {
		if _, err := compose.ParseAddress(o.EnvelopeFrom); err != nil {
			return cmdutil.FlagErrorf("--envelope-from: %v", err)
		}
	}
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
	Account    string    `json:"account"`
	MessageID  string    `json:"message_id"`
	From       string    `json:"from"`
	Recipients []string  `json:"recipients"`
	Bytes      int64     `json:"bytes,omitempty"`
	Refused    []Refusal `json:"refused,omitempty"`
}

// Refusal is a recipient the server refused, in Result (with --partial).
type Refusal struct {
	Address string `json:"address"`
	Reply   string `json:"reply"` // e.g. "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown"
}

func run(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	a, err := account.LookupFor(cfg, opts.Account, "send", config.Outbound, true)
	if err != nil {
		return err
	}
	if a.Protocol != config.SMTP {
		for _, fl := range []struct {
			name string
			set  bool
		}{{"--dsn", opts.DSN != ""}, {"--dsn-ret", opts.DSNRet != ""}, {"--envelope-from", opts.EnvelopeFrom != ""}, {"--partial", opts.Partial}} {
			if fl.set {
				return cmdutil.FlagErrorf("%s needs an SMTP account; %s sends through %s", fl.name, opts.Account, a.Protocol)
			}
		}
	}
	msg, err := opts.message(f, a)
	if err != nil {
		return err
	}
	defer msg.body.Close()
	if opts.DryRun {
		return dryRun(f, opts.Account, msg)
	}

	o, err := f.Opener(opts.Timeout)
	if err != nil {
		return err
	}
	out, err := o.Outbound(cmd.Context(), opts.Account)
	if err != nil {
		return sendError(cmd.Context(), opts.Account, err)
	}
	var rep *smtp.Report
	if sc, ok := out.(*smtp.Client); ok {
		rep, err = sc.SendMessage(cmd.Context(), msg.env, msg.opts, msg.body)
	} else {
		err = out.Send(cmd.Context(), msg.env, msg.body)
	}
	if err != nil {
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
	res := Result{Account: opts.Account, MessageID: msg.messageID, From: msg.env.From, Recipients: msg.env.To, Bytes: msg.opts.Size}
	if rep != nil {
		res.Recipients = rep.Accepted
		for _, r := range rep.Refused {
			res.Refused = append(res.Refused, Refusal{Address: r.Address, Reply: r.Reply()})
		}
	}
	if len(res.Refused) > 0 {
		fmt.Fprintf(f.IO.ErrOut, "warning: the server refused %d of %s, so the message was not sent to %s:\n",
			len(res.Refused), plural.Of(len(msg.env.To), "recipient", "recipients"), plural.Word(len(res.Refused), "it", "them"))
		for _, r := range res.Refused {
			fmt.Fprintf(f.IO.ErrOut, "  %s: %s\n", r.Address, r.Reply)
		}
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, res)
	}
	if msg.messageID == "" {
		// A --raw message is sent as it is: mailport adds no header.
		fmt.Fprintf(f.IO.Out, "Sent a message without a Message-ID to %s\n", strings.Join(res.Recipients, ", "))
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Sent %s to %s\n", msg.messageID, strings.Join(res.Recipients, ", "))
	return nil
}

// sendError says which account failed to send and, when `mailport test`
// can name the cause (the server, its TLS, the login, the sender), ends
// with the hint to run it, as fetch's errors do. An account that must
// authenticate first already names the command that fixes it.
func sendError(ctx context.Context, account string, err error) error {
	// A refusal of this message, not of the account, needs no diagnosis.
	refused := errors.As(err, new(*smtp.RecipientsRefusedError)) || errors.Is(err, smtp.ErrTooLarge) ||
		errors.Is(err, smtp.ErrNo8BitMIME) || errors.Is(err, smtp.ErrNoDSN)
	if refused || oauth.IsAuthRequired(err) || ctx.Err() != nil || errors.As(err, new(*connect.NoPasswordError)) {
		return fmt.Errorf("send through %s: %w", account, err)
	}
	return fmt.Errorf("send through %s: %w (run `mailport test %s` for the cause and the fix)", account, err, account)
}
