// Package oauthtest is a fake OAuth2 authorization server for tests and the
// demo, shaped like Microsoft's and Google's so the code under test cannot
// tell: Microsoft's /{tenant}/oauth2/v2.0/authorize|token|devicecode with
// AADSTS error texts and JWT access tokens whose aud and scp follow the
// requested scopes, Google's /o/oauth2/v2/auth, /token, /device/code,
// /revoke and /tokeninfo with opaque tokens and its refresh-token rules.
//
// The authorize endpoint approves at once as the configured user and
// redirects to the redirect URI, so a headless browser can complete a
// sign-in. /introspect answers Dovecot's oauth2 passdb (GET with
// "Authorization: Bearer TOKEN", 2xx JSON with active and username for a
// valid token, 401 otherwise) and can require an audience or scope so a
// wrong-audience token is refused by a real Dovecot.
//
// Every request is counted per endpoint and grant, so a test can assert,
// for instance, that exactly one refresh reached the server.
package oauthtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client is a registered application.
type Client struct {
	ID     string
	Secret string // "" for a public client
	// RedirectURIs registered; empty accepts any http loopback URI. As at
	// Microsoft and Google, a loopback URI matches whatever its port.
	RedirectURIs []string
	// MultiTenant apps may use the common and organizations tenants;
	// single-tenant ones get AADSTS50194 there.
	MultiTenant bool
	// AppRoles are the roles of app-only (client credentials) tokens;
	// nil gives IMAP/POP/SMTP roles for Outlook and Mail roles for Graph.
	AppRoles []string
	// Certificate, when set, is the app's certificate credential: client
	// assertions signed with its key (RS256 or PS256, header x5t#S256 or
	// x5t naming it) authenticate the client.
	Certificate *x509.Certificate
	// Federated are the app's federated credentials.
	Federated []FederatedIdentity
	// AppMailbox is the mailbox the app's service principal was given
	// (Exchange's Add-MailboxPermission): app-only tokens introspect as
	// that user, so Dovecot and the fake Graph let them in.
	AppMailbox string
}

// Options configure a Server. The zero value is usable.
type Options struct {
	Tenant    string           // Microsoft tenant (domain); default "mailport-test.onmicrosoft.com"
	User      string           // who signs in at the authorize endpoint; default "alice@mailport-test.onmicrosoft.com"
	AccessTTL time.Duration    // access token lifetime; default 1h
	Now       func() time.Time // default time.Now
	// KeepRotatedRefreshTokens leaves a refresh token valid after it was
	// used (as Microsoft does). By default a used refresh token dies,
	// which makes any refresh race visible.
	KeepRotatedRefreshTokens bool
	// RevokeFamilyOnReuse plays a provider's reuse detection: a refresh
	// token presented a second time revokes its whole grant (every
	// refresh and access token descended from the same sign-in), as
	// rotating providers do when they suspect a stolen token.
	RevokeFamilyOnReuse bool
	// DeviceInterval is the polling interval the device endpoint announces
	// (seconds); default 5.
	DeviceInterval int
	// GraphResource is the Graph that bare scope names ("mail.read") and
	// requests of OpenID scopes only get tokens for; default
	// https://graph.microsoft.com. Set a national cloud's Graph (e.g.
	// https://graph.microsoft.us) to play that cloud's authority.
	GraphResource string
}

// Error is a scripted refusal.
type Error struct {
	Status      int    // HTTP status; default 400
	Code        string // e.g. invalid_grant
	AADSTS      int    // Microsoft code; 0 for Google-shaped errors
	Description string // text after "AADSTSnnn: "
}

type codeInfo struct {
	client, redirect, challenge, method, user, provider, tenant string
	scopes                                                      []string
	offline                                                     bool
	used                                                        bool
}

type grantInfo struct {
	client, user, provider, tenant string
	scopes                         []string
	revoked                        bool
}

type accessInfo struct {
	client, user, provider, audience string
	scopes                           []string // short names (Microsoft scp) or Google scopes
	roles                            []string
	exp                              time.Time
	grant                            *grantInfo // nil for app-only tokens
	revoked                          bool
}

type deviceInfo struct {
	client, provider, tenant string
	scopes                   []string
	steps                    []string
	expires                  time.Time
	done                     bool
}

