package config

import (
	"fmt"
	"strings"
)

// Provider endpoints and mailport's default scopes.
const (
	MicrosoftAuthority = "https://login.microsoftonline.com/"
	GoogleAuthURL      = "https://accounts.google.com/o/oauth2/v2/auth?prompt=consent&access_type=offline"
	GoogleTokenURL     = "https://oauth2.googleapis.com/token"
	GoogleMailScope    = "https://mail.google.com/"
)

// MicrosoftGraphScopes are mailport's default scopes for a Microsoft token config
// (Graph, i.e. protocol microsoft).
var MicrosoftGraphScopes = []string{"user.read", "mail.read", "mail.send", "mail.read.shared", "mail.send.shared", "openid", "email", "offline_access"}

// MicrosoftBaseURL is the authority URL for a tenant (a domain such as
// contoso.com, a tenant id, or common / organizations).
func MicrosoftBaseURL(tenant string) string {
	return MicrosoftAuthority + strings.Trim(tenant, "/") + "/"
}

// TokenConfigPreset fills a new token config for a provider: endpoints and
// default scopes. tenant is used for Microsoft only.
func TokenConfigPreset(provider, tenant string) *TokenConfig {
	tc := &TokenConfig{Provider: provider, Flow: FlowUser, Inbound: true, Outbound: true}
	switch provider {
	case ProviderMicrosoft:
		if tenant != "" {
			tc.BaseURL = MicrosoftBaseURL(tenant)
		}
		tc.Scopes = append([]string(nil), MicrosoftGraphScopes...)
	case ProviderGoogle:
		tc.AuthURL = GoogleAuthURL
		tc.TokenURL = GoogleTokenURL
		tc.Scopes = []string{GoogleMailScope}
	}
	return tc
}

// Account presets.
const (
	PresetOffice365 = "office365"
	PresetGmail     = "gmail"
	PresetOutlook   = "outlook"
)

// Presets lists the account presets.
var Presets = []string{PresetOffice365, PresetGmail, PresetOutlook}

// ApplyPreset fills host, protocol, encryption and auth of an account from
// a preset. Fields already set (from flags) win; protocol decides the host.
func ApplyPreset(a *Account, preset string) error {
	type hosts struct{ imap, pop3, smtp, def string }
	var h hosts
	switch preset {
	case PresetOffice365:
		h = hosts{"outlook.office365.com", "outlook.office365.com", "smtp.office365.com", Microsoft}
	case PresetOutlook:
		h = hosts{"outlook.office365.com", "outlook.office365.com", "smtp-mail.outlook.com", IMAP}
	case PresetGmail:
		h = hosts{"imap.gmail.com", "pop.gmail.com", "smtp.gmail.com", IMAP}
	default:
		return fmt.Errorf("unknown preset %q; use one of %s", preset, strings.Join(Presets, ", "))
	}
	if a.Protocol == "" {
		a.Protocol = h.def
		if a.Type == Outbound && h.def != Microsoft {
			a.Protocol = SMTP
		}
	}
	if a.Host == "" {
		switch a.Protocol {
		case IMAP, Microsoft:
			a.Host = h.imap
		case POP3:
			a.Host = h.pop3
		case SMTP:
			a.Host = h.smtp
		}
	}
	if a.Encryption == "" {
		a.Encryption = SSL
		if a.Protocol == SMTP {
			a.Encryption = StartTLS
		}
	}
	if a.Auth == "" {
		a.Auth = AuthOAuth2
	}
	return nil
}
