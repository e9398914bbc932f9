package diagnose

import (
	"fmt"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// TestTokenEndpointRefusals produces each provider refusal at the refresh
// the token check makes, and asserts the catalog entry it is named by.
func TestTokenEndpointRefusals(t *testing.T) {
	scripted := []struct {
		aadsts int
		code   string
		entry  string
		reauth bool
	}{
		{50011, "invalid_request", "aadsts50011", false},
		{700016, "unauthorized_client", "aadsts700016", false},
		{65001, "invalid_grant", "aadsts65001", true},
		{70043, "invalid_grant", "aadsts70043", true},
		{700082, "invalid_grant", "aadsts700082", true},
		{50059, "invalid_request", "aadsts50059", false},
		{700025, "invalid_client", "public-confidential-client", false},
		{7000222, "invalid_client", "client-secret-expiring", false},
		{0, "invalid_scope", "invalid-scope", false},
		{501481, "invalid_grant", "aadsts501481", true},
		{50148, "invalid_request", "aadsts501481", false},
		{54005, "invalid_grant", "aadsts54005", true},
		{70011, "invalid_scope", "aadsts70011", false},
		{28000, "invalid_request", "aadsts28000", false},
		{50020, "invalid_request", "aadsts50020", false},
		{50076, "interaction_required", "aadsts50076", true},
		{50079, "interaction_required", "aadsts50076", true},
		{70008, "invalid_grant", "aadsts70008", true},
	}
	for _, tt := range scripted {
		t.Run(fmt.Sprintf("%s/%d", tt.entry, tt.aadsts), func(t *testing.T) {
			prov := oauthtest.New(oauthtest.Options{})
			defer prov.Close()
			prov.AddClient(oauthtest.Client{ID: testClientID})
			w, _ := oauthWorld(t, prov, closedPort(t), config.IMAP)
			prov.FailToken("refresh_token", oauthtest.Error{Code: tt.code, AADSTS: tt.aadsts, Description: "scripted refusal"})
			rep := w.run("box", Options{})
			expect(t, rep, "token", Fail, tt.entry)
			expect(t, rep, "auth", Skip, "")
			if rep.Reauth != tt.reauth {
				t.Errorf("reauth = %v, want %v", rep.Reauth, tt.reauth)
			}
		})
	}

	t.Run("revoked refresh token", func(t *testing.T) {
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		prov.AddClient(oauthtest.Client{ID: testClientID})
		w, _ := oauthWorld(t, prov, closedPort(t), config.IMAP)
		prov.RevokeUser("alice@mailport-test.onmicrosoft.com")
		rep := w.run("box", Options{})
		expect(t, rep, "token", Fail, "aadsts50173")
		if !rep.Reauth {
			t.Error("a revoked token must ask for re-authentication")
		}
		// The refusal is remembered: the next test says the same without asking.
		rep = w.run("box", Options{})
		expect(t, rep, "token", Fail, "aadsts50173")
	})
	t.Run("refresh token from the environment not valid", func(t *testing.T) {
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		prov.AddClient(oauthtest.Client{ID: testClientID})
		w, _ := oauthWorld(t, prov, closedPort(t), config.IMAP)
		w.env[secret.EnvName(secret.EnvRefreshTokenPrefix, "box")] = "0.ARnot-a-token"
		rep := w.run("box", Options{})
		expect(t, rep, "token", Fail, "aadsts70000")
	})
	t.Run("wrong client secret", func(t *testing.T) {
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		prov.AddClient(oauthtest.Client{ID: testClientID, Secret: "right-value"})
		w := newWorld(t)
		microsoftTC(w, prov, "ms", "", config.IMAP)
		a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
		a.TokenConfig = "ms"
		w.store.Set(secret.ClientSecretKey("ms"), "right-value")
		mustToken(t, w, "box")
		w.store.Set(secret.ClientSecretKey("ms"), "8f1e2d3c-secret-id-not-value")
		rep := w.run("box", Options{})
		expect(t, rep, "token", Fail, "aadsts7000215")
		// Confidential app, no secret at all.
		w.store.Delete(secret.ClientSecretKey("ms"))
		rep = w.run("box", Options{})
		expect(t, rep, "token", Fail, "public-confidential-client")
	})
	t.Run("tenant", func(t *testing.T) {
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		prov.AddClient(oauthtest.Client{ID: testClientID})
		w, _ := oauthWorld(t, prov, closedPort(t), config.IMAP)
		w.cfg.TokenConfigs["ms"].BaseURL = prov.MicrosoftBaseURL("common")
		rep := w.run("box", Options{})
		expect(t, rep, "config", Warn, "aadsts50194")
		expect(t, rep, "token", Fail, "aadsts50194")
		w.cfg.TokenConfigs["ms"].BaseURL = prov.MicrosoftBaseURL("contoso-typo.example")
		rep = w.run("box", Options{})
		expect(t, rep, "token", Fail, "aadsts90002")
		w.cfg.TokenConfigs["ms"].BaseURL = prov.MicrosoftBaseURL("your-tenant")
		rep = w.run("box", Options{})
		expect(t, rep, "config", Warn, "tenant-placeholder")
	})
	t.Run("no token", func(t *testing.T) {
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		w := newWorld(t)
		microsoftTC(w, prov, "ms", "", config.IMAP)
		a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@x")
		a.TokenConfig = "ms"
		w.cfg.TokenConfigs["ms"].SecretExpires = "2020-01-01"
		rep := w.run("box", Options{})
		expect(t, rep, "secrets", Fail, "not-authenticated")
		expect(t, rep, "config", Fail, "client-secret-expiring")
		expect(t, rep, "token", Skip, "")
		if !rep.Reauth {
			t.Error("no token: want reauth")
		}
	})
	t.Run("no password", func(t *testing.T) {
		w := newWorld(t)
		w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "a")
		rep := w.run("box", Options{})
		expect(t, rep, "secrets", Fail, "password-missing")
		if !rep.Reauth {
			t.Error("no password: want reauth (exit 3)")
		}
	})
}

