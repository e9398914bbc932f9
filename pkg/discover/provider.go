package discover

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// MicrosoftOpenIDURL is where a domain's tenant is published; %s is the
// domain.
const MicrosoftOpenIDURL = "https://login.microsoftonline.com/%s/v2.0/.well-known/openid-configuration"

// maxJSON bounds the OpenID configuration (Microsoft's is about 2 KB).
const maxJSON = 256 << 10

// providerOfHost names the provider whose mail exchanger host is.
func providerOfHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case strings.HasSuffix(h, ".mail.protection.outlook.com"), strings.HasSuffix(h, ".mail.protection.outlook.us"),
		strings.HasSuffix(h, ".mail.protection.office365.us"), // GCC High
		strings.HasSuffix(h, ".mail.protection.partner.outlook.cn"),
		// Exchange Online's DNSSEC zones, for domains added since 2024 (and
		// every new one since July 2026): contoso-com.a-v1.mx.microsoft.
		strings.HasSuffix(h, ".mx.microsoft"):
		return ProviderMicrosoft
	case h == "google.com", strings.HasSuffix(h, ".google.com"), h == "googlemail.com", strings.HasSuffix(h, ".googlemail.com"):
		return ProviderGoogle
	}
	return ""
}

// providerOfDomain names the provider of a consumer address domain.
func providerOfDomain(domain string) string {
	switch domain {
	case "gmail.com", "googlemail.com":
		return ProviderGoogle
	}
	return ""
}

// oauthHost reports whether host is a Microsoft or Google mail server,
// which take OAuth2 tokens.
func oauthHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if oauth.CloudOfHost(h) != nil {
		return true
	}
	switch h {
	case "imap.gmail.com", "pop.gmail.com", "smtp.gmail.com", "outlook.office365.com", "smtp.office365.com", "smtp-mail.outlook.com":
		return true
	}
	return false
}

// provider looks up the domain's MX records and, for Microsoft 365 or
// Google, gives the preset's servers.
func (d *run) provider(ctx context.Context) bool {
	lctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	mxs, err := d.opts.Resolver.LookupMX(lctx, d.domain)
	cancel()
	switch {
	case isNotFound(err):
		d.try(SourceMX, d.domain, "no MX records")
	case err != nil:
		d.try(SourceMX, d.domain, "no MX records: "+dnsWords(err))
	default:
		var names []string
		for _, mx := range mxs {
			h := strings.TrimSuffix(strings.ToLower(mx.Host), ".")
			if h == "" || !validDomain(h) {
				continue // "." is a null MX (RFC 7505): no mail
			}
			d.mxs = append(d.mxs, h)
			names = append(names, h)
		}
		if len(names) == 0 {
			d.try(SourceMX, d.domain, "no usable MX record (the domain takes no mail)")
		}
		if len(d.mxs) > 0 {
			d.mxDomain = RegisteredDomain(d.mxs[0])
		}
	}
	prov := providerOfDomain(d.domain)
	for _, h := range d.mxs {
		if prov != "" {
			break
		}
		prov = providerOfHost(h)
	}
	if len(d.mxs) > 0 {
		outcome := "mail exchanger " + strings.Join(firstN(d.mxs, 3), ", ")
		switch prov {
		case ProviderMicrosoft:
			outcome += ": Microsoft 365"
		case ProviderGoogle:
			outcome += ": Google"
		default:
			outcome += ": no known provider"
		}
		d.try(SourceMX, d.domain, outcome)
	} else if prov != "" {
		d.try(SourceMX, d.domain, "Google's own domain")
	}
	switch prov {
	case ProviderMicrosoft:
		d.res.Provider, d.res.Preset = ProviderMicrosoft, config.PresetOffice365
		d.microsoftTenant(ctx)
		return d.take(SourceMX, d.domain, d.presetCandidates(config.PresetOffice365))
	case ProviderGoogle:
		d.res.Provider, d.res.Preset = ProviderGoogle, config.PresetGmail
		return d.take(SourceMX, d.domain, d.presetCandidates(config.PresetGmail))
	}
	return false
}

// presetCandidates are a preset's servers, hosts from config.ApplyPreset
// (and, for Microsoft, from the tenant's cloud).
func (d *run) presetCandidates(preset string) []Candidate {
	var out []Candidate
	protos := []string{config.IMAP, config.POP3, config.SMTP}
	if preset == config.PresetOffice365 {
		protos = append([]string{config.Microsoft}, protos...)
	}
	for _, p := range protos {
		typ := config.Inbound
		if p == config.SMTP {
			typ = config.Outbound
		}
		a := &config.Account{Type: typ, Protocol: p}
		if err := config.ApplyPreset(a, preset); err != nil {
			continue
		}
		host := a.Host
		if c := oauth.CloudNamed(d.res.Cloud); preset == config.PresetOffice365 && c != nil {
			host = c.Host(p)
		}
		port := a.EffectivePort()
		if p == config.Microsoft {
			host, port = graphHost(d.res.Cloud), 443
		}
		out = append(out, Candidate{Protocol: p, Host: host, Port: port, Encryption: a.Encryption, Auth: a.Auth, Login: d.email})
	}
	return out
}

// graphHost is the Graph host of a Microsoft cloud.
func graphHost(cloud string) string {
	c := oauth.CloudNamed(cloud)
	if c == nil {
		c = oauth.GlobalCloud()
	}
	if u, err := url.Parse(c.GraphRoot); err == nil && u.Host != "" {
		return u.Host
	}
	return "graph.microsoft.com"
}

// openIDConfig is the part of Microsoft's OpenID configuration read here.
type openIDConfig struct {
	Issuer        string `json:"issuer"`
	TokenEndpoint string `json:"token_endpoint"`
}

// microsoftTenant reads the domain's tenant id and cloud from Microsoft's
// OpenID configuration.
func (d *run) microsoftTenant(ctx context.Context) {
	u := fmt.Sprintf(MicrosoftOpenIDURL, url.PathEscape(d.domain))
	body, outcome := d.get(ctx, u, maxJSON)
	if body == nil || outcome != "" {
		if body != nil {
			outcome = "refused: " + outcome + " (the tenant is read from Microsoft's own host only)"
		}
		d.try("microsoft-openid", u, outcome)
		return
	}
	var oc openIDConfig
	if err := json.Unmarshal(body, &oc); err != nil {
		d.try("microsoft-openid", u, "not an OpenID configuration: "+jsonWords(err))
		return
	}
	tenant, cloud := tenantOf(oc)
	if tenant == "" {
		d.try("microsoft-openid", u, "no tenant id in the issuer "+clip(oc.Issuer, 100))
		return
	}
	d.res.Tenant, d.res.Cloud = tenant, cloud
	words := "tenant " + tenant
	if c := oauth.CloudNamed(cloud); c != nil {
		words += " in " + c.Title
	}
	d.try("microsoft-openid", u, words)
}

// tenantOf reads the tenant id (a GUID) from the issuer, else from the
// token endpoint, and the cloud from the issuer's host.
func tenantOf(oc openIDConfig) (tenant, cloud string) {
	for _, s := range []string{oc.Issuer, oc.TokenEndpoint} {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			continue
		}
		seg := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(seg) == 0 || !isGUID(seg[0]) {
			continue
		}
		tenant = strings.ToLower(seg[0])
		tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: "https://" + u.Host + "/"}
		if c := oauth.CloudOf(tc); c != nil && containsStr(c.Authorities, strings.ToLower(u.Hostname())) {
			cloud = c.Name
		}
		return tenant, cloud
	}
	return "", ""
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(append([]string(nil), s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
