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

// LookupFor is Lookup for a command that works on one type of account
// (config.Inbound or config.Outbound): an account of the other type, or
// one that is disabled (when enabled is set), is a configuration error
// that says what the command needs.
func LookupFor(cfg *config.Config, name, command, typ string, enabled bool) (*config.Account, error) {
	a, err := Lookup(cfg, name)
	if err != nil {
		return nil, err
	}
	if a.Type != typ {
		if typ == config.Inbound {
			return nil, cmdutil.ConfigErrorf("account %s is an outbound account; %s needs an inbound one (imap, pop3 or microsoft)", name, command)
		}
		return nil, cmdutil.ConfigErrorf("account %s is an inbound account; %s needs an outbound one (smtp or microsoft)", name, command)
	}
	if enabled && !a.Enabled {
		return nil, cmdutil.ConfigErrorf("account %s is disabled; enable it with `mailport account enable %s`", name, name)
	}
	return a, nil
}
