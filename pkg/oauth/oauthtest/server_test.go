package oauthtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

const id, secret = "3f0c1a2b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "s3cret"

func post(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return resp.StatusCode, m
}

func introspect(t *testing.T, s *oauthtest.Server, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.IntrospectURL(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not JWT-shaped: %s", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func TestClientCredentialsAudienceAndIntrospection(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id, Secret: secret})
	tokenURL := s.MicrosoftBaseURL("") + "oauth2/v2.0/token"

	status, m := post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"secret-id-not-value"}, "scope": {"https://graph.microsoft.com/.default"}})
	if status != 401 || m["error"] != "invalid_client" || !strings.HasPrefix(m["error_description"].(string), "AADSTS7000215: Invalid client secret provided.") {
		t.Fatalf("wrong secret: %d %v", status, m)
	}
	if codes, _ := m["error_codes"].([]any); len(codes) != 1 || codes[0].(float64) != 7000215 {
		t.Fatalf("error_codes = %v", m["error_codes"])
	}

	_, m = post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	graph := m["access_token"].(string)
	if c := claims(t, graph); c["aud"] != "https://graph.microsoft.com" || c["tid"] != s.TenantID {
		t.Fatalf("graph claims = %v", c)
	}
	_, m = post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"https://outlook.office365.com/.default"}})
	outlook := m["access_token"].(string)

	s.RequireIntrospection("https://outlook.office365.com", "IMAP.AccessAsApp")
	if status, m := introspect(t, s, outlook); status != 200 || m["active"] != true {
		t.Fatalf("outlook token: %d %v", status, m)
	}
	if status, m := introspect(t, s, graph); status != 401 || m["active"] != false {
		t.Fatalf("graph token accepted for IMAP: %d %v", status, m)
	}
	if status, _ := introspect(t, s, "garbage"); status != 401 {
		t.Fatalf("garbage: %d", status)
	}
	if s.Count("introspect") != 3 || s.Count("token:client_credentials") != 3 {
		t.Fatalf("counts %d %d", s.Count("introspect"), s.Count("token:client_credentials"))
	}
}

func TestGoogleDeviceRefusesMailAndTokeninfoRevoke(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{User: "bob@gmail.example"})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id, Secret: secret})
	status, m := post(t, s.GoogleDeviceURL(), url.Values{"client_id": {id}, "scope": {"https://mail.google.com/"}})
	if status != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("device with mail scope: %d %v", status, m)
	}
	_, m = post(t, s.GoogleDeviceURL(), url.Values{"client_id": {id}, "scope": {"email"}})
	_, tok := post(t, s.GoogleTokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {id}, "client_secret": {secret}, "device_code": {m["device_code"].(string)}})
	at := tok["access_token"].(string)
	if strings.Count(at, ".") == 2 {
		t.Fatalf("Google tokens are opaque, got %s", at)
	}
	resp, err := http.Get(s.URL + "/tokeninfo?access_token=" + url.QueryEscape(at))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info["email"] != "bob@gmail.example" || info["scope"] != "email" {
		t.Fatalf("tokeninfo = %v", info)
	}
	if status, _ := post(t, s.URL+"/revoke", url.Values{"token": {tok["refresh_token"].(string)}}); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	status, m = post(t, s.GoogleTokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "client_secret": {secret}, "refresh_token": {tok["refresh_token"].(string)}})
	if status != 400 || m["error"] != "invalid_grant" || m["error_description"] != "Token has been expired or revoked." {
		t.Fatalf("refresh after revoke: %d %v", status, m)
	}
	if status, _ := introspect(t, s, at); status != 401 {
		t.Fatalf("access token still active after its grant was revoked: %d", status)
	}
}

func TestAuthorizeRejectsUnregisteredRedirectAndSingleTenantCommon(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id, RedirectURIs: []string{"http://localhost/cb"}})
	get := func(u string) (int, string) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if loc := resp.Header.Get("Location"); loc != "" {
			return resp.StatusCode, loc
		}
		return resp.StatusCode, string(b)
	}
	q := url.Values{"client_id": {id}, "response_type": {"code"}, "state": {"st"}, "scope": {"openid"}}
	q.Set("redirect_uri", "http://localhost:9999/other")
	if status, body := get(s.MicrosoftBaseURL("") + "oauth2/v2.0/authorize?" + q.Encode()); status != 400 || !strings.Contains(body, "AADSTS50011") {
		t.Fatalf("unregistered redirect: %d %s", status, body)
	}
	q.Set("redirect_uri", "http://localhost:4321/cb") // loopback: any port
	if status, loc := get(s.MicrosoftBaseURL("") + "oauth2/v2.0/authorize?" + q.Encode()); status != 302 || !strings.HasPrefix(loc, "http://localhost:4321/cb?code=") {
		t.Fatalf("registered redirect: %d %s", status, loc)
	}
	if status, body := get(s.MicrosoftBaseURL("common") + "oauth2/v2.0/authorize?" + q.Encode()); status != 400 || !strings.Contains(body, "AADSTS50194") {
		t.Fatalf("common for a single-tenant app: %d %s", status, body)
	}
}
