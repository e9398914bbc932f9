package oauth

import (
	"fmt"
	"strings"

	"github.com/mailport/mailport/pkg/config"
)

// Microsoft resources of the global cloud (cloud.go has every cloud's). A
// Microsoft access token serves exactly one resource.
const (
	ResourceOutlook = "https://outlook.office.com"
	ResourceGraph   = "https://graph.microsoft.com"
)

// Scopes mailport knows by name, the Microsoft ones of the global cloud
// (Cloud.UserScopes and Cloud.AppScopes give any cloud's).
const (
	ScopeIMAP          = ResourceOutlook + "/IMAP.AccessAsUser.All"
	ScopePOP           = ResourceOutlook + "/POP.AccessAsUser.All"
	ScopeSMTP          = ResourceOutlook + "/SMTP.Send"
	ScopeOfflineAccess = "offline_access"
	ScopeOutlookApp    = "https://outlook.office365.com/.default"
	ScopeGraphApp      = ResourceGraph + "/.default"
	ScopeGoogleMail    = "https://mail.google.com/"
)

// GraphUserScopes is mailport's default scope list for a Microsoft Graph account.
var GraphUserScopes = []string{"user.read", "mail.read", "mail.send", "mail.read.shared", "mail.send.shared", "openid", "email", "offline_access"}

// ScopesFor returns the delegated (user or device flow) scopes an account
// of protocol needs with provider in Microsoft's global cloud; nil when
// mailport cannot know (generic). DefaultScopesFor knows the other clouds.
func ScopesFor(provider, protocol string) []string {
	return scopesIn(global, provider, protocol)
}

func scopesIn(c *Cloud, provider, protocol string) []string {
	switch provider {
	case config.ProviderMicrosoft:
		return c.UserScopes(protocol)
	case config.ProviderGoogle:
		if protocol != config.Microsoft {
			return []string{ScopeGoogleMail}
		}
	}
	return nil
}

// UserScopes are the delegated scopes of a Microsoft account of protocol
// in the cloud. Graph's are bare names in the global cloud (mailport's default
// list) and qualified with the cloud's Graph elsewhere, so there is no
// doubt which Graph the token is for.
func (c *Cloud) UserScopes(protocol string) []string {
	switch protocol {
	case config.IMAP:
		return []string{c.Exchange + "/IMAP.AccessAsUser.All", ScopeOfflineAccess}
	case config.POP3:
		return []string{c.Exchange + "/POP.AccessAsUser.All", ScopeOfflineAccess}
	case config.SMTP:
		return []string{c.Exchange + "/SMTP.Send", ScopeOfflineAccess}
	case config.Microsoft:
		out := make([]string, 0, len(GraphUserScopes))
		for _, s := range GraphUserScopes {
			out = append(out, c.graphScope(s))
		}
		return out
	}
	return nil
}

// graphScope writes a Graph permission as the cloud's user scopes do.
func (c *Cloud) graphScope(name string) string {
	if c.IsGlobal() || oidcScopes[strings.ToLower(name)] {
		return name
	}
	return c.Graph + "/" + name
}

// AppScopesFor returns the client-credentials (app-only) scopes of a
// Microsoft account of protocol in the global cloud.
func AppScopesFor(protocol string) []string {
	return global.AppScopes(protocol)
}

// AppScopes are the client-credentials (app-only) scopes of a Microsoft
// account of protocol in the cloud: its resource's .default.
func (c *Cloud) AppScopes(protocol string) []string {
	if protocol == config.Microsoft {
		return []string{c.Graph + "/.default"}
	}
	return []string{c.ExchangeApp + "/.default"}
}

// DefaultScopes picks ScopesFor or AppScopesFor by flow, in the global
// cloud.
func DefaultScopes(provider, flow, protocol string) []string {
	return defaultScopesIn(global, provider, flow, protocol)
}

