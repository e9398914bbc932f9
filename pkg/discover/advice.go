package discover

import (
	"fmt"

	"github.com/mailport/mailport/pkg/config"
)

// TokenConfigCommand is the `mailport token-config add` command a
// Microsoft or Google result needs before an account can sign in, for the
// inbound protocol (config.Microsoft, config.IMAP, config.POP3; "" means
// the first inbound candidate's), "" for a result of neither provider.
// name is the token config's name.
func TokenConfigCommand(r *Result, name, protocol string) string {
	if protocol == "" && len(r.Inbound) > 0 {
		protocol = r.Inbound[0].Protocol
	}
	switch r.Provider {
	case ProviderMicrosoft:
		tenant := r.Tenant
		if tenant == "" {
			tenant = r.Domain
		}
		forWhat := "graph"
		switch protocol {
		case config.IMAP, config.POP3:
			forWhat = protocol
		}
		return fmt.Sprintf("mailport token-config add %s --provider microsoft --tenant %s --client-id <your app's client id> --for %s", name, tenant, forWhat)
	case ProviderGoogle:
		return fmt.Sprintf("mailport token-config add %s --provider google --client-id <your OAuth client id> --client-secret-stdin", name)
	}
	return ""
}
