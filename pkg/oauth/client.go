package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/resolver"
)

// Client is one OAuth2 client registration ready to talk to its
// authorization server: a token config with its endpoints and secret.
type Client struct {
	Name string // the token config's name
	// Account is the account the client gets tokens for, when one is
	// known; a provider's refusal names it in its hint.
	Account   string
	Config    *config.TokenConfig
	Endpoints Endpoints
	Secret    string // client secret; "" for a public client
	// Assertion, when set, authenticates the client with an RFC 7523
	// client assertion (a certificate's signature or a federated token)
	// in place of the secret; it is called once per token request.
	Assertion AssertionFunc
	// HTTP is the client for token requests; nil means a client with a
	// 30-second timeout whose connections go through pkg/resolver
	// (MAILPORT_RESOLVER).
	HTTP *http.Client
	// Now is the clock tokens' times are based on; nil means time.Now.
	Now func() time.Time
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// NewClient resolves tc's endpoints. secret may be empty (public client).
// The warnings come from ResolveEndpoints.
func NewClient(name string, tc *config.TokenConfig, secret string, hc *http.Client) (*Client, []string, error) {
	ep, warnings, err := ResolveEndpoints(tc)
	if err != nil {
		return nil, nil, fmt.Errorf("token config %s: %w", name, err)
	}
	return &Client{Name: name, Config: tc, Endpoints: ep, Secret: secret, HTTP: hc}, warnings, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: resolver.Transport(nil, 30*time.Second)}
}

// oauth2Config is the x/oauth2 view of the client for the user flow.
func (c *Client) oauth2Config(redirect string, scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.Config.ClientID,
		ClientSecret: c.Secret,
		RedirectURL:  redirect,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:       stripQuery(c.Endpoints.AuthURL),
			TokenURL:      c.Endpoints.TokenURL,
			DeviceAuthURL: c.Endpoints.DeviceURL,
			// Both Microsoft and Google take the secret in the body;
			// auto-detection would send a second request on every failure.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
}

// postToken sends one token request with the client's credentials in the
// body and returns the token or a *ProviderError.
func (c *Client) postToken(ctx context.Context, form url.Values) (*oauth2.Token, error) {
	// A JWT-bearer grant authenticates with its signed assertion alone
	// (and the "secret" of a service account is its key).
	if form.Get("grant_type") != GrantJWTBearer {
		form.Set("client_id", c.Config.ClientID)
		if err := c.authenticate(ctx, form); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoints.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request to %s: %w", c.Endpoints.TokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request to %s: %w", c.Endpoints.TokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the token response of %s: %w", c.Endpoints.TokenURL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		pe := parseProviderError("token", resp.StatusCode, body, nil)
		pe.TokenConfig, pe.Account = c.Name, c.Account
		return nil, pe
	}
	t, err := parseTokenResponse(body, time.Now())
	if err != nil {
		return nil, fmt.Errorf("the token endpoint %s %w", c.Endpoints.TokenURL, err)
	}
	return t, nil
}

// maxExpiresIn caps a token lifetime a provider announces: more than a
// year is nonsense, and a huge number would overflow into an expiry in
// the past.
const maxExpiresIn = 366 * 24 * 60 * 60

// parseTokenResponse reads a token endpoint's JSON answer (at most 1 MiB,
// read by the caller). Errors complete "the token endpoint URL ...".
func parseTokenResponse(body []byte, now time.Time) (*oauth2.Token, error) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("answered something that is not JSON: %w", err)
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	t := &oauth2.Token{AccessToken: str("access_token"), TokenType: str("token_type"), RefreshToken: str("refresh_token")}
	var secs float64
	switch v := raw["expires_in"].(type) {
	case float64:
		secs = v
	case string:
		secs, _ = strconv.ParseFloat(v, 64) // Microsoft v1 sends a string; garbage means unknown
	}
	switch {
	case secs > maxExpiresIn:
		t.ExpiresIn = maxExpiresIn
	case secs >= 1:
		t.ExpiresIn = int64(secs)
	}
	if t.ExpiresIn > 0 {
		t.Expiry = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	if t.AccessToken == "" {
		return nil, errors.New("answered without an access_token")
	}
	return t.WithExtra(raw), nil
}

// refresh redeems a refresh token. The scopes are sent because Microsoft
// issues the token for the resource of the scopes asked for.
func (c *Client) refresh(ctx context.Context, refreshToken string, scopes []string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	return c.postToken(ctx, form)
}

// ClientCredentials fetches an app-only token.
func (c *Client) clientCredentials(ctx context.Context, scopes []string) (*oauth2.Token, error) {
	if c.Secret == "" && c.Assertion == nil {
		return nil, fmt.Errorf("token config %s uses client credentials but has no client secret: store it with mailport token-config edit %s --client-secret-stdin", c.Name, c.Name)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	return c.postToken(ctx, form)
}

// scopes are the token config's scopes, or the defaults for protocol.
func (c *Client) scopes(protocol string) []string {
	if len(c.Config.Scopes) > 0 {
		return c.Config.Scopes
	}
	return DefaultScopes(c.Config.Provider, c.Config.Flow, protocol)
}
