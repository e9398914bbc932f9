// Package tokenconfig holds the `mailport token-config` commands: OAuth2
// client registrations (client id, secret in the secret store, endpoints,
// scopes, flow, inbound/outbound).
package tokenconfig

import (
	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
)

// NewCmdTokenConfig is `mailport token-config`.
func NewCmdTokenConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token-config <command>",
		Aliases: []string{"token-configs", "tc"},
		Short:   "Manage OAuth2 client registrations (client id, secret, endpoints, scopes)",
		Long: `A token config is an OAuth2 client registered at Microsoft Entra, Google Cloud or another
provider: its client id, its client secret (kept in the secret store, never in the config file),
the authority or auth/token URLs, the scopes, the flow, and whether it serves inbound and/or
outbound accounts. Accounts with auth oauth2 name one.`,
		Example: `  printf '%s' "$SECRET" | mailport token-config add ms365 --provider microsoft \
      --tenant contoso.com --client-id 3f0c1a2b-0000-4000-8000-123456789abc --client-secret-stdin
  mailport token-config list
  mailport token-config show ms365 --json`,
	}
	cmd.AddCommand(NewCmdAdd(f, nil), NewCmdEdit(f, nil), NewCmdList(f, nil), NewCmdShow(f, nil), NewCmdRemove(f, nil))
	return cmd
}
