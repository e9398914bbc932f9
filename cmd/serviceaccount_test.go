package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

const (
	saEmail = "mail-reader@acme-mail.iam.gserviceaccount.com"
	saID    = "104857600123456789012"
)

// TestServiceAccountSetupAuthenticateAndTest is an admin setting up a
// Google service account: the key file is checked and kept in the secret
// store (the file is then deleted), show names the client ID the Admin
// console wants, authenticate needs no browser, and test names Google's
// refusal when the delegation is withdrawn.
func TestServiceAccountSetupAuthenticateAndTest(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	key, sa := oauthtest.NewServiceAccountKey(saEmail, saID, "https://oauth2.googleapis.com/token")
	sa.Domains, sa.Delegated = []string{"acme.example"}, []string{"https://mail.google.com/"}
	prov.AddServiceAccount(sa)
	e := newEnv(t)
	e.open = func(string) error { t.Error("a browser was opened for a service account"); return nil }
	keyFile := filepath.Join(e.dir, "sa.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}

	r := e.mustRun("", "token-config", "add", "workspace", "--provider", "google", "--flow", "service_account",
		"--key-file", keyFile, "--token-url", prov.GoogleTokenURL())
	for _, want := range []string{"Service account key of " + saEmail + " (client ID " + saID + ") stored", "the key file may be deleted",
		"Domain-wide delegation → Add new): client ID " + saID + ", OAuth scopes https://mail.google.com/."} {
		if !strings.Contains(r.out, want) {
			t.Errorf("add printed %q, want %q", r.out, want)
		}
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	cfg := e.configText()
	for _, want := range []string{"flow: service_account", "client_id: " + saEmail, "token_url: " + prov.GoogleTokenURL()} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "PRIVATE KEY") || strings.Contains(cfg, sa.ClientID) {
		t.Errorf("the config file holds the key or its id:\n%s", cfg)
	}
	if v, err := e.store.Get(secret.ClientSecretKey("workspace")); err != nil || v != string(key) {
		t.Errorf("the secret store holds %d bytes (err %v), want the whole key file (%d bytes)", len(v), err, len(key))
	}

	r = e.mustRun("", "token-config", "show", "workspace")
	for _, want := range []string{"client id:      " + saEmail, "delegation id:  " + saID + " (the client ID for domain-wide delegation", "flow:           service_account", "key:            "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show printed:\n%s\nwant %q", r.out, want)
		}
	}
	r = e.mustRun("", "--json", "token-config", "show", "workspace")
	var d struct {
		ClientID       string            `json:"client_id"`
		Credential     string            `json:"credential"`
		ServiceAccount map[string]string `json:"service_account"`
	}
	if err := json.Unmarshal([]byte(r.out), &d); err != nil || d.ClientID != saEmail || d.Credential != "service_account_key" || d.ServiceAccount["client_id"] != saID || d.ServiceAccount["client_email"] != saEmail {
		t.Errorf("show --json: %v %s", err, r.out)
	}

	for name, login := range map[string]string{"erin": "erin@acme.example", "frank": "frank@acme.example"} {
		e.mustRun("", "account", "add", name, "--preset", "gmail", "--type", "inbound", "--login", login, "--token-config", "workspace")
	}
	r = e.mustRun("", "authenticate", "erin")
	if want := "Account erin obtained a token as erin@acme.example through the service account; no browser is needed"; !strings.Contains(r.out, want) {
		t.Errorf("authenticate printed %q, want %q", r.out, want)
	}
	r = e.mustRun("", "status", "erin", "frank")
	if strings.Count(r.out, "AUTHENTICATED") != 2 {
		t.Errorf("status:\n%s", r.out)
	}
	grants := prov.ServiceAccountGrants()
	if len(grants) != 1 || grants[0].Claims["sub"] != "erin@acme.example" || grants[0].Claims["aud"] != prov.GoogleTokenURL() {
		t.Fatalf("grants: %v", grants)
	}
	t.Logf("the token endpoint received: %s", grants[0])
	if _, err := e.store.Get(secret.TokenKey("erin")); !secret.IsNotFound(err) {
		t.Errorf("a token was stored for erin (err %v): service-account tokens are obtained on demand", err)
	}

	// The administrator withdraws the delegation: test names it.
	sa.Delegated = nil
	prov.AddServiceAccount(sa)
	r = e.run("", "--json", "test", "frank", "--timeout", "2s")
	if r.code != 1 {
		t.Errorf("test exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{`"entry": "google-sa-delegation"`, "Client is unauthorized to retrieve access tokens using this method", "Domain-wide delegation"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("test --json lacks %q:\n%s", want, r.out)
		}
	}
}

// TestServiceAccountBadInput: a wrong key file or a Microsoft service
// account is refused with one sentence and exit 2, and nothing is saved.
func TestServiceAccountBadInput(t *testing.T) {
	e := newEnv(t)
	oauthClient := filepath.Join(e.dir, "client_secret.json")
	os.WriteFile(oauthClient, []byte(`{"installed":{"client_id":"1-abc.apps.googleusercontent.com","client_secret":"GOCSPX-x"}}`), 0o600)
	key, _ := oauthtest.NewServiceAccountKey(saEmail, saID, "https://oauth2.googleapis.com/token")
	good := filepath.Join(e.dir, "sa.json")
	os.WriteFile(good, key, 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--provider", "google", "--key-file", oauthClient}, "the file is an OAuth client's credentials, not a service account key"},
		{[]string{"--provider", "google", "--key-file", filepath.Join(e.dir, "missing.json")}, "--key-file: open"},
		{[]string{"--provider", "google", "--flow", "service_account"}, "missing --key-file"},
		{[]string{"--provider", "google", "--flow", "user", "--key-file", good}, "use it with --flow service_account"},
		{[]string{"--provider", "google", "--key-file", good, "--client-id", "someone-else@x.iam.gserviceaccount.com"}, "is not the service account of the key file"},
		{[]string{"--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--flow", "service_account"}, "service_account is Google's flow and Microsoft has none; for app-only access without a secret use flow client_credentials with a certificate"},
	}
	for _, c := range cases {
		r := e.run("", append([]string{"token-config", "add", "x"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.err, c.want) {
			t.Errorf("add %v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.err, c.want)
		}
	}
	if cfg := e.configText(); strings.Contains(cfg, "x:") {
		t.Errorf("a refused token config was saved:\n%s", cfg)
	}
	// The key from stdin, as a CI job pipes a secret.
	r := e.mustRun(string(key), "token-config", "add", "ci", "--provider", "google", "--key-file", "-")
	if !strings.Contains(r.out, "Service account key of "+saEmail) || !strings.Contains(e.configText(), "flow: service_account") {
		t.Errorf("--key-file - : %s\n%s", r.out, e.configText())
	}
	// Leaving the flow forgets the key: it must never go out as a client secret.
	r = e.mustRun("", "token-config", "edit", "ci", "--flow", "user", "--client-id", "1234-abc.apps.googleusercontent.com")
	if !strings.Contains(r.out, "The service account key was removed from the secret store") {
		t.Errorf("edit --flow user printed %q", r.out)
	}
	if _, err := e.store.Get(secret.ClientSecretKey("ci")); !secret.IsNotFound(err) {
		t.Errorf("the key is still stored after leaving the service_account flow (err %v)", err)
	}
}
