package tokenconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/secret"
)

// RemoveOptions are the inputs of `token-config remove`.
type RemoveOptions struct {
	F    *cmdutil.Factory
	Name string
	Yes  bool // remove without asking
}

// NewCmdRemove is `mailport token-config remove`.
func NewCmdRemove(f *cmdutil.Factory, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{F: f}
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm", "delete"},
		Short:   "Remove a token config and its client secret",
		Long: `Remove a token config and delete its client secret from the secret store. A token config that
accounts use is not removed: remove or edit those accounts first. On a terminal mailport asks
first; scripts, and runs with --no-input, pass --yes.`,
		Example: `  mailport token-config remove ms365
  mailport token-config remove ms365 --yes   # in a script`,
		Args: cmdutil.ExactArgs(1, "a token config NAME"),
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
	if _, err := Lookup(cfg, opts.Name); err != nil {
		return err
	}
	if users := usedBy(cfg, opts.Name); len(users) > 0 {
		return cmdutil.ConfigErrorf("token config %q is used by %s %s; remove %s or point %s at another token config first", opts.Name, accountsWord(len(users)), strings.Join(users, ", "), them(len(users)), them(len(users)))
	}
	if !opts.Yes {
		ok, err := cmdutil.Confirm(f.IO, fmt.Sprintf("Remove token config %q (its client secret is deleted too)?", opts.Name),
			fmt.Sprintf("remove token config %q", opts.Name), "--yes")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(f.IO.ErrOut, "Token config %q is kept.\n", opts.Name)
			return cmdutil.ErrDeclined
		}
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	// The secret first, as for accounts: an unreachable store leaves the
	// token config in place rather than its secret orphaned.
	if err := store.Delete(secret.ClientSecretKey(opts.Name)); err != nil && !secret.IsNotFound(err) {
		return fmt.Errorf("token config %q is not removed: its client secret could not be deleted from the %s: %w", opts.Name, store.Name(), err)
	}
	delete(cfg.TokenConfigs, opts.Name)
	if err := cfg.Save(); err != nil {
		return err
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, map[string]any{"removed": opts.Name})
	}
	fmt.Fprintf(f.IO.Out, "Removed token config %q and its client secret\n", opts.Name)
	return nil
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func accountsWord(n int) string {
	if n == 1 {
		return "account"
	}
	return "accounts"
}
