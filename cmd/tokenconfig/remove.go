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
}

// NewCmdRemove is `mailport token-config remove`.
func NewCmdRemove(f *cmdutil.Factory, runF func(*RemoveOptions) error) *cobra.Command {
	opts := &RemoveOptions{F: f}
	return &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a token config and its client secret",
		Long:    "Remove a token config and delete its client secret from the secret store. A token config that accounts use is not removed: remove or edit those accounts first.",
		Example: `  mailport token-config remove ms365`,
		Args:    cmdutil.ExactArgs(1, "a token config NAME"),
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
	if users := usedBy(cfg, opts.Name); len(users) > 0 {
		return cmdutil.ConfigErrorf("token config %q is used by %s %s; remove %s or point %s at another token config first", opts.Name, accountsWord(len(users)), strings.Join(users, ", "), them(len(users)), them(len(users)))
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
