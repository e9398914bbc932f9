package oauth

import (
	"fmt"
	"strings"

	"github.com/mailport/mailport/pkg/config"
)

// Microsoft resources. A Microsoft access token serves exactly one of them.
const (
	ResourceOutlook = "https://outlook.office.com"
	ResourceGraph   = "https://graph.microsoft.com"
)

// Scopes mailport knows by name.
const (
	ScopeIMAP          = ResourceOutlook + "/IMAP.AccessAsUser.All"
	ScopePOP           = ResourceOutlook + "/POP.AccessAsUser.All"
	ScopeSMTP          = ResourceOutlook + "/SMTP.Send"
	ScopeOfflineAccess = "offline_access"
	ScopeOutlookApp    = "https://outlook.office365.com/.default"
	ScopeGraphApp      = ResourceGraph + "/.default"
	ScopeGoogleMail    = "https://mail.google.com/"
)

// GraphUserScopes is the seed's scope list for a Microsoft Graph account.
var GraphUserScopes = []string{"user.read", "mail.read", "mail.send", "mail.read.shared", "mail.send.shared", "openid", "email", "offline_access"}

// ScopesFor returns the delegated (user or device flow) scopes an account
// of protocol needs with provider; nil when mailport cannot know (generic).
func ScopesFor(provider, protocol string) []string {
	switch provider {
	case config.ProviderMicrosoft:
		switch protocol {
		case config.IMAP:
			return []string{ScopeIMAP, ScopeOfflineAccess}
		case config.POP3:
			return []string{ScopePOP, ScopeOfflineAccess}
		case config.SMTP:
			return []string{ScopeSMTP, ScopeOfflineAccess}
		case config.Microsoft:
			return append([]string(nil), GraphUserScopes...)
		}
	case config.ProviderGoogle:
		if protocol != config.Microsoft {
			return []string{ScopeGoogleMail}
		}
	}
	return nil
}

// AppScopesFor returns the client-credentials (app-only) scopes of a
// Microsoft account of protocol.
func AppScopesFor(protocol string) []string {
	if protocol == config.Microsoft {
		return []string{ScopeGraphApp}
	}
	return []string{ScopeOutlookApp}
}

// DefaultScopes picks ScopesFor or AppScopesFor by flow: what
// `token-config add --for PROTOCOL` writes.
func DefaultScopes(provider, flow, protocol string) []string {
	if flow == config.FlowClientCredentials && provider == config.ProviderMicrosoft {
		return AppScopesFor(protocol)
	}
	return ScopesFor(provider, protocol)
}

// oidcScopes name no resource.
var oidcScopes = map[string]bool{"openid": true, "email": true, "profile": true, "offline_access": true}

// ResourceOf returns the Microsoft resource a scope belongs to: the URI
// before the last "/" for qualified scopes (outlook.office365.com counts as
// outlook.office.com, both being Exchange Online), Graph for bare names
// like "mail.read", and "" for the OpenID Connect scopes.
func ResourceOf(scope string) string {
	s := strings.ToLower(strings.TrimSpace(scope))
	if oidcScopes[s] || s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		return ResourceGraph
	}
	i := strings.LastIndexByte(s, '/')
	r := strings.TrimRight(s[:i], "/")
	switch r {
	case "https://outlook.office365.com", "https://outlook.office.com":
		return ResourceOutlook
	case "https://graph.microsoft.com":
		return ResourceGraph
	}
	return r
}

// TokenResource is the resource a Microsoft token for scopes will serve:
// that of the first scope naming one ("" when none does).
func TokenResource(scopes []string) string {
	for _, s := range scopes {
		if r := ResourceOf(s); r != "" {
			return r
		}
	}
	return ""
}

// ScopeError says a token config's scopes cannot serve an account.
type ScopeError struct {
	TokenConfig string
	Protocol    string
	Have        []string // the token config's scopes
	Add         []string // what to add (in front, for Microsoft)
	Reason      string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("token config %s cannot serve an account of protocol %s: %s; add %s to its scopes (mailport token-config edit %s --scopes %q)",
		e.TokenConfig, e.Protocol, e.Reason, strings.Join(e.Add, " "), e.TokenConfig, strings.Join(e.fixed(), " "))
}