// Server is the fake authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the server's base, http://127.0.0.1:PORT.
	URL      string
	Tenant   string
	TenantID string

	srv  *httptest.Server
	opts Options

	mu            sync.Mutex
	user          string
	clients       map[string]*Client
	codes         map[string]*codeInfo
	refresh       map[string]*grantInfo
	usedRefresh   map[string]*grantInfo // redeemed and rotated away
	access        map[string]*accessInfo
	devices       map[string]*deviceInfo
	consented     map[string]bool // Google: client+user pairs that consented before
	counts        map[string]int
	lastAuthorize url.Values
	authorizeErr  *Error
	tokenErrs     map[string][]Error
	deviceScript  []string
	introAud      string
	introScope    string
	withhold      bool
	jtis          map[string]bool // client id + jti of accepted assertions
	lastTokenForm url.Values
	sa            saState // Google service accounts (serviceaccount.go)
}

// New starts a server on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.Tenant == "" {
		opts.Tenant = "mailport-test.onmicrosoft.com"
	}
	if opts.User == "" {
		opts.User = "alice@mailport-test.onmicrosoft.com"
	}
	if opts.AccessTTL == 0 {
		opts.AccessTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DeviceInterval == 0 {
		opts.DeviceInterval = 5
	}
	if opts.GraphResource == "" {
		opts.GraphResource = "https://graph.microsoft.com"
	}
	s := &Server{
		Tenant: opts.Tenant, TenantID: guidFor("tenant:" + opts.Tenant), opts: opts, user: opts.User,
		clients: map[string]*Client{}, codes: map[string]*codeInfo{}, refresh: map[string]*grantInfo{}, usedRefresh: map[string]*grantInfo{},
		access: map[string]*accessInfo{}, devices: map[string]*deviceInfo{}, consented: map[string]bool{},
		counts: map[string]int{}, tokenErrs: map[string][]Error{}, jtis: map[string]bool{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.route))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddClient registers an application, replacing one with the same id.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	s.clients[c.ID] = &cc
}

// SetUser changes who signs in at the authorize and device endpoints.
func (s *Server) SetUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = user
}

// MicrosoftBaseURL is the base_url of a Microsoft token config for tenant
// ("" means the server's tenant).
func (s *Server) MicrosoftBaseURL(tenant string) string {
	if tenant == "" {
		tenant = s.Tenant
	}
	return s.URL + "/" + tenant + "/"
}

// Google endpoints.
func (s *Server) GoogleAuthURL() string   { return s.URL + "/o/oauth2/v2/auth" }
func (s *Server) GoogleTokenURL() string  { return s.URL + "/token" }
func (s *Server) GoogleDeviceURL() string { return s.URL + "/device/code" }

// IntrospectURL is the introspection endpoint for Dovecot's oauth2 passdb.
func (s *Server) IntrospectURL() string { return s.URL + "/introspect" }

// Count returns how many requests reached an endpoint: "authorize",
// "token", "token:<grant_type>" (e.g. "token:refresh_token"), "devicecode",
// "introspect", "revoke", "tokeninfo", and "refresh_reuse" (a refresh
// token presented again after it was redeemed).
func (s *Server) Count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

// LastAuthorize returns the query of the last authorize request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthorize
}

// FailAuthorize makes the next authorize request redirect back with an
// error (e.g. access_denied) instead of a code.
func (s *Server) FailAuthorize(e Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorizeErr = &e
}

// FailToken makes the next token request of grantType fail with e
// (several calls queue several failures).
func (s *Server) FailToken(grantType string, e Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenErrs[grantType] = append(s.tokenErrs[grantType], e)
}

// SetDeviceScript scripts the answers to polls of the next device codes:
// each step is "authorization_pending", "slow_down", "access_denied" or
// "expired_token"; after the last step the sign-in is approved.
func (s *Server) SetDeviceScript(steps ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceScript = append([]string(nil), steps...)
}

// RequireIntrospection makes /introspect refuse tokens whose audience is
// not aud or that lack scope (a Microsoft short name such as
// "IMAP.AccessAsUser.All", or a Google scope). Empty values require nothing.
func (s *Server) RequireIntrospection(aud, scope string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.introAud, s.introScope = aud, scope
}

// RevokeUser revokes every refresh and access token of user (an admin's
// "revoke sessions", or a password change).
func (s *Server) RevokeUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.refresh {
		if strings.EqualFold(g.user, user) {
			g.revoked = true
		}
	}
	for _, a := range s.access {
		if strings.EqualFold(a.user, user) {
			a.revoked = true
		}
	}
}

// ExpireAccessTokens makes every issued access token expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.exp = s.opts.Now().Add(-time.Second)
	}
}

