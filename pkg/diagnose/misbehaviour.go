package diagnose

import (
	"errors"

	"github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/smtp"
)

// reasonMisbehaves marks evidence of a server that broke the protocol or
// went past a limit no honest server comes near (the adapters' typed
// errors), so the finding names that instead of a generic failure.
const reasonMisbehaves = "misbehaves"

// misbehaves reports whether err is one of the adapters' refusals of what
// a server sent: an endless line or reply, a huge literal, a listing past
// its limit, a reply that breaks the protocol.
func misbehaves(err error) bool {
	for _, sentinel := range []error{
		pop3.ErrLineTooLong, pop3.ErrListingTooLong, pop3.ErrEndlessReply, pop3.ErrBadReply, pop3.ErrTooSlow, pop3.ErrMessageTooLong,
		smtp.ErrLineTooLong, smtp.ErrReplyTooLong, smtp.ErrEndlessReply, smtp.ErrBadReply,
	} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	var ie *imap.ServerError
	return errors.As(err, &ie) && ie.Kind != imap.FaultNotIMAP
}

// noteMisbehaviour sets ev.Reason when err is a server's misbehaviour and
// no more specific reason was found.
func noteMisbehaviour(ev *Evidence, err error) {
	if ev.Reason == "" && misbehaves(err) {
		ev.Reason = reasonMisbehaves
	}
}
