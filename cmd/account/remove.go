package account

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/secret"
)

// RemoveOptions are the inputs of `account remove`.
type RemoveOptions struct {
	F    *cmdutil.Factory
	Name string
}

// NewCmdRemove is `mailport account remove`.
func NewCmdRemove(f *cmdutil.Factory, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{F: f}
	return &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove an account with its password and tokens",
		Example: `  mailport account remove support`,
		Args:    cmdutil.ExactArgs(1, "an account NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return removeRun(opts)
		},
	}
}

func removeRun(opts *RemoveOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := Lookup(cfg, opts.Name); err != nil {
		return err
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
