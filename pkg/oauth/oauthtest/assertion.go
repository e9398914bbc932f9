package oauthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// clientAssertionType is RFC 7523's client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime is the longest validity Entra accepts for a
// client assertion; assertionSkew the clock difference it forgives.
const (
	maxAssertionLifetime = 10 * time.Minute
	assertionSkew        = 5 * time.Minute
)

// FederatedIdentity is a federated credential of an app registration
// (Entra's "Federated credentials"): tokens of Issuer for Subject and
// Audience, signed with Key, stand in for the client secret.
type FederatedIdentity struct {
	Issuer, Subject, Audience string
	Key                       *rsa.PublicKey
}

// jwtParts is a decoded, not yet verified, JWT.
type jwtParts struct {
	header  map[string]any
	claims  map[string]any
	signed  []byte // header.payload
	sig     []byte
	payload string
}

func decodeJWT(tok string) (*jwtParts, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	var p jwtParts
	for i, dst := range []*map[string]any{&p.header, &p.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("part %d is not base64url", i+1)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return nil, fmt.Errorf("part %d is not JSON", i+1)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("the signature is not base64url")
	}
	p.signed, p.sig, p.payload = []byte(parts[0]+"."+parts[1]), sig, parts[1]
	return &p, nil
}

func (p *jwtParts) str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func (p *jwtParts) num(k string) (time.Time, bool) {
	f, ok := p.claims[k].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// audiences is the aud claim as a list (a string or an array).
func (p *jwtParts) audiences() []string {
	switch v := p.claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// verify checks the signature with key for the header's alg (RS256 or PS256).
func (p *jwtParts) verify(key *rsa.PublicKey) error {
	digest := sha256.Sum256(p.signed)
	switch alg := p.str(p.header, "alg"); alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], p.sig)
	case "PS256":
		// JOSE's PS256 salt is as long as the hash (RFC 7518 §3.5).
		return rsa.VerifyPSS(key, crypto.SHA256, digest[:], p.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		return fmt.Errorf("alg %q is not RS256 or PS256", alg)
	}
}

// timeRange checks nbf/exp against now; "" when within range.
func (s *Server) timeRange(p *jwtParts, maxLife time.Duration) string {
	now := s.opts.Now()
	exp, okE := p.num("exp")
	nbf, okN := p.num("nbf")
	if !okN {
		nbf, okN = p.num("iat")
	}
	if !okE || !okN {
		return "The assertion has no exp or nbf claim."
	}
	switch {
	case !now.Before(exp.Add(assertionSkew)), now.Add(assertionSkew).Before(nbf):
		return fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	case maxLife > 0 && exp.Sub(nbf) > maxLife+assertionSkew:
		return fmt.Sprintf("Client assertion is not within its valid time range: it is valid for %s, longer than %s.", exp.Sub(nbf), maxLife)
	}
	return ""
}

// assertionClient authenticates a token request by its client assertion,
// as Entra does: a certificate's signed assertion (header x5t#S256 or x5t
// naming a registered certificate) or a federated token (iss, sub and aud
// matching a registered federated credential).
func (s *Server) assertionClient(r *http.Request, c *Client, provider string) *Error {
	if provider != "microsoft" {
		return &Error{Status: 401, Code: "invalid_client", Description: "Client assertions are not supported for this client."}
	}
	if t := r.PostForm.Get("client_assertion_type"); t != clientAssertionType {
		return &Error{Code: "invalid_request", AADSTS: 50027, Description: fmt.Sprintf("JWT token is invalid or malformed: client_assertion_type %q is not %s.", t, clientAssertionType)}
	}
	p, err := decodeJWT(r.PostForm.Get("client_assertion"))
	if err != nil {
		return &Error{Code: "invalid_request", AADSTS: 50027, Description: "JWT token is invalid or malformed: " + err.Error() + "."}
	}
	if p.str(p.header, "x5t#S256") != "" || p.str(p.header, "x5t") != "" {
		return s.certificateAssertion(r, c, p)
	}
	return s.federatedAssertion(c, p)
}

