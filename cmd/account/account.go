// Package account holds the `mailport account` commands: inbound (IMAP,
// POP3, Microsoft Graph) and outbound (SMTP, Graph) mail accounts.
package account

import (
	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
)

// NewCmdAccount is `mailport account`.
func NewCmdAccount(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "account <command>",
		Aliases: []string{"accounts"},
		Short:   "Manage mail accounts (inbound IMAP/POP3/Graph, outbound SMTP/Graph)",
		Example: `  mailport account add support --preset office365 --type inbound \
      --login support@contoso.com --token-config ms365
  mailport account list
  mailport account show support --json`,
	}
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdEdit(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdRemove(f, nil),
		NewCmdEnable(f, nil, true), NewCmdEnable(f, nil, false))
	return cmd
}

// Lookup returns an account or a ConfigError naming the known ones.
func Lookup(cfg *config.Config, name string) (*config.Account, error) {
	return cmdutil.Lookup(cfg.Accounts, "account", name)
}
