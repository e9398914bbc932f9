package cmd

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// TestCIRefreshTokenIsRedeemedOncePerRun: with the refresh token in
// MAILPORT_REFRESH_TOKEN_<ACCOUNT> and a provider that accepts each
// refresh token once and revokes the whole family when one comes back,
// `fetch` and `test` of a Graph account succeed with one refresh each, and
// the run says once on stderr that the rotated token could not be kept.
func TestCIRefreshTokenIsRedeemedOncePerRun(t *testing.T) {
	const alice = "support@contoso.com"
	prov := oauthtest.New(oauthtest.Options{User: alice, Tenant: "contoso.com", RevokeFamilyOnReuse: true})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(tok string) (string, error) {
		if u, ok := prov.ActiveUser(tok); ok {
			return u, nil
		}
		return "", errors.New("the access token is unknown, expired or revoked")
	}})
	g.AddUser(alice)
	for i := 0; i < 3; i++ {
		g.AddMessage(alice, "Inbox", []byte(fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", i)))
	}
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", alice, "--property", "graph_url="+g.URL)
	const warning = "warning: the provider replaced the refresh token of account support from MAILPORT_REFRESH_TOKEN_SUPPORT, and mailport cannot write the new one back to the environment: " +
		"if the provider refuses the old one next time, the variable stops working; keep it in an encrypted secrets file that persists between runs (--secrets file with MAILPORT_SECRETS_PASSPHRASE) or use client credentials, see docs/ci.md\n"

	refreshes := 0
	for _, args := range [][]string{
		{"fetch", "support", "--to", filepath.Join(e.dir, "in")},
		{"test", "support", "--timeout", "5s"},
	} {
		// Each job run gets the CI secret, fresh from a sign-in.
		e.vars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = prov.IssueRefreshToken(clientID, config.MicrosoftGraphScopes)
		r := e.run("", args...)
		refreshes++
		if r.code != 0 {
			t.Fatalf("mailport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
		}
		if n := prov.Count("token:refresh_token"); n != refreshes {
			t.Errorf("mailport %s: %d refreshes at the provider so far, want %d", strings.Join(args, " "), n, refreshes)
		}
		if n := prov.Count("refresh_reuse"); n != 0 {
			t.Fatalf("mailport %s presented a redeemed refresh token again (%d times): the provider revoked the CI secret", strings.Join(args, " "), n)
		}
		if strings.Count(r.err, warning) != 1 {
			t.Errorf("mailport %s: stderr %q, want the warning once:\n%s", strings.Join(args, " "), r.err, warning)
		}
	}
}
