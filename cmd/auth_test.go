package cmd

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// browser follows the authorize URL like a user who approves at once.
func browser(t *testing.T) func(string) error {
	return func(u string) error {
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				t.Logf("browser: %v", err)
				return
			}
			t.Logf("browser: %s -> %d", u, resp.StatusCode)
			resp.Body.Close()
		}()
		return nil
	}
}

func TestAuthenticateStatusLogoutAgainstFakeProvider(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--client-secret-stdin", "--for", "imap")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")

	r := e.run("", "status", "support")
	if r.code != 0 || !strings.Contains(r.out, "support\tNOT AUTHENTICATED") {
		t.Fatalf("status before: %d %q %q", r.code, r.out, r.err)
	}
	r = e.mustRun("", "authenticate", "support", "--timeout", "20s")
	if !strings.Contains(r.out, "Account support is AUTHENTICATED as support@contoso.com.") || !strings.Contains(r.out, "https://outlook.office.com/IMAP.AccessAsUser.All") {
		t.Fatalf("authenticate output: %q\nstderr %q", r.out, r.err)
	}
	if !strings.Contains(r.err, "http://127.0.0.1:") {
		t.Errorf("the sign-in URL was not printed: %q", r.err)
	}
	for _, s := range []string{r.out, r.err, e.configText()} {
		if strings.Contains(s, secretValue) {
			t.Fatal("the client secret leaked into output or config")
		}
	}
	raw, err := e.store.Get(secret.TokenKey("support"))
	if err != nil || !strings.Contains(raw, "refresh_token") {
		t.Fatalf("token not stored: %v %q", err, raw)
	}
	r = e.mustRun("", "status", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 1 {
		t.Fatalf("status --json: %v %s", err, r.out)
	}
	if list[0]["state"] != "AUTHENTICATED" || list[0]["user"] != "support@contoso.com" || list[0]["expiry"] == nil {
		t.Fatalf("status --json: %s", r.out)
	}

	r = e.mustRun("", "logout", "support")
	if !strings.Contains(r.out, "Forgot the tokens of account support.") {
		t.Fatalf("logout: %q", r.out)
	}
	if _, err := e.store.Get(secret.TokenKey("support")); !secret.IsNotFound(err) {
		t.Fatal("token still stored after logout")
	}
}

func TestAuthenticateRefusesMismatchedScopesBeforeBrowser(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{Tenant: "contoso.com"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID})
	e := newEnv(t)
	opened := false
	e.open = func(string) error { opened = true; return nil }
	// Graph scopes (the product guide's) on an IMAP account: the token would fail with AUTHENTICATE failed.
	e.mustRun("", "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("contoso.com"), "--client-id", clientID)
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")
	r := e.run("", "authenticate", "support", "--timeout", "20s")
	if r.code != 2 || opened {
		t.Fatalf("authenticate: exit %d (want 2, a configuration error), browser opened %v", r.code, opened)
	}
	if !strings.Contains(r.err, "IMAP.AccessAsUser.All") {
		t.Fatalf("error does not name the scope to add: %q", r.err)
	}
	if srv.Count("authorize") != 0 {
		t.Fatal("the provider was contacted")
	}
}

func TestAuthenticateErrorCallbackAndUnknownAccount(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{Tenant: "contoso.com"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID})
	srv.FailAuthorize(oauthtest.Error{Code: "access_denied", AADSTS: 65004, Description: "User declined to consent to access the app."})
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("contoso.com"), "--client-id", clientID)
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")
	r := e.run("", "authenticate", "support", "--timeout", "20s")
	if r.code != 1 || !strings.Contains(r.err, "AADSTS65004") {
		t.Fatalf("error callback: code %d stderr %q", r.code, r.err)
	}
	r = e.run("", "authenticate", "nope")
	if r.code != 2 || r.err != "error: no account named \"nope\" (known: support)\n" {
		t.Fatalf("unknown account: %d %q", r.code, r.err)
	}
}
