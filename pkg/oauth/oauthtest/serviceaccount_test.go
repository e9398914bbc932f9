package oauthtest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// signWith signs claims (RS256 unless alg says otherwise) with the private
// key of a key file.
func signWith(t *testing.T, keyFile []byte, alg string, claims map[string]any) string {
	t.Helper()
	var kf struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(keyFile, &kf); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(kf.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// The fake checks a JWT-bearer grant as Google does and answers each
// fault with Google's words.
func TestJWTBearerGrantChecks(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	const email = "reader@acme-mail.iam.gserviceaccount.com"
	keyFile, sa := oauthtest.NewServiceAccountKey(email, "1048576", s.GoogleTokenURL())
	sa.Domains, sa.Users, sa.Delegated = []string{"acme.example"}, []string{"guest@partner.example"}, []string{"https://mail.google.com/"}
	s.AddServiceAccount(sa)
	otherKey, _ := oauthtest.NewServiceAccountKey(email, "1048576", s.GoogleTokenURL())
	now := time.Now().Unix()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{"iss": email, "sub": "erin@acme.example", "aud": s.GoogleTokenURL(), "scope": "https://mail.google.com/", "iat": now, "exp": now + 3600}
		if change != nil {
			change(c)
		}
		return c
	}
	cases := []struct {
		name             string
		assertion        string
		status           int
		code, descPrefix string
	}{
		{"valid, a user of the domain", signWith(t, keyFile, "RS256", claims(nil)), 200, "", ""},
		{"valid, a listed user", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["sub"] = "guest@partner.example" })), 200, "", ""},
		{"another key", signWith(t, otherKey, "RS256", claims(nil)), 400, "invalid_grant", "Invalid JWT Signature."},
		{"claims changed after signing", tamper(signWith(t, keyFile, "RS256", claims(nil))), 400, "invalid_grant", "Invalid JWT Signature."},
		{"expired", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["iat"], c["exp"] = now-7200, now-3600 })), 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)"},
		{"longer than an hour", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["exp"] = now + 7200 })), 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)"},
		{"issued in the future", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["iat"], c["exp"] = now+3600, now+5400 })), 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token"},
		{"wrong audience", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["aud"] = "https://oauth2.googleapis.com/token" })), 400, "invalid_grant", "Invalid JWT: Failed audience check."},
		{"scope not delegated", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["scope"] = "https://mail.google.com/ https://www.googleapis.com/auth/drive" })), 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."},
		{"no scope", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { delete(c, "scope") })), 400, "invalid_scope", "Empty or missing scope not allowed."},
		{"user of another domain", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["sub"] = "mallory@evil.example" })), 400, "invalid_grant", "Invalid email or User ID"},
		{"unknown service account", signWith(t, keyFile, "RS256", claims(func(c map[string]any) { c["iss"] = "nobody@x.iam.gserviceaccount.com" })), 400, "invalid_grant", "Invalid grant: account not found"},
		{"alg none", "eyJhbGciOiJub25lIn0.e30.", 400, "invalid_grant", "Invalid JWT"},
		{"not a JWT", "garbage", 400, "invalid_grant", "Invalid JWT"},
	}
	for _, c := range cases {
		status, body := post(t, s.GoogleTokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {c.assertion}})
		if status != c.status {
			t.Errorf("%s: HTTP %d %v, want %d", c.name, status, body, c.status)
			continue
		}
		if c.status == 200 {
			if body["access_token"] == nil || body["refresh_token"] != nil {
				t.Errorf("%s: %v, want an access token and no refresh token", c.name, body)
			}
			continue
		}
		desc, _ := body["error_description"].(string)
		if body["error"] != c.code || !strings.HasPrefix(desc, c.descPrefix) {
			t.Errorf("%s: %v, want %s %q", c.name, body, c.code, c.descPrefix)
		}
	}
	if n := len(s.ServiceAccountGrants()); n != len(cases) {
		t.Errorf("%d grants recorded, want %d", n, len(cases))
	}
}

// tamper changes the claims of a signed JWT, keeping the signature.
func tamper(jwt string) string {
	parts := strings.Split(jwt, ".")
	c, _ := json.Marshal(map[string]any{"iss": "reader@acme-mail.iam.gserviceaccount.com", "sub": "ceo@acme.example"})
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
}
