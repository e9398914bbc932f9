package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

func newClientCert(t *testing.T, notAfter time.Time) *testcert.Client {
	t.Helper()
	c, err := testcert.NewClient("mailport-ci", notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// certEnv is an env whose token config authenticates with a certificate
// (kept in the store, as token-config add --certificate does) and uses the
// client-credentials flow for IMAP; the fake app has that certificate and no
// secret.
func certEnv(t *testing.T, alg string) (*env, *testcert.Client) {
	t.Helper()
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	cc := newClientCert(t, time.Now().AddDate(1, 0, 0))
	e.srv.AddClient(oauthtest.Client{ID: clientID, Certificate: cc.Cert, AppMailbox: user})
	tc := e.tc()
	tc.Flow, tc.Credential, tc.AssertionAlg = config.FlowClientCredentials, config.CredentialCertificate, alg
	tc.Scopes = []string{"https://outlook.office365.com/.default"}
	if err := e.store.Set(secret.ClientSecretKey("tc"), string(cc.PEM)); err != nil {
		t.Fatal(err)
	}
	return e, cc
}

func decodePart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWT", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// redacted is a token request's form as a log may show it.
func redacted(form url.Values) string {
	out := url.Values{}
	for k, v := range form {
		switch k {
		case "client_assertion", "client_secret", "refresh_token", "code", "code_verifier":
			out[k] = []string{"[redacted]"}
		default:
			out[k] = v
		}
	}
	return out.Encode()
}

func TestCertificateAssertionForClientCredentials(t *testing.T) {
	for _, alg := range []string{config.AlgRS256, config.AlgPS256} {
		t.Run(alg, func(t *testing.T) {
			e, cc := certEnv(t, alg)
			c, _, err := e.m.Client("tc")
			if err != nil {
				t.Fatal(err)
			}
			var jtis []string
			for i := 0; i < 2; i++ {
				tok, err := c.ClientCredentialsToken(ctx(t), nil)
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				if tok.AccessToken == "" {
					t.Fatal("no access token")
				}
				form := e.srv.LastTokenRequest()
				t.Logf("the token endpoint received: %s", redacted(form))
				if form.Get("client_secret") != "" || form.Get("client_assertion_type") != oauth.ClientAssertionType {
					t.Fatalf("form %v: want a client assertion and no secret", redacted(form))
				}
				a := form.Get("client_assertion")
				h, claims := decodePart(t, a, 0), decodePart(t, a, 1)
				sum := sha256.Sum256(cc.Cert.Raw)
				if h["alg"] != alg || h["typ"] != "JWT" || h["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) || h["x5t"] == "" {
					t.Errorf("header %v", h)
				}
				if claims["aud"] != c.Endpoints.TokenURL || claims["iss"] != clientID || claims["sub"] != clientID {
					t.Errorf("claims %v: want aud %s and iss = sub = %s", claims, c.Endpoints.TokenURL, clientID)
				}
				if life := claims["exp"].(float64) - claims["nbf"].(float64); life <= 0 || life > 600 {
					t.Errorf("assertion valid for %vs, want at most 600", life)
				}
				jtis = append(jtis, claims["jti"].(string))
			}
			if jtis[0] == jtis[1] || jtis[0] == "" {
				t.Errorf("jti %q then %q: want a fresh assertion per request", jtis[0], jtis[1])
			}
		})
	}
}

func TestCertificateAssertionRefusals(t *testing.T) {
	t.Run("certificate not registered", func(t *testing.T) {
		e, _ := certEnv(t, "")
		other := newClientCert(t, time.Now().AddDate(1, 0, 0))
		e.srv.AddClient(oauthtest.Client{ID: clientID, Certificate: other.Cert})
		c, _, err := e.m.Client("tc")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ClientCredentialsToken(ctx(t), nil)
		if err == nil || !strings.Contains(err.Error(), "AADSTS700027") || !strings.Contains(err.Error(), "Client assertion failed signature validation") {
			t.Fatalf("err = %v, want AADSTS700027", err)
		}
	})
	t.Run("unknown client id", func(t *testing.T) {
		e, _ := certEnv(t, "")
		e.tc().ClientID = "00000000-0000-4000-8000-000000000000"
		c, _, err := e.m.Client("tc")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ClientCredentialsToken(ctx(t), nil)
		if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
			t.Fatalf("err = %v, want AADSTS700016", err)
		}
	})
	// Wrong audience and replay need a hand-made request: mailport never
	// sends either.
	e, _ := certEnv(t, "")
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := e.m.Certificate("tc", e.tc())
	if err != nil {
		t.Fatal(err)
	}
	post := func(assertion string) (int, map[string]any) {
		return postForm(t, c.Endpoints.TokenURL, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://outlook.office365.com/.default"},
			"client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {assertion},
		})
	}
	wrongAud, err := cert.Assertion(clientID, "https://login.microsoftonline.com/other/oauth2/v2.0/token", config.AlgRS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(wrongAud); code != 401 || !strings.Contains(body["error_description"].(string), "AADSTS50027") || !strings.Contains(body["error_description"].(string), "is not the token endpoint") {
		t.Errorf("wrong audience: %d %v", code, body)
	}
	stale, err := cert.Assertion(clientID, c.Endpoints.TokenURL, config.AlgRS256, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(stale); code != 401 || !strings.Contains(body["error_description"].(string), "AADSTS700024") || !strings.Contains(body["error_description"].(string), "not within its valid time range") {
		t.Errorf("signed an hour ago: %d %v", code, body)
	}
	once, err := cert.Assertion(clientID, c.Endpoints.TokenURL, config.AlgRS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(once); code != 200 {
		t.Fatalf("first use: %d %v", code, body)
	}
	if code, body := post(once); code != 401 || !strings.Contains(body["error_description"].(string), "AADSTS700024") || !strings.Contains(body["error_description"].(string), "has already been used") {
		t.Errorf("replayed: %d %v", code, body)
	}
}

// TestCertificateAssertionInUserFlows: a confidential client with a
// certificate redeems the sign-in code and the refresh token with an
// assertion, never a secret.
func TestCertificateAssertionInUserFlows(t *testing.T) {
	e, cc := certEnv(t, "")
	e.srv.AddClient(oauthtest.Client{ID: clientID, Certificate: cc.Cert})
	tc := e.tc()
	tc.Flow, tc.Scopes = config.FlowUser, oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP)
	b := newBrowser()
	if _, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open}); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	form := e.srv.LastTokenRequest()
	if form.Get("grant_type") != "authorization_code" || form.Get("client_assertion") == "" || form.Get("client_secret") != "" {
		t.Fatalf("code redemption sent %s, want a client assertion", redacted(form))
	}
	e.srv.ExpireAccessTokens()
	e.advance(2 * time.Hour)
	ts, err := e.m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(ctx(t)); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	form = e.srv.LastTokenRequest()
	if form.Get("grant_type") != "refresh_token" || form.Get("client_assertion") == "" || form.Get("client_secret") != "" {
		t.Fatalf("refresh sent %s, want a client assertion", redacted(form))
	}
	// The device flow's polls carry one too, each a fresh one.
	e.srv.SetDeviceScript("authorization_pending")
	noWait := func(context.Context, time.Duration) error { return nil }
	if _, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Device: true, Out: e.out, Sleep: noWait}); err != nil {
		t.Fatalf("device flow: %v", err)
	}
	form = e.srv.LastTokenRequest()
	if !strings.HasSuffix(form.Get("grant_type"), "device_code") || form.Get("client_assertion") == "" || form.Get("client_secret") != "" {
		t.Fatalf("device poll sent %s, want a client assertion", redacted(form))
	}
	if n := e.srv.Count("token:urn:ietf:params:oauth:grant-type:device_code"); n != 2 {
		t.Errorf("%d device polls, want 2 (one pending, one approved: a reused assertion would be refused)", n)
	}
}