// WithholdRefreshTokens makes Google-shaped sign-ins return no refresh
// token, as Google does for a user who consented before when prompt=consent
// is missing.
func (s *Server) WithholdRefreshTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.withhold = on
}

// RefreshTokens returns how many refresh tokens are currently valid.
func (s *Server) RefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.refresh {
		if !g.revoked {
			n++
		}
	}
	return n
}

func (s *Server) count(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.counts[n]++
	}
}

// route dispatches by path, Microsoft's shape first.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/o/oauth2/v2/auth":
		s.authorize(w, r, "google", "")
	case p == "/token":
		s.token(w, r, "google", "")
	case p == "/device/code":
		s.deviceCode(w, r, "google", "")
	case p == "/revoke":
		s.revoke(w, r)
	case p == "/tokeninfo":
		s.tokeninfo(w, r)
	case p == "/introspect":
		s.introspect(w, r)
	case p == "/devicelogin" || p == "/device":
		s.count("devicelogin")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><h1>Enter code</h1><p>The fake server approves device codes by script.</p></body></html>")
	default:
		parts := strings.Split(strings.Trim(p, "/"), "/")
		if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" {
			tenant := parts[0]
			switch parts[3] {
			case "authorize":
				s.authorize(w, r, "microsoft", tenant)
				return
			case "token":
				s.token(w, r, "microsoft", tenant)
				return
			case "devicecode":
				s.deviceCode(w, r, "microsoft", tenant)
				return
			}
		}
		http.NotFound(w, r)
	}
}

// tenantOK checks the tenant segment; "" when fine, else the AADSTS error.
func (s *Server) tenantOK(tenant string, c *Client) *Error {
	switch strings.ToLower(tenant) {
	case strings.ToLower(s.Tenant), s.TenantID:
		return nil
	case "common", "organizations":
		if c != nil && !c.MultiTenant {
			return &Error{Code: "invalid_request", AADSTS: 50194, Description: fmt.Sprintf("Application '%s'(mailport test app) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.", c.ID)}
		}
		return nil
	}
	return &Error{Code: "invalid_request", AADSTS: 90002, Description: fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)}
}

// redirectAllowed matches a redirect URI the way Entra and Google do.
func redirectAllowed(c *Client, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return false
	}
	loop := u.Scheme == "http" && isLoopback(u.Hostname())
	if len(c.RedirectURIs) == 0 {
		return loop
	}
	for _, reg := range c.RedirectURIs {
		if reg == uri {
			return true
		}
		ru, err := url.Parse(reg)
		if err != nil || !loop {
			continue
		}
		if ru.Scheme == u.Scheme && ru.Hostname() == u.Hostname() && ru.Path == u.Path {
			return true // loopback: any port
		}
	}
	return false
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func errorPage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>", html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, provider, tenant string) {
	s.count("authorize")
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q
	c := s.clients[q.Get("client_id")]
	user := s.user
	failure := s.authorizeErr
	s.authorizeErr = nil
	s.mu.Unlock()

	if c == nil {
		if provider == "microsoft" {
			errorPage(w, http.StatusBadRequest, "Sign in", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", q.Get("client_id"), s.Tenant))
		} else {
			errorPage(w, http.StatusUnauthorized, "Access blocked: Authorization Error", "The OAuth client was not found. Error 401: invalid_client")
		}
		return
	}
	if provider == "microsoft" {
		if e := s.tenantOK(tenant, c); e != nil {
			errorPage(w, http.StatusBadRequest, "Sign in", fmt.Sprintf("AADSTS%d: %s", e.AADSTS, e.Description))
			return
		}
	}
	redirect := q.Get("redirect_uri")
	if !redirectAllowed(c, redirect) {
		if provider == "microsoft" {
			errorPage(w, http.StatusBadRequest, "Sign in", fmt.Sprintf("AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", redirect, c.ID))
		} else {
			errorPage(w, http.StatusBadRequest, "Access blocked: This app's request is invalid", "Error 400: redirect_uri_mismatch")
		}
		return
	}
	ru, _ := url.Parse(redirect) // redirectAllowed parsed it
	back := ru.Query()
	back.Set("state", q.Get("state"))
	switch {
	case failure != nil:
		back.Set("error", failure.Code)
		back.Set("error_description", describe(provider, *failure))
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
		back.Set("error_description", describe(provider, Error{AADSTS: 70005, Description: "response_type '" + q.Get("response_type") + "' is not supported."}))
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256" && q.Get("code_challenge_method") != "plain" && q.Get("code_challenge_method") != "":
		back.Set("error", "invalid_request")
		back.Set("error_description", describe(provider, Error{AADSTS: 501491, Description: "Invalid code_challenge_method."}))
	default:
		scopes := strings.Fields(q.Get("scope"))
		ci := &codeInfo{client: c.ID, redirect: redirect, challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
			user: user, provider: provider, tenant: tenant, scopes: scopes}
		if provider == "google" {
			// Google sends a refresh token for offline access on the first
			// consent of a user to a client, and again only with prompt=consent.
			key := c.ID + "\x00" + user
			s.mu.Lock()
			first := !s.consented[key]
			s.consented[key] = true
			withhold := s.withhold
			s.mu.Unlock()
			ci.offline = !withhold && q.Get("access_type") == "offline" && (first || strings.Contains(q.Get("prompt"), "consent"))
		} else {
			ci.offline = containsFold(scopes, "offline_access")
		}
		code := randomString(32)
		if provider == "microsoft" {
			code = "0.A" + code
		} else {
			code = "4/0A" + code
		}
		s.mu.Lock()
		s.codes[code] = ci
		s.mu.Unlock()
		back.Set("code", code)
		if provider == "microsoft" {
			back.Set("session_state", guidFor(code))
		} else {
			back.Set("scope", q.Get("scope"))
			back.Set("authuser", "0")
			back.Set("prompt", "consent")
		}
	}
	ru.RawQuery = back.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// describe renders an error description in the provider's style.
func describe(provider string, e Error) string {
	if provider == "microsoft" && e.AADSTS != 0 {
		now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
		return fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.AADSTS, e.Description, guidFor(randomString(8)), guidFor(randomString(8)), now)
	}
	return e.Description
}