func googleWorld(t *testing.T, prov *oauthtest.Server, scopes []string) *world {
	t.Helper()
	w := newWorld(t)
	w.cfg.TokenConfigs["g"] = &config.TokenConfig{Provider: config.ProviderGoogle, Flow: config.FlowUser, ClientID: "1234-abc.apps.googleusercontent.com",
		AuthURL: prov.GoogleAuthURL(), TokenURL: prov.GoogleTokenURL(), Scopes: scopes, Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
	a.TokenConfig = "g"
	a.Properties[PropTokenInfoURL] = prov.URL + "/tokeninfo"
	w.store.Set(secret.ClientSecretKey("g"), "gsecret")
	mustToken(t, w, "box")
	return w
}

func TestGoogleTokens(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: "1234-abc.apps.googleusercontent.com", Secret: "gsecret"})
	w := googleWorld(t, prov, []string{oauth.ScopeGoogleMail})
	rep := w.run("box", Options{})
	expect(t, rep, "token", OK, "")
	expect(t, rep, "scopes", OK, "")
	if prov.Count("tokeninfo") == 0 {
		t.Error("tokeninfo was not asked")
	}
	// A token without the mail scope: the token config changes after sign-in.
	prov.RevokeUser("alice@mailport-test.onmicrosoft.com")
	rep = w.run("box", Options{})
	expect(t, rep, "token", Fail, "google-invalid-grant")
	if !rep.Reauth {
		t.Error("Google invalid_grant: want reauth")
	}

	prov2 := oauthtest.New(oauthtest.Options{})
	defer prov2.Close()
	prov2.AddClient(oauthtest.Client{ID: "1234-abc.apps.googleusercontent.com"})
	w = newWorld(t)
	w.cfg.TokenConfigs["g"] = &config.TokenConfig{Provider: config.ProviderGoogle, Flow: config.FlowUser, ClientID: "1234-abc.apps.googleusercontent.com",
		AuthURL: prov2.GoogleAuthURL(), TokenURL: prov2.GoogleTokenURL(), Scopes: []string{oauth.ScopeGoogleMail}, Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
	a.TokenConfig = "g"
	a.Properties[PropTokenInfoURL] = prov2.URL + "/tokeninfo"
	mustToken(t, w, "box")
	// tokeninfo unreachable: the scopes kept with the token are used.
	a.Properties[PropTokenInfoURL] = "http://" + closedPort(t) + "/tokeninfo"
	tok, _ := oauth.LoadToken(w.store, "box")
	tok.RefreshToken = ""
	tok.Scopes = []string{"email"}
	oauth.SaveToken(w.store, "box", tok)
	rep = w.run("box", Options{})
	expect(t, rep, "token", Warn, "no-refresh-token")
	expect(t, rep, "scopes", Fail, "google-mail-scope")
}
