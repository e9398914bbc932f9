package oauth

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mailport/mailport/pkg/config"
)

// Google's endpoints, used when a google token config leaves them empty.
const (
	GoogleAuthURL   = "https://accounts.google.com/o/oauth2/v2/auth"
	GoogleTokenURL  = "https://oauth2.googleapis.com/token"
	GoogleDeviceURL = "https://oauth2.googleapis.com/device/code"
)

// Endpoints are the URLs of one authorization server.
type Endpoints struct {
	// AuthURL is the authorization endpoint. It may carry query parameters
	// of its own (a Google URL with ?prompt=&access_type=offline does); they are merged into every
	// authorization request, ours winning.
	AuthURL   string
	TokenURL  string
	DeviceURL string // empty when the provider has none configured
	// Tenant is the Microsoft tenant segment of base_url ("" otherwise).
	Tenant string
}

// ResolveEndpoints derives a token config's endpoints. Microsoft URLs come
// from base_url (auth_url / token_url / device_url, when set, win, for
// national clouds and tests); Google gets its well-known URLs by default;
// generic needs them explicit. Warnings are things that work but probably
// are not what the admin wants; they are returned, never printed.
func ResolveEndpoints(tc *config.TokenConfig) (Endpoints, []string, error) {
	var ep Endpoints
	var warnings []string
	switch tc.Provider {
	case config.ProviderMicrosoft:
		if tc.BaseURL == "" && (tc.AuthURL == "" || tc.TokenURL == "") {
			return ep, nil, fmt.Errorf("microsoft token config has no base_url: set it to https://login.microsoftonline.com/<tenant>/")
		}
		if tc.BaseURL != "" {
			u, err := url.Parse(tc.BaseURL)
			if err != nil || u.Scheme == "" || u.Host == "" {
				return ep, nil, fmt.Errorf("base_url %q is not an absolute URL: use https://login.microsoftonline.com/<tenant>/", tc.BaseURL)
			}
			base := strings.TrimRight(tc.BaseURL, "/")
			segs := strings.Split(strings.Trim(u.Path, "/"), "/")
			ep.Tenant = segs[len(segs)-1]
			if ep.Tenant == "" {
				return ep, nil, fmt.Errorf("base_url %q has no tenant: use https://login.microsoftonline.com/<tenant id or domain>/", tc.BaseURL)
			}
			ep.AuthURL = base + "/oauth2/v2.0/authorize"
			ep.TokenURL = base + "/oauth2/v2.0/token"
			ep.DeviceURL = base + "/oauth2/v2.0/devicecode"
			warnings = append(warnings, tenantWarnings(ep.Tenant)...)
		}
	case config.ProviderGoogle:
		ep.AuthURL, ep.TokenURL, ep.DeviceURL = GoogleAuthURL, GoogleTokenURL, GoogleDeviceURL
	case config.ProviderGeneric:
		if tc.AuthURL == "" && tc.Flow != config.FlowClientCredentials && tc.Flow != config.FlowDevice {
			return ep, nil, fmt.Errorf("generic token config has no auth_url: set auth_url and token_url")
		}
		if tc.TokenURL == "" {
			return ep, nil, fmt.Errorf("generic token config has no token_url: set it to the provider's token endpoint")
		}
	default:
		return ep, nil, fmt.Errorf("unknown provider %q: use microsoft, google or generic", tc.Provider)
	}
	if tc.AuthURL != "" {
		ep.AuthURL = tc.AuthURL
	}
	if tc.TokenURL != "" {
		ep.TokenURL = tc.TokenURL
	}
	if tc.DeviceURL != "" {
		ep.DeviceURL = tc.DeviceURL
	}
	for _, u := range []struct{ name, v string }{{"auth_url", ep.AuthURL}, {"token_url", ep.TokenURL}, {"device_url", ep.DeviceURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return ep, nil, fmt.Errorf("%s %q is not an http(s) URL", u.name, u.v)
		}
	}
	return ep, warnings, nil
}

// tenantWarnings flags tenant segments that work for nobody or only for
// multi-tenant apps.
func tenantWarnings(tenant string) []string {
	t := strings.ToLower(tenant)
	switch {
	case t == "common" || t == "organizations":
		return []string{fmt.Sprintf("base_url uses the tenant %q, which Microsoft refuses for single-tenant apps (AADSTS50194): use https://login.microsoftonline.com/<your tenant id or domain>/ unless the app is multi-tenant", tenant)}
	case strings.ContainsAny(t, "{}<>") || t == "tenant" || t == "tenantid" || t == "tenant_id" || t == "tenant-id" ||
		t == "your-tenant" || t == "yourtenant" || t == "mycompany.com" || t == "contoso.com" || t == "example.com":
		return []string{fmt.Sprintf("base_url's tenant %q looks like a placeholder: put your tenant id or domain there, e.g. https://login.microsoftonline.com/yourdomain.com/", tenant)}
	}
	return nil
}

// mergeAuthURL combines the query the configured auth URL already carries
// with the parameters of our request in built (an authorization URL on the
// same endpoint without that query). Ours win; empty values from the config
// ("prompt=") are dropped rather than sent twice or blank.
func mergeAuthURL(configured, built string, provider string) (string, error) {
	cu, err := url.Parse(configured)
	if err != nil {
		return "", fmt.Errorf("auth_url %q: %w", configured, err)
	}
	bu, err := url.Parse(built)
	if err != nil {
		return "", fmt.Errorf("authorization URL: %w", err)
	}
	q := url.Values{}
	for k, vs := range cu.Query() {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	for k, vs := range bu.Query() {
		q[k] = vs
	}
	if provider == config.ProviderGoogle {
		// Without both, Google returns a refresh token only on the very
		// first consent (Google "only sends a refresh token on the
		// first authentication").
		q.Set("access_type", "offline")
		q.Set("prompt", "consent")
	}
	cu.RawQuery = q.Encode()
	return cu.String(), nil
}

// stripQuery returns u without its query string.
func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