func (s *Server) certificateAssertion(r *http.Request, c *Client, p *jwtParts) *Error {
	notFound := func(used string) *Error {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 700027, Description: fmt.Sprintf("Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", used, c.ID)}
	}
	used := p.str(p.header, "x5t#S256")
	if used == "" {
		used = p.str(p.header, "x5t")
	}
	if c.Certificate == nil {
		return notFound(used)
	}
	s256 := sha256.Sum256(c.Certificate.Raw)
	s1 := sha1.Sum(c.Certificate.Raw)
	if h := p.str(p.header, "x5t#S256"); h != "" && h != base64.RawURLEncoding.EncodeToString(s256[:]) {
		return notFound(used)
	}
	if h := p.str(p.header, "x5t"); h != "" && h != base64.RawURLEncoding.EncodeToString(s1[:]) {
		return notFound(used)
	}
	key, ok := c.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return notFound(used)
	}
	if err := p.verify(key); err != nil {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 700027, Description: fmt.Sprintf("Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value (%v)., Thumbprint of key used by client: '%s']", err, used)}
	}
	tokenURL := s.URL + r.URL.Path
	auds := p.audiences()
	if len(auds) != 1 || auds[0] != tokenURL {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 50027, Description: fmt.Sprintf("JWT token is invalid or malformed: the audience %q of the client assertion is not the token endpoint %s.", strings.Join(auds, " "), tokenURL)}
	}
	if iss, sub := p.str(p.claims, "iss"), p.str(p.claims, "sub"); iss != c.ID || sub != c.ID {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 50027, Description: fmt.Sprintf("JWT token is invalid or malformed: iss %q and sub %q of the client assertion must both be the client id %s.", iss, sub, c.ID)}
	}
	if msg := s.timeRange(p, maxAssertionLifetime); msg != "" {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 700024, Description: msg}
	}
	jti := p.str(p.claims, "jti")
	if jti == "" {
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 50027, Description: "JWT token is invalid or malformed: the client assertion has no jti."}
	}
	s.mu.Lock()
	seen := s.jtis[c.ID+"\x00"+jti]
	s.jtis[c.ID+"\x00"+jti] = true
	s.mu.Unlock()
	if seen {
		// Entra documents no code of its own for a replayed assertion;
		// it is refused as an assertion outside its valid use.
		return &Error{Status: 401, Code: "invalid_client", AADSTS: 700024, Description: fmt.Sprintf("Client assertion is not within its valid time range: the jti %s has already been used.", jti)}
	}
	return nil
}

func (s *Server) federatedAssertion(c *Client, p *jwtParts) *Error {
	iss, sub := p.str(p.claims, "iss"), p.str(p.claims, "sub")
	auds := p.audiences()
	for _, f := range c.Federated {
		if f.Issuer != iss || f.Subject != sub || !containsFold(auds, f.Audience) {
			continue
		}
		if f.Key == nil || p.verify(f.Key) != nil {
			return &Error{Status: 401, Code: "invalid_client", AADSTS: 700027, Description: fmt.Sprintf("Client assertion failed signature validation. [Reason - The key used to sign the federated token of issuer '%s' was not found at the issuer.]", iss)}
		}
		if msg := s.timeRange(p, 0); msg != "" {
			return &Error{Status: 401, Code: "invalid_client", AADSTS: 700024, Description: msg}
		}
		return nil
	}
	return &Error{Status: 401, Code: "invalid_client", AADSTS: 70021, Description: fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", iss, sub, strings.Join(auds, ","))}
}

// Issuer is a tiny OIDC issuer (a Kubernetes API server, GitHub Actions)
// that signs federated tokens with its own RSA key.
type Issuer struct {
	URL string
	key *rsa.PrivateKey
}

// NewIssuer makes an issuer named url with a fresh 2048-bit key.
func NewIssuer(url string) *Issuer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: no RSA key: %v", err)) // crypto/rand does not fail on Linux
	}
	return &Issuer{URL: url, key: k}
}

// Identity is the federated credential an app registers to trust this
// issuer's tokens for subject and audience.
func (i *Issuer) Identity(subject, audience string) FederatedIdentity {
	return FederatedIdentity{Issuer: i.URL, Subject: subject, Audience: audience, Key: &i.key.PublicKey}
}

// Sign issues a token for subject and audience valid for ttl from now.
func (i *Issuer) Sign(subject, audience string, now time.Time, ttl time.Duration) string {
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "oauthtest-issuer"})
	body, _ := json.Marshal(map[string]any{
		"iss": i.URL, "sub": subject, "aud": audience, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": randomString(12),
	})
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	d := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, i.key, crypto.SHA256, d[:])
	if err != nil {
		panic(fmt.Sprintf("oauthtest: signing: %v", err))
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// GitHubOIDC is a fake of GitHub Actions' OIDC token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL): GET with "Authorization: Bearer
// <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" and ?audience=, answering
// {"count": N, "value": "<JWT>"} signed by its issuer for Subject.
type GitHubOIDC struct {
	// URL is the value of ACTIONS_ID_TOKEN_REQUEST_URL (with its
	// api-version query, as GitHub sets it).
	URL          string
	RequestToken string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	Issuer       *Issuer
	Subject      string

	srv       *httptest.Server
	mu        sync.Mutex
	audiences []string
}

// NewGitHubOIDC starts the endpoint; issuer is typically
// NewIssuer("https://token.actions.githubusercontent.com").
func NewGitHubOIDC(issuer *Issuer, subject string) *GitHubOIDC {
	g := &GitHubOIDC{RequestToken: "ghrt_" + randomString(24), Issuer: issuer, Subject: subject}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL + "/_apis/distributedtask/hubs/build/plans/p/jobs/j/idtoken?api-version=2.0"
	return g
}

// Close stops the endpoint.
func (g *GitHubOIDC) Close() { g.srv.Close() }

// Audiences are the audiences asked for so far, in order.
func (g *GitHubOIDC) Audiences() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.audiences...)
}

func (g *GitHubOIDC) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.RequestToken || r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	aud := r.URL.Query().Get("audience")
	g.mu.Lock()
	g.audiences = append(g.audiences, aud)
	n := len(g.audiences)
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "value": g.Issuer.Sign(g.Subject, aud, time.Now(), 5*time.Minute)})
}