// writeError answers a token or device request with e in the provider's JSON shape.
func writeError(w http.ResponseWriter, provider string, e Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	body := map[string]any{"error": e.Code, "error_description": describe(provider, e)}
	if provider == "microsoft" && e.AADSTS != 0 {
		body["error_codes"] = []int{e.AADSTS}
		body["timestamp"] = time.Now().UTC().Format("2006-01-02 15:04:05Z")
		body["trace_id"] = guidFor(randomString(8))
		body["correlation_id"] = guidFor(randomString(8))
		body["error_uri"] = fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.AADSTS)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// LastTokenRequest returns the form of the last token request (a copy).
func (s *Server) LastTokenRequest() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := url.Values{}
	for k, v := range s.lastTokenForm {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// clientAuth checks the client's credentials from the body or Basic auth:
// a client assertion, or the secret.
func (s *Server) clientAuth(r *http.Request, provider string, secretRequired bool) (*Client, *Error) {
	id, sec := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		sec, _ = url.QueryUnescape(p)
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil {
		if provider == "microsoft" {
			return nil, &Error{Status: 400, Code: "unauthorized_client", AADSTS: 700016, Description: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, s.Tenant)}
		}
		return nil, &Error{Status: 401, Code: "invalid_client", Description: "The OAuth client was not found."}
	}
	if r.PostForm.Get("client_assertion") != "" || r.PostForm.Get("client_assertion_type") != "" {
		if e := s.assertionClient(r, c, provider); e != nil {
			return nil, e
		}
		return c, nil
	}
	if c.Secret == "" {
		return c, nil
	}
	if sec == "" {
		if !secretRequired {
			return c, nil
		}
		if provider == "microsoft" {
			return nil, &Error{Status: 401, Code: "invalid_client", AADSTS: 7000218, Description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
		}
		return nil, &Error{Status: 400, Code: "invalid_request", Description: "client_secret is missing."}
	}
	if subtle.ConstantTimeCompare([]byte(sec), []byte(c.Secret)) != 1 {
		if provider == "microsoft" {
			return nil, &Error{Status: 401, Code: "invalid_client", AADSTS: 7000215, Description: fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", c.ID)}
		}
		return nil, &Error{Status: 401, Code: "invalid_client", Description: "Unauthorized"}
	}
	return c, nil
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, provider, tenant string) {
	if r.Method != http.MethodPost {
		s.count("token")
		writeError(w, provider, Error{Status: 405, Code: "invalid_request", AADSTS: 900561, Description: "The endpoint only accepts POST requests."})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.count("token")
		writeError(w, provider, Error{Code: "invalid_request", AADSTS: 900144, Description: "The request body is not a form."})
		return
	}
	grant := r.PostForm.Get("grant_type")
	s.count("token", "token:"+grant)
	s.mu.Lock()
	s.lastTokenForm = r.PostForm
	s.mu.Unlock()

	s.mu.Lock()
	var scripted *Error
	if q := s.tokenErrs[grant]; len(q) > 0 {
		e := q[0]
		scripted = &e
		s.tokenErrs[grant] = q[1:]
	}
	s.mu.Unlock()
	if scripted != nil {
		writeError(w, provider, *scripted)
		return
	}

	if jwtBearerForm(r.PostForm, provider) {
		s.jwtBearer(w, r) // the signed assertion is the client's credential
		return
	}
	c, cerr := s.clientAuth(r, provider, grant != "urn:ietf:params:oauth:grant-type:device_code")
	if cerr != nil {
		writeError(w, provider, *cerr)
		return
	}
	if provider == "microsoft" {
		if e := s.tenantOK(tenant, c); e != nil {
			writeError(w, provider, *e)
			return
		}
	}
	switch grant {
	case "authorization_code":
		s.redeemCode(w, r, c, provider)
	case "refresh_token":
		s.redeemRefresh(w, r, c, provider)
	case "client_credentials":
		s.clientCredentials(w, r, c, provider)
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.redeemDevice(w, r, c, provider)
	default:
		writeError(w, provider, Error{Code: "unsupported_grant_type", AADSTS: 70003, Description: fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant)})
	}
}

func invalidGrant(provider string, aadsts int, ms, google string) Error {
	if provider == "microsoft" {
		return Error{Code: "invalid_grant", AADSTS: aadsts, Description: ms}
	}
	return Error{Code: "invalid_grant", Description: google}
}

func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, c *Client, provider string) {
	code := r.PostForm.Get("code")
	s.mu.Lock()
	ci := s.codes[code]
	var used bool
	if ci != nil {
		used = ci.used
		ci.used = true
	}
	s.mu.Unlock()
	switch {
	case ci == nil || ci.client != c.ID || ci.provider != provider:
		writeError(w, provider, invalidGrant(provider, 9002313, "Invalid request. Request is malformed or invalid.", "Malformed auth code."))
		return
	case used:
		writeError(w, provider, invalidGrant(provider, 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", "Bad Request"))
		return
	case r.PostForm.Get("redirect_uri") != ci.redirect:
		if provider == "microsoft" {
			writeError(w, provider, Error{Code: "invalid_grant", AADSTS: 500117, Description: "The reply uri specified in the request isn't expected."})
		} else {
			writeError(w, provider, Error{Code: "redirect_uri_mismatch", Description: "Bad Request"})
		}
		return
	}
	if ci.challenge != "" {
		v := r.PostForm.Get("code_verifier")
		if v == "" {
			if provider == "microsoft" {
				writeError(w, provider, Error{Code: "invalid_request", AADSTS: 50148, Description: "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."})
			} else {
				writeError(w, provider, Error{Code: "invalid_request", Description: "code_verifier is missing."})
			}
			return
		}
		want := v
		if ci.method == "S256" {
			sum := sha256.Sum256([]byte(v))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(ci.challenge)) != 1 {
			writeError(w, provider, invalidGrant(provider, 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.", "Invalid code verifier."))
			return
		}
	}
	s.issue(w, c, provider, ci.tenant, ci.user, ci.scopes, ci.offline, nil)
}

func (s *Server) redeemRefresh(w http.ResponseWriter, r *http.Request, c *Client, provider string) {
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	g := s.refresh[rt]
	if g != nil && g.client == c.ID && g.provider == provider && !g.revoked && provider == "microsoft" && !s.opts.KeepRotatedRefreshTokens {
		// Used once: gone at once, so two concurrent redemptions
		// cannot both succeed.
		delete(s.refresh, rt)
		s.usedRefresh[rt] = g
	}
	if reused := s.usedRefresh[rt]; g == nil && reused != nil {
		s.counts["refresh_reuse"]++
		if s.opts.RevokeFamilyOnReuse {
			reused.revoked = true
			for _, a := range s.access {
				if a.grant == reused {
					a.revoked = true
				}
			}
		}
	}
	s.mu.Unlock()
	switch {
	case g == nil || g.client != c.ID || g.provider != provider:
		writeError(w, provider, invalidGrant(provider, 70000, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.", "Bad Request"))
		return
	case g.revoked:
		writeError(w, provider, invalidGrant(provider, 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.", "Token has been expired or revoked."))
		return
	}
	scopes := g.scopes
	if sc := strings.Fields(r.PostForm.Get("scope")); len(sc) > 0 {
		scopes = sc
	}
	if provider == "microsoft" {
		s.issue(w, c, provider, g.tenant, g.user, scopes, true, g)
		return
	}
	// Google keeps the refresh token and sends none back.
	s.issue(w, c, provider, g.tenant, g.user, scopes, false, g)
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, c *Client, provider string) {
	if c.Secret == "" && r.PostForm.Get("client_assertion") == "" {
		writeError(w, provider, Error{Status: 401, Code: "invalid_client", AADSTS: 7000218, Description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."})
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if provider == "microsoft" {
		if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
			writeError(w, provider, Error{Code: "invalid_scope", AADSTS: 1002012, Description: fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", strings.Join(scopes, " "))})
			return
		}
	}
	resource := strings.TrimSuffix(scopes0(scopes), "/.default")
	roles := c.AppRoles
	if roles == nil {
		// Every cloud's Graph host has "graph" in its name
		// (graph.microsoft.us, dod-graph.microsoft.us,
		// microsoftgraph.chinacloudapi.cn); Exchange's none.
		if strings.Contains(strings.ToLower(resource), "graph") {
			roles = []string{"Mail.ReadWrite", "Mail.Send"}
		} else {
			roles = []string{"IMAP.AccessAsApp", "POP.AccessAsApp", "SMTP.SendAsApp"}
		}
	}
	now := s.opts.Now()
	exp := now.Add(s.opts.AccessTTL)
	claims := map[string]any{
		"aud": resource, "iss": "https://sts.windows.net/" + s.TenantID + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"tid": s.TenantID, "appid": c.ID, "oid": guidFor("sp:" + c.ID), "sub": guidFor("sp:" + c.ID), "roles": roles, "ver": "1.0", "idtyp": "app",
	}
	at := jwt(claims)
	s.mu.Lock()
	s.access[at] = &accessInfo{client: c.ID, user: c.AppMailbox, provider: provider, audience: resource, roles: roles, exp: exp}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(s.opts.AccessTTL.Seconds()), "ext_expires_in": int(s.opts.AccessTTL.Seconds()), "access_token": at})
}

func scopes0(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// issue answers with a new access token (and refresh token when offline).
func (s *Server) issue(w http.ResponseWriter, c *Client, provider, tenant, user string, scopes []string, offline bool, grant *grantInfo) {
	now := s.opts.Now()
	exp := now.Add(s.opts.AccessTTL)
	resp := map[string]any{"token_type": "Bearer", "expires_in": int(s.opts.AccessTTL.Seconds())}
	ai := &accessInfo{client: c.ID, user: user, provider: provider, exp: exp}
	var at, scopeStr string
	var openid, email bool
	if provider == "microsoft" {
		g := microsoftGrant(scopes, s.opts.GraphResource)
		openid, email = g.openid, g.email
		ai.audience, ai.scopes = g.resource, g.short
		at = jwt(map[string]any{
			"aud": g.resource, "iss": "https://sts.windows.net/" + s.TenantID + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
			"tid": s.TenantID, "upn": user, "unique_name": user, "name": nameOf(user), "oid": guidFor("user:" + user),
			"scp": strings.Join(g.short, " "), "appid": c.ID, "ver": "1.0", "jti": randomString(12),
		})
		scopeStr = strings.Join(g.granted, " ")
		resp["ext_expires_in"] = int(s.opts.AccessTTL.Seconds())
	} else {
		at = "ya29.a0" + randomString(48)
		ai.audience, ai.scopes = c.ID, scopes
		openid, email = containsFold(scopes, "openid"), containsFold(scopes, "email")
		scopeStr = strings.Join(scopes, " ")
	}
	resp["access_token"], resp["scope"] = at, scopeStr
	s.mu.Lock()
	defer s.mu.Unlock()
	if grant == nil {
		grant = &grantInfo{client: c.ID, user: user, provider: provider, tenant: tenant, scopes: scopes}
	}
	ai.grant = grant
	s.access[at] = ai
	if offline {
		rt := "1//0" + randomString(40)
		if provider == "microsoft" {
			rt = "0.AR" + randomString(60)
		}
		s.refresh[rt] = grant
		resp["refresh_token"] = rt
	}
	if openid {
		id := map[string]any{"aud": c.ID, "iat": now.Unix(), "exp": exp.Unix(), "sub": guidFor("user:" + user), "name": nameOf(user)}
		if provider == "microsoft" {
			id["iss"] = "https://login.microsoftonline.com/" + s.TenantID + "/v2.0"
			id["tid"] = s.TenantID
			id["preferred_username"] = user
		} else {
			id["iss"] = "https://accounts.google.com"
		}
		if email {
			id["email"] = user
		}
		resp["id_token"] = jwt(id)
	}
	writeJSON(w, http.StatusOK, resp)
}

func nameOf(user string) string {
	if i := strings.IndexByte(user, '@'); i > 0 {
		return user[:i]
	}
	return user
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request, provider, tenant string) {
	s.count("devicecode")
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeError(w, provider, Error{Code: "invalid_request", AADSTS: 900144, Description: "The device authorization endpoint takes a POSTed form."})
		return
	}
	s.mu.Lock()
	c := s.clients[r.PostForm.Get("client_id")]
	steps := s.deviceScript
	s.mu.Unlock()
	if c == nil {
		if provider == "microsoft" {
			writeError(w, provider, Error{Code: "unauthorized_client", AADSTS: 700016, Description: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", r.PostForm.Get("client_id"), s.Tenant)})
		} else {
			writeError(w, provider, Error{Status: 401, Code: "invalid_client", Description: "The OAuth client was not found."})
		}
		return
	}
	if provider == "microsoft" {
		if e := s.tenantOK(tenant, c); e != nil {
			writeError(w, provider, *e)
			return
		}
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if provider == "google" {
		for _, sc := range scopes {
			if sc == "https://mail.google.com/" {
				writeError(w, provider, Error{Code: "invalid_scope", Description: "Invalid device flow scope: https://mail.google.com/"})
				return
			}
		}
	}
	dc := randomString(40)
	uc := strings.ToUpper(randomString(6))[:8]
	s.mu.Lock()
	s.devices[dc] = &deviceInfo{client: c.ID, provider: provider, tenant: tenant, scopes: scopes, steps: append([]string(nil), steps...), expires: s.opts.Now().Add(15 * time.Minute)}
	s.mu.Unlock()
	if provider == "microsoft" {
		writeJSON(w, http.StatusOK, map[string]any{
			"user_code": uc, "device_code": dc, "verification_uri": s.URL + "/devicelogin", "expires_in": 900, "interval": s.opts.DeviceInterval,
			"message": fmt.Sprintf("To sign in, use a web browser to open the page %s/devicelogin and enter the code %s to authenticate.", s.URL, uc),
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_code": dc, "user_code": uc, "verification_url": s.URL + "/device", "expires_in": 1800, "interval": s.opts.DeviceInterval})
}

func (s *Server) redeemDevice(w http.ResponseWriter, r *http.Request, c *Client, provider string) {
	dc := r.PostForm.Get("device_code")
	s.mu.Lock()
	d := s.devices[dc]
	var step string
	valid := d != nil && d.client == c.ID && !d.done
	if valid && len(d.steps) > 0 {
		step, d.steps = d.steps[0], d.steps[1:]
	}
	if valid && (step == "" || step == "access_denied" || step == "expired_token") {
		d.done = true
	}
	user := s.user
	s.mu.Unlock()
	if !valid {
		writeError(w, provider, invalidGrant(provider, 70000, "The provided value for the input parameter 'device_code' is not valid.", "Bad Request"))
		return
	}
	switch step {
	case "authorization_pending":
		writeError(w, provider, Error{Code: "authorization_pending", AADSTS: 70016, Description: "OAuth 2.0 device flow error. Authorization is pending. Continue polling."})
	case "slow_down":
		writeError(w, provider, Error{Code: "slow_down", Description: "Polling too frequently; slow down."})
	case "access_denied":
		if provider == "microsoft" {
			writeError(w, provider, Error{Code: "authorization_declined", AADSTS: 70000, Description: "The user declined the authorization request."})
		} else {
			writeError(w, provider, Error{Status: 403, Code: "access_denied", Description: "Forbidden"})
		}
	case "expired_token":
		writeError(w, provider, Error{Code: "expired_token", AADSTS: 70020, Description: "The provided value for the input parameter 'device_code' is not valid. Device codes expire after 15 minutes."})
	case "":
		s.mu.Lock()
		delete(s.devices, dc)
		s.mu.Unlock()
		offline := provider == "google" || containsFold(d.scopes, "offline_access")
		s.issue(w, c, provider, d.tenant, user, d.scopes, offline, nil)
	default:
		writeError(w, provider, Error{Code: step, Description: "scripted"})
	}
}

// bearer extracts the token of an introspection or tokeninfo request.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if err := r.ParseForm(); err == nil {
		if t := r.Form.Get("token"); t != "" {
			return t
		}
		return r.Form.Get("access_token")
	}
	return ""
}

// IssueRefreshToken returns a Microsoft refresh token of clientID for the
// server's user and scopes, as a sign-in on a workstation would leave (a
// CI secret such as MAILPORT_REFRESH_TOKEN_<ACCOUNT>).
func (s *Server) IssueRefreshToken(clientID string, scopes []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := "0.AR" + randomString(60)
	s.refresh[rt] = &grantInfo{client: clientID, user: s.user, provider: "microsoft", tenant: s.Tenant, scopes: scopes}
	return rt
}

// ActiveUser returns whose access token tok is, and whether it is still
// usable (not expired, not revoked): a fake resource server's check.
func (s *Server) ActiveUser(tok string) (string, bool) {
	a := s.lookup(tok)
	if a == nil {
		return "", false
	}
	return a.user, true
}

// lookup returns a usable access token's info, or nil.
func (s *Server) lookup(tok string) *accessInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.access[tok]
	if a == nil || a.revoked || (a.grant != nil && a.grant.revoked) || !s.opts.Now().Before(a.exp) {
		return nil
	}
	return a
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	s.count("introspect")
	a := s.lookup(bearer(r))
	s.mu.Lock()
	needAud, needScope := s.introAud, s.introScope
	s.mu.Unlock()
	if a == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"active": false, "error": "invalid_token", "error_description": "The access token is unknown, expired or revoked."})
		return
	}
	if needAud != "" && !sameResource(a.audience, needAud) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"active": false, "error": "invalid_token", "error_description": fmt.Sprintf("The token's audience %s is not %s.", a.audience, needAud)})
		return
	}
	if needScope != "" && !containsFold(a.scopes, needScope) && !containsFold(a.roles, needScope) && !containsFold(a.roles, appRoleFor(needScope)) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"active": false, "error": "insufficient_scope", "error_description": fmt.Sprintf("The token lacks the scope %s.", needScope)})
		return
	}
	user := strings.ToLower(a.user)
	writeJSON(w, http.StatusOK, map[string]any{
		"active": true, "username": user, "email": user, "sub": guidFor("user:" + user), "client_id": a.client,
		"aud": a.audience, "scope": strings.Join(a.scopes, " "), "roles": a.roles, "exp": a.exp.Unix(), "token_type": "Bearer",
	})
}

func (s *Server) tokeninfo(w http.ResponseWriter, r *http.Request) {
	s.count("tokeninfo")
	tok := bearer(r)
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	a := s.lookup(tok)
	if a == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_token", "error_description": "Invalid Value"})
		return
	}
	left := int(a.exp.Sub(s.opts.Now()).Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"azp": a.client, "aud": a.client, "scope": strings.Join(a.scopes, " "), "exp": fmt.Sprint(a.exp.Unix()),
		"expires_in": fmt.Sprint(left), "email": a.user, "email_verified": "true", "access_type": "offline",
	})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	s.count("revoke")
	tok := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.refresh[tok]; g != nil {
		g.revoked = true
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if a := s.access[tok]; a != nil {
		a.revoked = true
		if a.grant != nil {
			a.grant.revoked = true
		}
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(w, `{"error":"invalid_token","error_description":"Token expired or revoked"}`)
}

// sameResource compares token audiences as Exchange Online does: app-only
// tokens are for https://outlook.office365.com, delegated ones for
// https://outlook.office.com, and both serve the same mailboxes.
func sameResource(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimRight(s, "/"))
		return strings.Replace(s, "://outlook.office365.com", "://outlook.office.com", 1)
	}
	return norm(a) == norm(b)
}

// appRoleFor is the application permission that stands for a delegated
// Exchange scope in app-only tokens (IMAP.AccessAsUser.All: IMAP.AccessAsApp).
func appRoleFor(scope string) string {
	switch strings.ToLower(scope) {
	case "imap.accessasuser.all":
		return "IMAP.AccessAsApp"
	case "pop.accessasuser.all":
		return "POP.AccessAsApp"
	case "smtp.send":
		return "SMTP.SendAsApp"
	}
	return ""
}