func TestParseCertificatePKCS12(t *testing.T) {
	cc := newClientCert(t, time.Now().AddDate(1, 0, 0))
	pfx, err := pkcs12.Modern.Encode(cc.Key, cc.Cert, nil, "pfx-pass")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := oauth.ParseCertificate(pfx, "pfx-pass")
	if err != nil {
		t.Fatalf("with the password: %v", err)
	}
	sum := sha256.Sum256(cc.Cert.Raw)
	if got := cert.Thumbprint(); got != strings.ToLower(hexOf(sum[:])) {
		t.Errorf("thumbprint %s", got)
	}
	for pw, want := range map[string]string{
		"":      "is a PKCS#12 file protected by a password: name the environment variable holding it with --certificate-password-env",
		"wrong": "is a PKCS#12 file whose password is not the one given: check the variable named by --certificate-password-env",
	} {
		if _, err := oauth.ParseCertificate(pfx, pw); err == nil || err.Error() != want {
			t.Errorf("password %q: err = %v, want %q", pw, err, want)
		}
	}
	// The store keeps PEM, so the password is needed once only.
	p, err := cert.PEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := oauth.ParseCertificate(p, "")
	if err != nil || again.Thumbprint() != cert.Thumbprint() {
		t.Fatalf("PEM round trip: %v", err)
	}
	// And a PKCS#12 certificate signs assertions the fake accepts.
	e, _ := certEnv(t, "")
	e.srv.AddClient(oauthtest.Client{ID: clientID, Certificate: cc.Cert})
	if err := e.store.Set(secret.ClientSecretKey("tc"), string(p)); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientCredentialsToken(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
}

func TestParseCertificateRefusals(t *testing.T) {
	cc := newClientCert(t, time.Now().AddDate(1, 0, 0))
	other := newClientCert(t, time.Now().AddDate(1, 0, 0))
	keyOnly := cc.PEM[len(cc.CertPEM):]
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"certificate alone": {cc.CertPEM, "holds no private key"},
		"key alone":         {keyOnly, "holds no CERTIFICATE"},
		"mismatched":        {append(append([]byte(nil), other.CertPEM...), keyOnly...), "belongs to none of its certificates"},
		"garbage":           {[]byte("hello"), "is neither PEM"},
	} {
		if _, err := oauth.ParseCertificate(c.data, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func TestCertificateExpiryWarning(t *testing.T) {
	e, _ := certEnv(t, "")
	soon := newClientCert(t, noonIn(10))
	path := filepath.Join(t.TempDir(), "mail.pem")
	if err := os.WriteFile(path, soon.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e.tc().CertificatePath = path
	st, err := e.m.Inspect("support")
	if err != nil {
		t.Fatal(err)
	}
	want := "the certificate of token config tc expires on " + soon.Cert.NotAfter.UTC().Format("2006-01-02") + ", in 10 days: upload a new certificate"
	if st.State != oauth.StateAuthenticated || len(st.Warnings) != 1 || !strings.HasPrefix(st.Warnings[0], want) {
		t.Fatalf("status %s, warnings %q; want AUTHENTICATED and %q", st.State, st.Warnings, want)
	}
	// A stored certificate: the date token-config add recorded.
	e.tc().CertificatePath = ""
	e.tc().CertificateExpires = noonIn(10).Format("2006-01-02")
	st, err = e.m.Inspect("support")
	want = "the certificate of token config tc expires on " + e.tc().CertificateExpires + ", in 10 days: upload a new certificate to the app registration (Certificates & secrets) and store it with mailport token-config edit tc --certificate FILE"
	if err != nil || len(st.Warnings) != 1 || st.Warnings[0] != want {
		t.Fatalf("stored certificate: %v %q, want %q", err, st.Warnings, want)
	}
	e.tc().CertificateExpires = time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	if st, err = e.m.Inspect("support"); err != nil || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "expired on "+e.tc().CertificateExpires) {
		t.Fatalf("expired certificate: %v %q", err, st.Warnings)
	}
	e.tc().CertificateExpires = time.Now().AddDate(0, 2, 0).Format("2006-01-02")
	if st, err = e.m.Inspect("support"); err != nil || len(st.Warnings) != 0 {
		t.Fatalf("two months ahead: %v %q, want no warning", err, st.Warnings)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// noonIn is noon UTC of the day days from today: a notAfter that is that
// many calendar days away whatever the time of day the test runs.
func noonIn(days int) time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(12 * time.Hour)
}
