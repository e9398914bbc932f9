package oauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// GrantJWTBearer is the grant type of RFC 7523 §2.1: an assertion signed by
// the client stands for the authorization grant (Google's service accounts).
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// MaxServiceAccountKey caps the size of a service-account key file: Google's
// are about 2.3 KB; anything this big is not one.
const MaxServiceAccountKey = 64 << 10

// serviceAccountAssertionTTL is the lifetime of a JWT-bearer assertion;
// Google refuses more than an hour.
const serviceAccountAssertionTTL = time.Hour

// ServiceAccountKey is Google's JSON key of a service account, as the
// Google Cloud console downloads it. mailport keeps the whole file in the
// secret store under the token config's client secret key.
type ServiceAccountKey struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	// ClientID is the service account's numeric unique id: the "Client ID"
	// an administrator enters in the Admin console to grant domain-wide
	// delegation.
	ClientID string `json:"client_id"`
	TokenURI string `json:"token_uri"`

	key *rsa.PrivateKey
}

// ParseServiceAccountKey reads and checks a service-account key file: a
// JSON object of type service_account with a client_email and an RSA
// private key in PEM. Errors say what is wrong in one sentence without
// quoting the key.
func ParseServiceAccountKey(data []byte) (*ServiceAccountKey, error) {
	if len(data) > MaxServiceAccountKey {
		return nil, fmt.Errorf("the service account key is more than %d KB, more than a Google key file ever is: is it the right file?", MaxServiceAccountKey>>10)
	}
	var k ServiceAccountKey
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, errors.New("the service account key is not a JSON key file: download one in the Google Cloud console (IAM & Admin → Service accounts → the account → Keys → Add key → JSON)")
	}
	switch k.Type {
	case "service_account":
	case "":
		if strings.Contains(string(data), `"installed"`) || strings.Contains(string(data), `"web"`) {
			return nil, errors.New("the file is an OAuth client's credentials, not a service account key: download a JSON key of the service account (IAM & Admin → Service accounts → Keys)")
		}
		return nil, errors.New("the JSON file has no \"type\": it is not a service account key")
	default:
		return nil, fmt.Errorf("the JSON file is of type %q, not service_account: download a JSON key of the service account (IAM & Admin → Service accounts → Keys)", oneLine(k.Type, 60))
	}
	if k.ClientEmail == "" {
		return nil, errors.New("the service account key has no client_email")
	}
	if k.PrivateKey == "" {
		return nil, errors.New("the service account key has no private_key")
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	if block == nil {
		return nil, errors.New("the private_key of the service account key is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if rk, rerr := x509.ParsePKCS1PrivateKey(block.Bytes); rerr == nil {
			parsed, err = rk, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the private_key of the service account key does not parse: %w", err)
	}
	rk, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private_key of the service account key is %s, not the RSA key Google issues: download a new JSON key of the service account", keyKind(parsed))
	}
	k.key = rk
	return &k, nil
}

