package oauth

import (
	"net/url"
	"strings"

	"github.com/mailport/mailport/pkg/config"
)

// The application ids of Microsoft Graph and Exchange Online. They are the
// same in every cloud; a token's aud may carry one instead of a URL.
const (
	GraphAppID    = "00000003-0000-0000-c000-000000000000"
	ExchangeAppID = "00000002-0000-0ff1-ce00-000000000000"
)

// Cloud is one Microsoft cloud: where users sign in, the resources its
// tokens are issued for, and its mail hosts. A token of one cloud is
// worthless in another, so every resource mailport asks for or checks a
// token against comes from the account's cloud.
type Cloud struct {
	// Name is the short name: global, usgov, usgov-dod, china.
	Name string
	// Title names the cloud in messages.
	Title string
	// Authorities are the sign-in hosts (base_url's host).
	Authorities []string
	// Exchange is Exchange Online: the resource of delegated IMAP, POP and
	// SMTP scopes and of their tokens' audience.
	Exchange string
	// ExchangeApp is the same resource as app-only (client credentials)
	// scopes name it; Microsoft's global cloud spells it differently.
	ExchangeApp string
	Graph       string // the Microsoft Graph resource
	GraphRoot   string // Graph's base URL, version included
	MailHost    string // IMAP and POP3
	SMTPHost    string
}

// clouds is the table of Microsoft clouds; the first is the global one.
// GCC (not High) is the global cloud. GCC High and DoD share the .us
// authority: the scopes tell them apart (CloudOf).
var clouds = []*Cloud{
	{Name: "global", Title: "Microsoft's global cloud", Authorities: []string{"login.microsoftonline.com"},
		Exchange: ResourceOutlook, ExchangeApp: "https://outlook.office365.com",
		Graph: ResourceGraph, GraphRoot: "https://graph.microsoft.com/v1.0",
		MailHost: "outlook.office365.com", SMTPHost: "smtp.office365.com"},
	{Name: "usgov", Title: "US Government (GCC High)", Authorities: []string{"login.microsoftonline.us"},
		Exchange: "https://outlook.office365.us", ExchangeApp: "https://outlook.office365.us",
		Graph: "https://graph.microsoft.us", GraphRoot: "https://graph.microsoft.us/v1.0",
		MailHost: "outlook.office365.us", SMTPHost: "smtp.office365.us"},
	{Name: "usgov-dod", Title: "US Government (DoD)", Authorities: []string{"login.microsoftonline.us"},
		Exchange: "https://outlook-dod.office365.us", ExchangeApp: "https://outlook-dod.office365.us",
		Graph: "https://dod-graph.microsoft.us", GraphRoot: "https://dod-graph.microsoft.us/v1.0",
		MailHost: "outlook-dod.office365.us", SMTPHost: "smtp-dod.office365.us"},
	{Name: "china", Title: "Microsoft Azure operated by 21Vianet (China)", Authorities: []string{"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"},
		Exchange: "https://partner.outlook.cn", ExchangeApp: "https://partner.outlook.cn",
		Graph: "https://microsoftgraph.chinacloudapi.cn", GraphRoot: "https://microsoftgraph.chinacloudapi.cn/v1.0",
		MailHost: "partner.outlook.cn", SMTPHost: "smtp.partner.outlook.cn"},
}

// global is Microsoft's global cloud, the default.
var global = clouds[0]

// GlobalCloud returns Microsoft's global cloud.
func GlobalCloud() *Cloud { return global }

// CloudNamed returns the cloud of a short name (global, usgov, usgov-dod,
// china), nil when there is none.
func CloudNamed(name string) *Cloud {
	for _, c := range clouds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// CloudOf returns the cloud a token config signs in to: that of base_url's
// host, else of auth_url's or token_url's. The .us authority serves both
// GCC High and DoD: it is DoD when the scopes name a DoD resource, else
// GCC High. An authority that is none of Microsoft's (a test server, a
// proxy) leaves the decision to the scopes' resources, and to the global
// cloud when they name none.
func CloudOf(tc *config.TokenConfig) *Cloud {
	if tc == nil {
		return global
	}
	host := ""
	for _, u := range []string{tc.BaseURL, tc.AuthURL, tc.TokenURL} {
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			host = strings.ToLower(p.Hostname())
			break
		}
	}
	byScopes := scopesCloud(tc.Scopes)
	var first *Cloud
	for _, c := range clouds {
		for _, a := range c.Authorities {
			if a != host {
				continue
			}
			if c == byScopes {
				return c
			}
			if first == nil {
				first = c
			}
		}
	}
	switch {
	case first != nil:
		return first
	case byScopes != nil:
		return byScopes
	}
	return global
}

// scopesCloud is the cloud of the first scope that names a known
// resource, nil when none does (bare Graph names and OpenID scopes do not).
func scopesCloud(scopes []string) *Cloud {
	for _, s := range scopes {
		if c := scopeCloud(s); c != nil {
			return c
		}
	}
	return nil
}

// scopeCloud is the cloud whose resource a qualified scope names.
func scopeCloud(scope string) *Cloud {
	s := strings.TrimSpace(scope)
	i := strings.LastIndexByte(s, '/')
	if i < 0 || !strings.Contains(s, "://") {
		return nil
	}
	c, _ := CloudOfResource(s[:i])
	return c
}

// CloudOfResource finds the cloud of a resource URL (case and a trailing
// slash do not matter) and says whether it is that cloud's Graph; nil when
// no cloud has the resource. The application ids name no cloud.
func CloudOfResource(resource string) (c *Cloud, graph bool) {
	r := strings.ToLower(strings.TrimRight(strings.TrimSpace(resource), "/"))
	for _, c := range clouds {
		switch r {
		case c.Graph:
			return c, true
		case c.Exchange, c.ExchangeApp:
			return c, false
		}
	}
	return nil, false
}

// CloudOfHost returns the cloud whose IMAP, POP or SMTP host host is, nil
// for any other host.
func CloudOfHost(host string) *Cloud {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, c := range clouds {
		if h == c.MailHost || h == c.SMTPHost {
			return c
		}
	}
	return nil
}

// Host is the cloud's server for an account protocol: the SMTP host for
// smtp, the IMAP/POP host otherwise.
func (c *Cloud) Host(protocol string) string {
	if protocol == config.SMTP {
		return c.SMTPHost
	}
	return c.MailHost
}

// IsGlobal reports whether c is Microsoft's global cloud.
func (c *Cloud) IsGlobal() bool { return c == global }

// Resource is the resource a protocol's tokens are for: Graph for
// protocol microsoft, Exchange Online for IMAP, POP and SMTP.
func (c *Cloud) Resource(protocol string) string {
	if protocol == config.Microsoft {
		return c.Graph
	}
	return c.Exchange
}

// ServesAudience reports whether a token audience (a resource URL or an
// application id) is the cloud's resource for protocol.
func (c *Cloud) ServesAudience(protocol, aud string) bool {
	a := strings.ToLower(strings.TrimSpace(aud))
	if protocol == config.Microsoft && a == GraphAppID || protocol != config.Microsoft && a == ExchangeAppID {
		return true
	}
	return c.ResourceOf(strings.TrimRight(a, "/")+"/x") == c.Resource(protocol)
}
