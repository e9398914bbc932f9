package discover

import (
	"fmt"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// TokenConfigCommand is the `mailport token-config add` command a
// Microsoft or Google result needs before an account can sign in, "" for
// a result of neither provider. name is the token config's name; protocol
// is the account's (config.Microsoft, config.IMAP, config.POP3,
// config.SMTP): it picks Microsoft's scopes with --for, and "" leaves
// Graph's, the default. A Microsoft tenant in a national cloud is named by
// its authority with --base-url, since --tenant means the global cloud.
func TokenConfigCommand(r *Result, name, protocol string) string {
	switch r.Provider {
	case ProviderMicrosoft:
		tenant := r.Tenant
		if tenant == "" {
			tenant = r.Domain
		}
		where := "--tenant " + tenant
		if c := oauth.CloudNamed(r.Cloud); c != nil && c.Name != oauth.GlobalCloud().Name && len(c.Authorities) > 0 {
			where = "--base-url https://" + c.Authorities[0] + "/" + tenant + "/"
		}
		cmd := fmt.Sprintf("mailport token-config add %s --provider microsoft %s --client-id <application id>", name, where)
		switch protocol {
		case config.IMAP, config.POP3, config.SMTP:
			cmd += " --for " + protocol
		}
		return cmd
	case ProviderGoogle:
		return fmt.Sprintf("mailport token-config add %s --provider google --client-id <OAuth client id> --client-secret-stdin", name)
	}
	return ""
}
