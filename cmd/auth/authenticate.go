// Package auth holds `mailport authenticate`, `status` and `logout`: the
// OAuth2 sign-in of an account, its state, and forgetting its tokens.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// AuthenticateOptions are the inputs of `mailport authenticate`.
type AuthenticateOptions struct {
	F         *cmdutil.Factory
	Account   string
	NoBrowser bool
	Device    bool
	Listen    string
	Timeout   time.Duration
}

// NewCmdAuthenticate is `mailport authenticate`.
func NewCmdAuthenticate(f *cmdutil.Factory, runF func(*AuthenticateOptions) error) *cobra.Command {
	opts := &AuthenticateOptions{F: f}
	cmd := &cobra.Command{
		Use:   "authenticate ACCOUNT",
		Short: "Sign an OAuth2 account in and store its token",
		Long: `Obtain an OAuth2 token for an account with its token config's flow and keep it in the
secret store. Later commands refresh it on use.

  user                 opens the browser on the provider's sign-in page; a listener on 127.0.0.1
                       (a free port, or exactly the token config's redirect_url) receives the
                       redirect. With --no-browser the URL is printed and the final redirected URL
                       may also be pasted on stdin (for SSH sessions). When no browser opens (no
                       $BROWSER, no xdg-open, or it fails), mailport asks for that address at once;
                       with nothing to paste on (stdin closed, /dev/null or a pipe that ends), it
                       fails at once naming --no-browser on a terminal and --device.
  device (--device)    prints a code to enter at the provider's device page, on any machine.
  client_credentials   app-only: checks that a token can be obtained; tokens are fetched on demand.
  service_account      Google service account with domain-wide delegation: obtains a token for the
                       account's login with the stored JSON key; no browser is needed, and tokens are
                       fetched on demand.

Before anything opens, the token config's scopes are checked against the account's protocol:
a token serves one resource, and IMAP/POP3/SMTP need https://outlook.office.com/... scopes
while protocol microsoft needs Microsoft Graph scopes.`,
		Example: `  mailport authenticate support
  # on a machine without a browser: open the printed URL elsewhere, paste the final URL back
  mailport authenticate support --no-browser
  mailport authenticate support --device
  # a Web app registration with a fixed redirect is set on the token config (redirect_url)`,
		Args: cmdutil.ExactArgs(1, "an ACCOUNT name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Account = args[0]
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, e.g. 5m")
			}
			if runF != nil {
				return runF(opts)
			}
			return authenticateRun(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser; accept the redirected URL pasted on stdin")
	cmd.Flags().BoolVar(&opts.Device, "device", false, "use the device code flow")
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "listen on this 127.0.0.1 `ADDR` (host:port) instead of a free port")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "how long to wait for the sign-in")
	return cmd
}

func authenticateRun(cmd *cobra.Command, opts *AuthenticateOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := account.Lookup(cfg, opts.Account); err != nil {
		return err
	}
	m, err := f.OAuth()
	if err != nil {
		return err
	}
	warned := map[string]bool{}
	warn := func(w string) {
		if !warned[w] {
			warned[w] = true
			fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
		}
	}
	res, err := m.Authenticate(cmd.Context(), opts.Account, oauth.AuthenticateOptions{
		Device: opts.Device, NoBrowser: opts.NoBrowser, Listen: opts.Listen, Timeout: opts.Timeout,
		Out: f.IO.ErrOut, In: f.IO.In, Open: f.OpenBrowser, Warn: warn,
	})
	if err != nil {
		var npe *oauth.NoPasteError
		if errors.As(err, &npe) {
			// How mailport was run, not the sign-in, is what must change.
			return &cmdutil.FlagError{Err: err}
		}
		return err
	}
	for _, w := range res.Warnings {
		warn(w)
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, res)
	}
	who := res.User
	if who == "" {
		who = "the signed-in user"
	}
	if res.Flow == config.FlowServiceAccount {
		fmt.Fprintf(f.IO.Out, "Account %s obtained a token as %s through the service account; no browser is needed: a new token is obtained on demand whenever one expires.\n", opts.Account, who)
		if len(res.Scopes) > 0 {
			fmt.Fprintf(f.IO.Out, "Scopes: %s\n", strings.Join(res.Scopes, " "))
		}
		fmt.Fprintf(f.IO.Out, "Next: mailport test %s\n", opts.Account)
		return nil
	}
	if !res.Stored {
		fmt.Fprintf(f.IO.Out, "Account %s can obtain app-only tokens (client credentials); they are fetched on demand.\n", opts.Account)
		if len(res.Scopes) > 0 {
			fmt.Fprintf(f.IO.Out, "Roles: %s\n", strings.Join(res.Scopes, " "))
		}
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Account %s is AUTHENTICATED as %s.\n", opts.Account, who)
	if !res.Expiry.IsZero() {
		fmt.Fprintf(f.IO.Out, "Access token valid until %s (refreshed on use).\n", res.Expiry.Local().Format("2006-01-02 15:04 MST"))
	}
	if len(res.Scopes) > 0 {
		fmt.Fprintf(f.IO.Out, "Scopes: %s\n", strings.Join(res.Scopes, " "))
	}
	fmt.Fprintf(f.IO.Out, "Next: mailport test %s\n", opts.Account)
	return nil
}