// fixed is Have with Add in front (Microsoft gives the token to the first
// resource) and duplicates removed.
func (e *ScopeError) fixed() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range append(append([]string(nil), e.Add...), e.Have...) {
		if !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	return out
}

// CheckScopes reports, before any browser opens, whether a token obtained
// with tc's scopes can work for the account; never silently produce a token
// that later fails with "AUTHENTICATE failed". tcName is used in the message.
func CheckScopes(tcName string, tc *config.TokenConfig, acct *config.Account) error {
	mk := func(reason string, add ...string) error {
		return &ScopeError{TokenConfig: tcName, Protocol: acct.Protocol, Have: tc.Scopes, Add: add, Reason: reason}
	}
	switch tc.Provider {
	case config.ProviderGoogle:
		if acct.Protocol != config.Microsoft && !hasScope(tc.Scopes, ScopeGoogleMail) {
			return mk("Gmail's IMAP, POP and SMTP accept only tokens with the full mail scope", ScopeGoogleMail)
		}
		return nil
	case config.ProviderMicrosoft:
	default:
		return nil
	}
	need := ResourceOutlook
	if acct.Protocol == config.Microsoft {
		need = ResourceGraph
	}
	got := TokenResource(tc.Scopes)
	if tc.Flow == config.FlowClientCredentials {
		want := AppScopesFor(acct.Protocol)[0]
		if got != need || !hasScope(tc.Scopes, want) && !(need == ResourceOutlook && hasScope(tc.Scopes, ResourceOutlook+"/.default")) {
			return mk(fmt.Sprintf("app-only tokens for %s need the %s scope", acct.Protocol, want), want)
		}
		return nil
	}
	var want []string
	switch acct.Protocol {
	case config.IMAP:
		want = []string{ScopeIMAP}
	case config.POP3:
		want = []string{ScopePOP}
	case config.SMTP:
		want = []string{ScopeSMTP}
	case config.Microsoft:
		if acct.Type == config.Outbound {
			if !hasAnyScope(tc.Scopes, "mail.send", "mail.send.shared") {
				want = []string{"mail.send"}
			}
		} else if !hasAnyScope(tc.Scopes, "mail.read", "mail.readwrite", "mail.read.shared", "mail.readwrite.shared") {
			want = []string{"mail.read"}
		}
	}
	if got != need && got != "" {
		return mk(fmt.Sprintf("a Microsoft token serves one resource, the first one named in the scopes (%s), but %s needs %s", got, acct.Protocol, need), ScopesFor(config.ProviderMicrosoft, acct.Protocol)...)
	}
	var missing []string
	for _, w := range want {
		if !hasScope(tc.Scopes, w) {
			missing = append(missing, w)
		}
	}
	if got == "" && len(missing) == 0 {
		// Only OpenID scopes: Microsoft would issue a Graph token.
		if need != ResourceGraph {
			missing = ScopesFor(config.ProviderMicrosoft, acct.Protocol)
		}
	}
	if len(missing) > 0 {
		return mk(fmt.Sprintf("%s needs the scope %s", acct.Protocol, strings.Join(missing, " ")), missing...)
	}
	return nil
}

// scopeKey compares scopes the way Microsoft does: case-insensitively, with
// outlook.office365.com equal to outlook.office.com.
func scopeKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Replace(s, "https://outlook.office365.com/", "https://outlook.office.com/", 1)
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if scopeKey(s) == scopeKey(want) {
			return true
		}
		// Bare Graph names may be written qualified.
		if scopeKey(s) == scopeKey(ResourceGraph+"/"+want) {
			return true
		}
	}
	return false
}

func hasAnyScope(scopes []string, wants ...string) bool {
	for _, w := range wants {
		if hasScope(scopes, w) {
			return true
		}
	}
	return false
}
