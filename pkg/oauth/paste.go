package oauth

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/mailport/mailport/pkg/config"
)

// NoPasteError means the sign-in needs the address the browser ends on
// pasted on standard input, and nothing can be pasted there: standard
// input is closed, /dev/null or another device that is not a terminal, or
// a pipe that ended. It says how to sign in instead.
type NoPasteError struct {
	Account string
	// Why says what needed the paste and what is wrong with standard
	// input, e.g. "--no-browser needs the address the browser ends on
	// pasted on standard input, but standard input ended before it was
	// pasted".
	Why string
	// Device is true when the device flow can serve the account, so the
	// message may suggest --device.
	Device bool
}

func (e *NoPasteError) Error() string {
	acct := e.Account
	if acct == "" {
		acct = "ACCOUNT"
	}
	msg := fmt.Sprintf("%s: run `mailport authenticate %s --no-browser` on a terminal and paste the address there", e.Why, acct)
	if e.Device {
		msg += fmt.Sprintf(", or sign in with a code on any device with `mailport authenticate %s --device`", acct)
	}
	return msg
}

func (c *Client) noPaste(why string) *NoPasteError {
	return &NoPasteError{Account: c.Account, Why: why,
		Device: c.Endpoints.DeviceURL != "" && c.Config.Provider != config.ProviderGoogle}
}

// pasteUnusable says why nothing can be pasted on in, or "" when in may
// deliver a pasted line: a terminal, a pipe or a file (which may still
// end without one), or a reader that is not a file at all.
func pasteUnusable(in io.Reader) string {
	if in == nil {
		return "there is no standard input"
	}
	f, ok := in.(*os.File)
	if !ok {
		return ""
	}
	fi, err := f.Stat()
	if err != nil {
		return "standard input is closed"
	}
	if fi.Mode()&os.ModeDevice != 0 && !term.IsTerminal(int(f.Fd())) {
		// Go gives a process started with standard input closed
		// /dev/null instead, so both end here.
		return "standard input is not a terminal (it is closed or /dev/null)"
	}
	return ""
}
