package auth

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
)

// LogoutOptions are the inputs of `mailport logout`.
type LogoutOptions struct {
	F       *cmdutil.Factory
	Account string
}

// NewCmdLogout is `mailport logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{F: f}
	return &cobra.Command{
		Use:     "logout ACCOUNT",
		Short:   "Forget an account's OAuth2 tokens",
		Example: "  mailport logout support",
		Args:    cmdutil.ExactArgs(1, "an ACCOUNT name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Account = args[0]
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
}

func logoutRun(opts *LogoutOptions) error {
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
	removed, note, err := m.Logout(opts.Account)
	if err != nil {
		return err
	}
	if f.JSON {
		out := map[string]any{"account": opts.Account, "removed": removed}
		if note != "" {
			out["note"] = note
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	if removed {
		fmt.Fprintf(f.IO.Out, "Forgot the tokens of account %s.\n", opts.Account)
	} else {
		fmt.Fprintf(f.IO.Out, "Account %s had no stored token.\n", opts.Account)
	}
	if note != "" {
		fmt.Fprintln(f.IO.ErrOut, "note: "+note)
	}
	return nil
}