// ServiceAccountClaims are the claims of a JWT-bearer assertion.
type ServiceAccountClaims struct {
	Issuer   string `json:"iss"`
	Scope    string `json:"scope"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	// Subject is the user the service account acts for (domain-wide
	// delegation): the account's login.
	Subject string `json:"sub,omitempty"`
}

// Assertion signs a JWT-bearer assertion (RS256) for subject with scopes,
// addressed to aud (the token endpoint), valid for an hour from now.
func (k *ServiceAccountKey) Assertion(aud, subject string, scopes []string, now time.Time) (string, error) {
	if k.key == nil {
		return "", errors.New("the service account key was not parsed")
	}
	hdr := map[string]string{"alg": "RS256", "typ": "JWT"}
	if k.PrivateKeyID != "" {
		hdr["kid"] = k.PrivateKeyID
	}
	claims := ServiceAccountClaims{
		Issuer: k.ClientEmail, Scope: strings.Join(scopes, " "), Audience: aud, Subject: subject,
		IssuedAt: now.Unix(), Expiry: now.Add(serviceAccountAssertionTTL).Unix(),
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing the assertion with the service account key: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// ServiceAccountKey parses the client's service-account key (kept where a
// client secret is).
func (c *Client) ServiceAccountKey() (*ServiceAccountKey, error) {
	if c.Secret == "" {
		return nil, fmt.Errorf("token config %s has no service account key: store it with mailport token-config edit %s --key-file FILE", c.Name, c.Name)
	}
	k, err := ParseServiceAccountKey([]byte(c.Secret))
	if err != nil {
		return nil, fmt.Errorf("token config %s: %w; store the key again with mailport token-config edit %s --key-file FILE", c.Name, err, c.Name)
	}
	return k, nil
}

// ServiceAccountToken obtains an access token for the mailbox subject with
// the JWT-bearer grant (RFC 7523 §2.1) signed by the service account's key.
// There is no refresh token: a new grant is made when the token expires.
func (c *Client) ServiceAccountToken(ctx context.Context, scopes []string, subject string) (*Token, error) {
	k, err := c.ServiceAccountKey()
	if err != nil {
		return nil, err
	}
	if subject == "" {
		return nil, fmt.Errorf("token config %s uses a service account, which acts for the account's login, but account %s has none", c.Name, c.Account)
	}
	assertion, err := k.Assertion(c.Endpoints.TokenURL, subject, scopes, c.now())
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {GrantJWTBearer}, "assertion": {assertion}}
	ot, err := c.postToken(ctx, form)
	if err != nil {
		var pe *ProviderError
		if errors.As(err, &pe) {
			return nil, &ServiceAccountError{Provider: pe, Email: k.ClientEmail, ClientID: k.ClientID, Subject: subject, Scopes: scopes}
		}
		return nil, err
	}
	t := fromOAuth2(ot, scopes, config.FlowServiceAccount, c.Config.ClientID, c.Config.IdentityClaim, c.now())
	if t.User == "" {
		t.User = subject
	}
	t.RefreshToken = ""
	return t, nil
}

// ServiceAccountError is Google's refusal of a service account's grant,
// with the fix that names the service account, the mailbox and the scopes.
type ServiceAccountError struct {
	Provider *ProviderError
	Email    string   // the service account
	ClientID string   // its numeric client id (for the Admin console)
	Subject  string   // the mailbox it asked for
	Scopes   []string // the scopes asked for
}

func (e *ServiceAccountError) Unwrap() error { return e.Provider }

func (e *ServiceAccountError) Error() string {
	return fmt.Sprintf("Google refused service account %s a token for %s: %s (%s)", e.Email, e.Subject, strings.TrimSpace(e.Provider.Code+": "+firstLine(e.Provider.Description)), e.Fix())
}

// Fix is what to do about the refusal.
func (e *ServiceAccountError) Fix() string {
	d := strings.ToLower(e.Provider.Description)
	id := e.ClientID
	if id == "" {
		id = "the service account's client ID"
	}
	switch {
	case e.Provider.Code == "unauthorized_client":
		return fmt.Sprintf("domain-wide delegation is not granted for these scopes: in the Google Admin console, Security → Access and data control → API controls → Domain-wide delegation, add client ID %s with the scopes %s (it can take a while to apply)", id, strings.Join(e.Scopes, ","))
	case strings.Contains(d, "invalid email or user id"):
		return fmt.Sprintf("%s is not a user of the Google Workspace domain the service account is delegated in: check the account's login", e.Subject)
	case strings.Contains(d, "signature"):
		return fmt.Sprintf("the key does not belong to the service account or was deleted: create a new JSON key in the Google Cloud console and store it with mailport token-config edit %s --key-file FILE", orPlaceholder(e.Provider.TokenConfig, "TOKENCONFIG"))
	case strings.Contains(d, "short-lived") || strings.Contains(d, "timeframe"):
		return "this machine's clock is off: the assertion's iat and exp must be within an hour of Google's time; synchronise the clock (NTP)"
	case e.Provider.Code == "invalid_client" || strings.Contains(d, "not found") || strings.Contains(d, "disabled"):
		return "the service account or its key was deleted or disabled in the Google Cloud console: create a new JSON key"
	}
	return "check the service account key and its domain-wide delegation in the Google Admin console"
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}
