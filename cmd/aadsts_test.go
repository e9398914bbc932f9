package cmd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// fixFor is the fix of the AADSTS table's row for code, as a command
// prints it: names filled in, in parentheses at the end of the error.
func fixFor(t *testing.T, code int, account, tokenConfig string) string {
	t.Helper()
	a, ok := oauth.AADSTSAdviceFor(code)
	if !ok {
		t.Fatalf("AADSTS%d is not in the table", code)
	}
	return "(" + strings.TrimSuffix(strings.NewReplacer("<account>", account, "<token-config>", tokenConfig).Replace(a.Fix), ".") + ")"
}

func TestAuthenticateWrongClientSecretPrintsTheTablesFix(t *testing.T) {
	// A real-looking tenant: contoso.com draws the placeholder warning.
	srv := oauthtest.New(oauthtest.Options{Tenant: "fabrikam-support.net"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	e := newEnv(t)
	// The secret's ID copied instead of its Value: Microsoft answers AADSTS7000215.
	e.mustRun("5b1e4f0a-secret-id-not-value", "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("fabrikam-support.net"),
		"--client-id", clientID, "--client-secret-stdin", "--flow", "client_credentials", "--for", "imap")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")

	r := e.run("", "authenticate", "support")
	want := fixFor(t, 7000215, "support", "ms365")
	if r.code != 1 || !strings.Contains(r.err, "AADSTS7000215: Invalid client secret provided.") || !strings.HasSuffix(r.err, want+"\n") {
		t.Fatalf("exit %d, want 1\nstderr %q\nwant it to end with %q", r.code, r.err, want)
	}
	if strings.Count(r.err, "\n") != 1 || strings.Contains(r.err, "<") || strings.Contains(r.err, "Trace ID") {
		t.Fatalf("not one clean line: %q", r.err)
	}
}

func TestAuthenticateRefusedInTheBrowserNamesTheAccount(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{Tenant: "contoso.com"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID})
	srv.FailAuthorize(oauthtest.Error{Code: "invalid_request", AADSTS: 50020,
		Description: "User account 'bob@fabrikam.com' from identity provider 'live.com' does not exist in tenant 'Contoso' and cannot access the application."})
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "imap")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")

	r := e.run("", "authenticate", "support", "--timeout", "20s")
	want := fixFor(t, 50020, "support", "ms365")
	if r.code != 1 || !strings.Contains(r.err, "AADSTS50020") || !strings.Contains(r.err, want) {
		t.Fatalf("exit %d, want 1\nstderr %q\nwant %q", r.code, r.err, want)
	}
}

// A refusal at a refresh, deep in fetch, names the account and the token
// config as well.
func TestFetchRefusedRefreshPrintsTheTablesFix(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL)
	e.mustRun("", "authenticate", "support", "--timeout", "20s")

	e.expireStoredToken("support")
	prov.FailToken("refresh_token", oauthtest.Error{Status: 401, Code: "invalid_client", AADSTS: 7000222,
		Description: "The provided client secret keys for app '" + clientID + "' are expired. Visit the Azure portal to create new keys for your app."})
	r := e.run("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
	want := fixFor(t, 7000222, "support", "ms")
	if r.code != 1 || !strings.Contains(r.err, "AADSTS7000222") || !strings.Contains(r.err, want) {
		t.Fatalf("exit %d, want 1\nstderr %q\nwant %q", r.code, r.err, want)
	}
}
