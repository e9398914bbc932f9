package oauthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// grantJWTBearer is RFC 7523's grant type, Google's for service accounts.
const grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// ServiceAccount is a Google service account registered at the fake, with
// the domain-wide delegation an administrator granted it.
type ServiceAccount struct {
	Email    string         // client_email, the assertion's iss
	ClientID string         // the numeric client id
	Key      *rsa.PublicKey // the public half of its key
	// Domains are the Workspace domains whose users exist (the part after
	// "@" of a sub); Users are single users that exist. A sub that is
	// neither is refused with Google's "Invalid email or User ID".
	Domains []string
	Users   []string
	// Delegated are the scopes granted to ClientID in the Admin console
	// (Domain-wide delegation); nil means none: every grant with a sub is
	// refused with unauthorized_client.
	Delegated []string
}

// ServiceAccountGrant is one JWT-bearer request the fake received, with
// its assertion decoded (the signature is left out: that is the secret).
type ServiceAccountGrant struct {
	GrantType string
	Header    map[string]any
	Claims    map[string]any
	// Fields are the names of the form fields sent, sorted.
	Fields []string
	// Answer is the error code the fake answered with, "" for a token.
	Answer string
}

// String renders the grant as a log line: the form with the assertion's
// header and claims decoded and its signature redacted.
func (g ServiceAccountGrant) String() string {
	h, _ := json.Marshal(g.Header)
	c, _ := json.Marshal(g.Claims)
	ans := g.Answer
	if ans == "" {
		ans = "200 access token"
	}
	return fmt.Sprintf("POST /token fields=%s grant_type=%s assertion=%s.%s.[signature redacted] -> %s", strings.Join(g.Fields, ","), g.GrantType, h, c, ans)
}

type saState struct {
	mu       sync.Mutex
	accounts map[string]*ServiceAccount
	grants   []ServiceAccountGrant
}

// AddServiceAccount registers a Google service account (replacing one with
// the same email).
func (s *Server) AddServiceAccount(a ServiceAccount) {
	s.sa.mu.Lock()
	defer s.sa.mu.Unlock()
	if s.sa.accounts == nil {
		s.sa.accounts = map[string]*ServiceAccount{}
	}
	cp := a
	s.sa.accounts[strings.ToLower(a.Email)] = &cp
}

// ServiceAccountGrants returns the JWT-bearer requests received so far.
func (s *Server) ServiceAccountGrants() []ServiceAccountGrant {
	s.sa.mu.Lock()
	defer s.sa.mu.Unlock()
	return append([]ServiceAccountGrant(nil), s.sa.grants...)
}

