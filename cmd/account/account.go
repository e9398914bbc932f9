// Package account holds the `mailport account` commands: inbound (IMAP,
// POP3, Microsoft Graph) and outbound (SMTP, Graph) mail accounts.
package account

import (
	"sort"
	"strings"

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

func sortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns an account or a ConfigError naming the known ones.
func Lookup(cfg *config.Config, name string) (*config.Account, error) {
	a, ok := cfg.Accounts[name]
	if !ok {
		known := "there are none yet; add one with `mailport account add`"
		if len(cfg.Accounts) > 0 {
			known = "known: " + strings.Join(sortedNames(cfg.Accounts), ", ")
		}
		return nil, cmdutil.ConfigErrorf("no account named %q (%s)", name, known)
	}
	return a, nil
}
