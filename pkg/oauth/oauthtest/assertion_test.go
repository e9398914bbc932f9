package oauthtest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// sign builds an RS256 or PS256 JWT with header and claims.
func sign(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	if header["alg"] == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestServerVerifiesClientAssertions(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	cc, err := testcert.NewClient("app", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	iss := oauthtest.NewIssuer("https://oidc.example.test")
	s.AddClient(oauthtest.Client{ID: id, Certificate: cc.Cert, Federated: []oauthtest.FederatedIdentity{iss.Identity("sa", "api://AzureADTokenExchange")}})
	tokenURL := s.MicrosoftBaseURL("") + "oauth2/v2.0/token"
	try := func(assertion string) (int, string) {
		code, body := post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
		d, _ := body["error_description"].(string)
		return code, d
	}
	now := time.Now()
	s1 := sha1.Sum(cc.Cert.Raw)
	claims := func(jti string, life time.Duration) map[string]any {
		return map[string]any{"aud": tokenURL, "iss": id, "sub": id, "jti": jti, "nbf": now.Unix(), "exp": now.Add(life).Unix()}
	}
	// PS256 naming the certificate by its SHA-1 thumbprint only.
	if code, d := try(sign(t, cc.Key, map[string]any{"alg": "PS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims("a", 5*time.Minute))); code != 200 {
		t.Fatalf("PS256 with x5t: %d %s", code, d)
	}
	// PS256 with a salt other than the hash's length (rsa.PSSSaltLengthAuto
	// signs with the longest salt): JOSE (RFC 7518 §3.5) fixes it at 32
	// bytes, so the fake refuses it as Entra's JOSE validation does.
	longSalt := func(header, claims map[string]any) string {
		h, _ := json.Marshal(header)
		c, _ := json.Marshal(claims)
		in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
		d := sha256.Sum256([]byte(in))
		sig, err := rsa.SignPSS(rand.Reader, cc.Key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	if code, d := try(longSalt(map[string]any{"alg": "PS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims("salt", 5*time.Minute))); code != 401 || !strings.Contains(d, "AADSTS700027") {
		t.Errorf("PS256 with a salt longer than the hash: %d %s, want 401 AADSTS700027", code, d)
	}
	// Valid for an hour: longer than Entra allows.
	if code, d := try(sign(t, cc.Key, map[string]any{"alg": "RS256", "x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims("b", time.Hour))); code != 401 || !strings.Contains(d, "AADSTS700024") {
		t.Errorf("an hour-long assertion: %d %s", code, d)
	}
	// A federated token of the right issuer and subject signed with another key.
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, forger, map[string]any{"alg": "RS256"}, map[string]any{"iss": "https://oidc.example.test", "sub": "sa", "aud": "api://AzureADTokenExchange", "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if code, d := try(forged); code != 401 || !strings.Contains(d, "AADSTS700027") {
		t.Errorf("forged federated token: %d %s", code, d)
	}
	// The issuer's own token for that subject passes; for another audience it does not.
	if code, d := try(iss.Sign("sa", "api://AzureADTokenExchange", now, time.Hour)); code != 200 {
		t.Errorf("federated token: %d %s", code, d)
	}
	if code, d := try(iss.Sign("sa", "api://other", now, time.Hour)); code != 401 || !strings.Contains(d, "AADSTS70021") || !strings.Contains(d, "Assertion Audience: 'api://other'") {
		t.Errorf("federated token for another audience: %d %s", code, d)
	}
}