// Google's refusals of a JWT-bearer grant, in its words.
var (
	errSASignature = Error{Code: "invalid_grant", Description: "Invalid JWT Signature."}
	errSATime      = Error{Code: "invalid_grant", Description: "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}
	errSAClient    = Error{Status: 401, Code: "unauthorized_client", Description: "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}
	errSAUser      = Error{Code: "invalid_grant", Description: "Invalid email or User ID"}
	errSAAccount   = Error{Code: "invalid_grant", Description: "Invalid grant: account not found"}
	errSAScope     = Error{Code: "invalid_scope", Description: "Empty or missing scope not allowed."}
	errSAMalformed = Error{Code: "invalid_grant", Description: "Invalid JWT: the assertion is not a JWT signed with RS256."}
)

// clockSkew is how far in the future an iat may be, as Google allows.
const clockSkew = 5 * time.Minute

// jwtBearer answers a Google JWT-bearer grant: the assertion's signature
// with the registered key, aud, the times, the scopes delegated and the
// user impersonated.
func (s *Server) jwtBearer(w http.ResponseWriter, r *http.Request) {
	g := ServiceAccountGrant{GrantType: r.PostForm.Get("grant_type")}
	for k := range r.PostForm {
		g.Fields = append(g.Fields, k)
	}
	sort.Strings(g.Fields)
	fail := func(e Error) {
		g.Answer = e.Code + ": " + e.Description
		s.recordGrant(g)
		writeError(w, "google", e)
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail(errSAMalformed)
		return
	}
	if err := decodeSegment(parts[0], &g.Header); err != nil || g.Header["alg"] != "RS256" {
		fail(errSAMalformed)
		return
	}
	if err := decodeSegment(parts[1], &g.Claims); err != nil {
		fail(errSAMalformed)
		return
	}
	iss, _ := g.Claims["iss"].(string)
	s.sa.mu.Lock()
	acct := s.sa.accounts[strings.ToLower(iss)]
	s.sa.mu.Unlock()
	if acct == nil {
		fail(errSAAccount)
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(acct.Key, crypto.SHA256, sum[:], sig) != nil {
		fail(errSASignature)
		return
	}
	if aud, _ := g.Claims["aud"].(string); aud != s.GoogleTokenURL() {
		fail(Error{Code: "invalid_grant", Description: "Invalid JWT: Failed audience check. The right audience is " + s.GoogleTokenURL()})
		return
	}
	iat, okI := g.Claims["iat"].(float64)
	exp, okE := g.Claims["exp"].(float64)
	now := s.opts.Now()
	if !okI || !okE || exp <= iat || exp-iat > 3600 || !now.Before(time.Unix(int64(exp), 0)) || time.Unix(int64(iat), 0).After(now.Add(clockSkew)) {
		fail(errSATime)
		return
	}
	scopes := strings.Fields(fmt.Sprint(g.Claims["scope"]))
	if _, ok := g.Claims["scope"].(string); !ok || len(scopes) == 0 {
		fail(errSAScope)
		return
	}
	sub, _ := g.Claims["sub"].(string)
	if sub != "" {
		for _, sc := range scopes {
			if !containsFold(acct.Delegated, sc) {
				fail(errSAClient)
				return
			}
		}
		if !acct.mayImpersonate(sub) {
			fail(errSAUser)
			return
		}
	}
	s.recordGrant(g)
	ttl := s.opts.AccessTTL
	at := "ya29.c." + randomString(48)
	user := sub
	if user == "" {
		user = acct.Email
	}
	s.mu.Lock()
	s.access[at] = &accessInfo{client: acct.ClientID, user: user, provider: "google", audience: acct.ClientID, scopes: scopes, exp: now.Add(ttl)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "expires_in": int(ttl.Seconds()), "token_type": "Bearer"})
}

func (a *ServiceAccount) mayImpersonate(sub string) bool {
	if containsFold(a.Users, sub) {
		return true
	}
	i := strings.LastIndexByte(sub, '@')
	return i > 0 && containsFold(a.Domains, sub[i+1:])
}

func (s *Server) recordGrant(g ServiceAccountGrant) {
	s.sa.mu.Lock()
	defer s.sa.mu.Unlock()
	s.sa.grants = append(s.sa.grants, g)
}

func decodeSegment(seg string, v *map[string]any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// jwtBearerForm reports whether r is a Google JWT-bearer grant.
func jwtBearerForm(form url.Values, provider string) bool {
	return provider == "google" && form.Get("grant_type") == grantJWTBearer
}

// NewServiceAccountKey makes a service account's key pair and its JSON key
// file as the Google Cloud console downloads it (token_uri is tokenURI).
// The returned ServiceAccount has the public key; the caller sets its
// Domains, Users and Delegated before AddServiceAccount.
func NewServiceAccountKey(email, clientID, tokenURI string) ([]byte, ServiceAccount) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: generating an RSA key: %v", err)) // crypto/rand does not fail on Linux
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: encoding an RSA key: %v", err))
	}
	project := "mailport-test"
	if i := strings.IndexByte(email, '@'); i > 0 {
		project = strings.SplitN(email[i+1:], ".", 2)[0]
	}
	file, err := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": randomString(20),
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": clientID,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + url.PathEscape(email),
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("oauthtest: encoding a key file: %v", err))
	}
	return file, ServiceAccount{Email: email, ClientID: clientID, Key: &k.PublicKey}
}