// DefaultScopesFor is what `token-config add --for PROTOCOL` writes: the
// delegated or app-only scopes of tc's flow, in tc's cloud (CloudOf).
func DefaultScopesFor(tc *config.TokenConfig, protocol string) []string {
	return defaultScopesIn(CloudOf(tc), tc.Provider, tc.Flow, protocol)
}

func defaultScopesIn(c *Cloud, provider, flow, protocol string) []string {
	if flow == config.FlowClientCredentials && provider == config.ProviderMicrosoft {
		return c.AppScopes(protocol)
	}
	return scopesIn(c, provider, protocol)
}

// oidcScopes name no resource.
var oidcScopes = map[string]bool{"openid": true, "email": true, "profile": true, "offline_access": true}

// ResourceOf returns the resource a scope belongs to in Microsoft's global
// cloud; Cloud.ResourceOf knows the others.
func ResourceOf(scope string) string { return global.ResourceOf(scope) }

// ResourceOf returns the Microsoft resource a scope belongs to: the URI
// before the last "/" for qualified scopes, as its cloud names it
// (outlook.office365.com counts as outlook.office.com, both being Exchange
// Online), the cloud's Graph for bare names like "mail.read", and "" for
// the OpenID Connect scopes.
func (c *Cloud) ResourceOf(scope string) string {
	s := strings.ToLower(strings.TrimSpace(scope))
	if oidcScopes[s] || s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		return c.Graph
	}
	i := strings.LastIndexByte(s, '/')
	r := strings.TrimRight(s[:i], "/")
	if rc, graph := CloudOfResource(r); rc != nil {
		if graph {
			return rc.Graph
		}
		return rc.Exchange
	}
	return r
}

