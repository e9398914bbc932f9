package send

import (
	"fmt"
	"io"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/smtp"
)

// DryRun is the documented JSON shape of `send --dry-run --json`: what
// would be sent, without the message itself (which may be binary, and
// large); `send --dry-run` without --json writes the message.
type DryRun struct {
	Account    string   `json:"account"`
	DryRun     bool     `json:"dry_run"`
	MessageID  string   `json:"message_id"`
	From       string   `json:"from"`
	Recipients []string `json:"recipients"`
	Bytes      int64    `json:"bytes"`
	EightBit   bool     `json:"eight_bit"`
}

// dryRun writes the message to stdout, or with --json its envelope and
// size, and sends nothing.
func dryRun(f *cmdutil.Factory, accountName string, msg *message) error {
	if !f.JSON {
		if _, err := io.Copy(f.IO.Out, msg.body); err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
		return nil
	}
	n, err := io.Copy(io.Discard, msg.body)
	if err != nil {
		return fmt.Errorf("compose the message: %w", err)
	}
	return cmdutil.PrintJSON(f.IO.Out, DryRun{Account: accountName, DryRun: true, MessageID: msg.messageID,
		From: msg.env.From, Recipients: msg.env.To, Bytes: n, EightBit: msg.opts.Body == smtp.Body8Bit})
}
