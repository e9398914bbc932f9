package account

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// RemoveOptions are the inputs of `account remove`.
type RemoveOptions struct {
	F    *cmdutil.Factory
	Name string
	Yes  bool // remove without asking
}

// NewCmdRemove is `mailport account remove`.
func NewCmdRemove(f *cmdutil.Factory, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{F: f}
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove an account with its password and tokens",
		Long: `Remove an account from the configuration and delete its password and token from the
secret store. On a terminal mailport asks first; scripts, and runs with --no-input, pass --yes.`,
		Example: `  mailport account remove support
  mailport account remove support --yes   # in a script`,
		Args: cmdutil.ExactArgs(1, "an account NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return removeRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking for confirmation")
	return cmd
}

func removeRun(opts *RemoveOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	a, err := Lookup(cfg, opts.Name)
	if err != nil {
		return err
	}
	if !opts.Yes {
		what := "token"
		if a.Auth == config.AuthBasic {
			what = "password"
		}
		ok, err := cmdutil.Confirm(f.IO, fmt.Sprintf("Remove account %q (its %s is deleted too)?", opts.Name, what),
			fmt.Sprintf("remove account %q", opts.Name), "--yes")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(f.IO.ErrOut, "Account %q is kept.\n", opts.Name)
			return cmdutil.ErrDeclined
		}
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	// Secrets first: a store that cannot be reached (a locked keyring)
	// then leaves the account configured, to be removed again later,
	// instead of an account gone from the config with its secrets left.
	for _, key := range []string{secret.PasswordKey(opts.Name), secret.TokenKey(opts.Name)} {
		if err := store.Delete(key); err != nil && !secret.IsNotFound(err) {
			return fmt.Errorf("account %q is not removed: its secrets could not be deleted from the %s: %w", opts.Name, store.Name(), err)
		}
	}
	delete(cfg.Accounts, opts.Name)
	if err := cfg.Save(); err != nil {
		return err
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, map[string]any{"removed": opts.Name})
	}
	fmt.Fprintf(f.IO.Out, "Removed account %q and its secrets\n", opts.Name)
	return nil
}