// TokenResource is the resource a Microsoft token for scopes will serve:
// that of the first scope naming one ("" when none does).
func (c *Cloud) TokenResource(scopes []string) string {
	for _, s := range scopes {
		if r := c.ResourceOf(s); r != "" {
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
	// Drop are scopes of another cloud: the fix replaces them with Add.
	Drop   []string
	Reason string
}

func (e *ScopeError) Error() string {
	if len(e.Drop) > 0 {
		return fmt.Sprintf("token config %s cannot serve an account of protocol %s: %s; use %s instead (mailport token-config edit %s --scopes %q)",
			e.TokenConfig, e.Protocol, e.Reason, strings.Join(e.Add, " "), e.TokenConfig, strings.Join(e.fixed(), " "))
	}
	return fmt.Sprintf("token config %s cannot serve an account of protocol %s: %s; add %s to its scopes (mailport token-config edit %s --scopes %q)",
		e.TokenConfig, e.Protocol, e.Reason, strings.Join(e.Add, " "), e.TokenConfig, strings.Join(e.fixed(), " "))
}

// fixed is Have with Add in front (Microsoft gives the token to the first
// resource), without Drop, and duplicates removed.
func (e *ScopeError) fixed() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range e.Drop {
		seen[strings.ToLower(s)] = true
	}
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
// Microsoft scopes are judged in tc's cloud (CloudOf).
func CheckScopes(tcName string, tc *config.TokenConfig, acct *config.Account) error {
	mk := func(reason string, add ...string) *ScopeError {
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
	cloud := CloudOf(tc)
	if err := crossCloud(cloud, tc, acct, mk); err != nil {
		return err
	}
	need := cloud.Resource(acct.Protocol)
	got := cloud.TokenResource(tc.Scopes)
	if tc.Flow == config.FlowClientCredentials {
		want := cloud.AppScopes(acct.Protocol)[0]
		if got != need || !hasScopeIn(cloud, tc.Scopes, want) && !(need == cloud.Exchange && hasScopeIn(cloud, tc.Scopes, cloud.Exchange+"/.default")) {
			return mk(fmt.Sprintf("app-only tokens for %s need the %s scope", acct.Protocol, want), want)
		}
		return nil
	}
	var want []string
	switch acct.Protocol {
	case config.IMAP, config.POP3, config.SMTP:
		want = cloud.UserScopes(acct.Protocol)[:1]
	case config.Microsoft:
		if acct.Type == config.Outbound {
			if !hasAnyScope(cloud, tc.Scopes, "mail.send", "mail.send.shared") {
				want = []string{cloud.graphScope("mail.send")}
			}
		} else if !hasAnyScope(cloud, tc.Scopes, "mail.read", "mail.readwrite", "mail.read.shared", "mail.readwrite.shared") {
			want = []string{cloud.graphScope("mail.read")}
		}
	}
	if got != need && got != "" {
		// Replace, not add: scopes of two resources in one request are
		// refused (AADSTS28000) or give a token for the first one only.
		e := mk(fmt.Sprintf("a Microsoft token serves one resource, the first one named in the scopes (%s), but %s needs %s", got, acct.Protocol, need), cloud.UserScopes(acct.Protocol)...)
		for _, sc := range tc.Scopes {
			if r := cloud.ResourceOf(sc); r != "" && r != need {
				e.Drop = append(e.Drop, sc)
			}
		}
		return e
	}
	var missing []string
	for _, w := range want {
		if !hasScopeIn(cloud, tc.Scopes, w) {
			missing = append(missing, w)
		}
	}
	if got == "" && len(missing) == 0 {
		// Only OpenID scopes: Microsoft would issue a Graph token.
		if need != cloud.Graph {
			missing = cloud.UserScopes(acct.Protocol)
		}
	}
	if len(missing) > 0 {
		return mk(fmt.Sprintf("%s needs the scope %s", acct.Protocol, strings.Join(missing, " ")), missing...)
	}
	return nil
}

// crossCloud refuses scopes of another cloud than the one tc signs in to:
// Microsoft would refuse them at sign-in, or issue a token no server of
// the account's cloud accepts.
func crossCloud(cloud *Cloud, tc *config.TokenConfig, acct *config.Account, mk func(string, ...string) *ScopeError) error {
	var other *Cloud
	var drop []string
	for _, s := range tc.Scopes {
		if c := scopeCloud(s); c != nil && c != cloud {
			if other == nil {
				other = c
			}
			drop = append(drop, s)
		}
	}
	if other == nil {
		return nil
	}
	use := cloud.UserScopes(acct.Protocol)
	if tc.Flow == config.FlowClientCredentials {
		use = cloud.AppScopes(acct.Protocol)
	}
	what, verb := "the scope", "belongs"
	if len(drop) > 1 {
		what, verb = "the scopes", "belong"
	}
	e := mk(fmt.Sprintf("%s %s %s to %s, but the token config signs in to %s", what, strings.Join(drop, " "), verb, other.Title, cloud.Title), use...)
	e.Drop = drop
	return e
}

// scopeKey compares scopes the way Microsoft does: case-insensitively, with
// a resource's other spelling (outlook.office365.com for
// outlook.office.com) counted as the same.
func scopeKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	i := strings.LastIndexByte(s, '/')
	if i < 0 || !strings.Contains(s, "://") {
		return s
	}
	if c, graph := CloudOfResource(s[:i]); c != nil && !graph {
		return c.Exchange + s[i:]
	}
	return s
}

// hasScope reports whether scopes hold want in Microsoft's global cloud
// (and for Google, whose scopes are URLs of their own).
func hasScope(scopes []string, want string) bool {
	return hasScopeIn(global, scopes, want)
}

// hasScopeIn reports whether scopes hold want in cloud c: bare Graph
// names may be written qualified with c's Graph.
func hasScopeIn(c *Cloud, scopes []string, want string) bool {
	for _, s := range scopes {
		if scopeKey(s) == scopeKey(want) || scopeKey(s) == scopeKey(c.Graph+"/"+want) {
			return true
		}
	}
	return false
}

func hasAnyScope(c *Cloud, scopes []string, wants ...string) bool {
	for _, w := range wants {
		if hasScopeIn(c, scopes, w) {
			return true
		}
	}
	return false
}
