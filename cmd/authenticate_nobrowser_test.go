package cmd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// TestAuthenticateWithoutBrowserFailsAtOnce: where no browser opens and
// standard input has nothing to paste (a script, CI), authenticate ends in
// well under a second with exit 2 and says how to sign in, instead of
// waiting out --timeout for a callback that cannot come.
func TestAuthenticateWithoutBrowserFailsAtOnce(t *testing.T) {
	srv := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer srv.Close()
	srv.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	e := newEnv(t)
	e.open = func(string) error { return errors.New("no browser found: set $BROWSER or install xdg-utils") }
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", srv.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--client-secret-stdin", "--for", "imap")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")

	const how = ": run `mailport authenticate support --no-browser` on a terminal and paste the address there, or sign in with a code on any device with `mailport authenticate support --device`\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"authenticate", "support", "--timeout", "5m"},
			"error: no browser opened (no browser found: set $BROWSER or install xdg-utils), and the address the browser ends on cannot be pasted instead as standard input ended before it was pasted" + how},
		{[]string{"authenticate", "support", "--no-browser", "--timeout", "5m"},
			"error: --no-browser needs the address the browser ends on pasted on standard input, but standard input ended before it was pasted" + how},
	} {
		start := time.Now()
		r := e.run("", tc.args...)
		elapsed := time.Since(start)
		if r.code != 2 {
			t.Errorf("mailport %s: exit %d, want 2\nstderr: %s", strings.Join(tc.args, " "), r.code, r.err)
		}
		if !strings.HasSuffix(r.err, tc.want) {
			t.Errorf("mailport %s: stderr ends\n%q\nwant\n%q", strings.Join(tc.args, " "), r.err, tc.want)
		}
		if !strings.Contains(r.err, "/oauth2/v2.0/authorize?") {
			t.Errorf("the sign-in URL was not printed: %q", r.err)
		}
		if elapsed > 2*time.Second {
			t.Errorf("mailport %s took %s; want it to fail at once", strings.Join(tc.args, " "), elapsed)
		}
		if strings.Contains(r.out+r.err, secretValue) {
			t.Fatal("the client secret leaked")
		}
	}
}
