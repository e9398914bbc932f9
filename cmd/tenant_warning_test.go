package cmd

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// A tenant of common makes a single-tenant app's sign-in fail with
// AADSTS50194: the warning that explains it comes when the token config is
// saved and again before the sign-in, not only after a successful one.
func TestTenantWarningBeforeTheSignInFails(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{Tenant: "fabrikam-support.net"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	e := newEnv(t)
	const warning = `warning: base_url uses the tenant "common", which Microsoft refuses for single-tenant apps (AADSTS50194)`
	r := e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("common"),
		"--client-id", clientID, "--client-secret-stdin", "--flow", "client_credentials", "--for", "imap")
	if !strings.HasPrefix(r.err, warning) {
		t.Errorf("token-config add: stderr %q, want the tenant warning", r.err)
	}
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@fabrikam-support.net", "--token-config", "ms365")

	r = e.run("", "authenticate", "support")
	lines := strings.Split(strings.TrimSuffix(r.err, "\n"), "\n")
	if r.code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], warning) || !strings.Contains(lines[1], "AADSTS50194") {
		t.Fatalf("authenticate: exit %d stderr:\n%s\nwant the warning, then the AADSTS50194 error", r.code, r.err)
	}

	// An edit that leaves base_url alone does not repeat it; one that sets
	// a real tenant draws none.
	if r := e.mustRun("", "token-config", "edit", "ms365", "--secret-expires", "2027-01-01"); r.err != "" {
		t.Errorf("edit without a tenant change: stderr %q", r.err)
	}
	if r := e.mustRun("", "token-config", "edit", "ms365", "--base-url", srv.MicrosoftBaseURL("fabrikam-support.net")); r.err != "" {
		t.Errorf("edit to a real tenant: stderr %q", r.err)
	}
	if r := e.mustRun("", "authenticate", "support"); strings.Contains(r.err, "warning") {
		t.Errorf("authenticate with a real tenant warned: %q", r.err)
	}
}
