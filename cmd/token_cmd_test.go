package cmd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// tokenEnv has an authenticated OAuth2 IMAP account "support" at a fake
// Microsoft, and a password account "pwbox".
func tokenEnv(t *testing.T) (*env, *oauthtest.Server) {
	t.Helper()
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"),
		"--client-id", clientID, "--client-secret-stdin", "--for", "imap")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--protocol", "imap", "--type", "inbound",
		"--login", "support@contoso.com", "--token-config", "ms365")
	e.mustRun("hunter2-password", "account", "add", "pwbox", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com",
		"--auth", "basic", "--login", "pw@example.com", "--password-stdin")
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	return e, prov
}

func storedAccessToken(t *testing.T, e *env, account string) string {
	t.Helper()
	tok, err := oauth.LoadToken(e.store, account)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// stdout is exactly the token and a newline, on a terminal too, and the
// token is one the provider minted and still accepts.
func TestTokenPrintsOnlyTheToken(t *testing.T) {
	e, prov := tokenEnv(t)
	want := storedAccessToken(t, e, "support")
	for _, tty := range []bool{false, true} {
		e.stdoutTTY, e.stderrTTY = tty, tty
		r := e.run("", "token", "support")
		if r.code != 0 || r.out != want+"\n" || r.err != "" {
			t.Fatalf("terminal %v: mailport token support: exit %d\nstdout %q\nstderr %q\nwant stdout %q and nothing on stderr", tty, r.code, r.out, r.err, want+"\n")
		}
	}
	if user, ok := prov.ActiveUser(want); !ok || user != "support@contoso.com" {
		t.Fatalf("the printed token is not a live token of support@contoso.com at the provider: %q %v", user, ok)
	}
	if n := prov.Count("token:refresh_token"); n != 0 {
		t.Errorf("a valid token was refreshed %d times", n)
	}
}

// An expired token is refreshed once, the rotated token is stored, and a
// second run uses the stored one.
func TestTokenRefreshesAndStoresTheRotatedToken(t *testing.T) {
	e, prov := tokenEnv(t)
	old := storedAccessToken(t, e, "support")
	e.expireStoredToken("support")
	r := e.mustRun("", "token", "support")
	got := strings.TrimSuffix(r.out, "\n")
	if got == old || strings.Contains(got, "\n") {
		t.Fatalf("after expiry mailport token printed %q, want one fresh token", r.out)
	}
	if n := prov.Count("token:refresh_token"); n != 1 {
		t.Fatalf("refreshes: %d, want 1", n)
	}
	if stored := storedAccessToken(t, e, "support"); stored != got {
		t.Fatalf("the refreshed token was not stored: stored %q, printed %q", stored, got)
	}
	if _, ok := prov.ActiveUser(got); !ok {
		t.Fatal("the refreshed token is not live at the provider")
	}
	r = e.mustRun("", "token", "support")
	if r.out != got+"\n" || prov.Count("token:refresh_token") != 1 || prov.Count("refresh_reuse") != 0 {
		t.Fatalf("second run: %q, refreshes %d, reuses %d; want the stored token and no refresh", r.out, prov.Count("token:refresh_token"), prov.Count("refresh_reuse"))
	}
}

// A token that expires within 5 minutes is refreshed before it is given
// out: the program that asked may hold it for a session.
func TestTokenRefreshesATokenAboutToExpire(t *testing.T) {
	e, prov := tokenEnv(t)
	tok, err := oauth.LoadToken(e.store, "support")
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(4 * time.Minute)
	if err := oauth.SaveToken(e.store, "support", tok); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun("", "token", "support")
	if r.out == tok.AccessToken+"\n" || prov.Count("token:refresh_token") != 1 {
		t.Fatalf("a token with 4 minutes left was handed out as is (refreshes %d)", prov.Count("token:refresh_token"))
	}
}

func TestTokenSASLStrings(t *testing.T) {
	e, _ := tokenEnv(t)
	tok := storedAccessToken(t, e, "support")
	xo := "user=support@contoso.com\x01auth=Bearer " + tok + "\x01\x01"
	ob := "n,a=support@contoso.com,\x01host=outlook.office365.com\x01port=993\x01auth=Bearer " + tok + "\x01\x01"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "support", "--sasl"}, xo},
		{[]string{"token", "--sasl", "support"}, xo},
		{[]string{"token", "support", "--sasl=xoauth2"}, xo},
		{[]string{"token", "support", "--sasl=oauthbearer"}, ob},
		{[]string{"token", "support", "--sasl", "oauthbearer"}, ob},
		{[]string{"token", "--sasl", "OAUTHBEARER", "support"}, ob},
	} {
		r := e.mustRun("", c.args...)
		if !strings.HasSuffix(r.out, "\n") || strings.Count(r.out, "\n") != 1 || r.err != "" {
			t.Fatalf("%v: stdout %q stderr %q, want one line", c.args, r.out, r.err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(r.out, "\n"))
		if err != nil || string(raw) != c.want {
			t.Errorf("%v: decodes to %q (%v), want %q", c.args, raw, err, c.want)
		}
	}
	if r := e.run("", "token", "support", "--sasl", "--json"); r.code != 2 || r.out != "" || !strings.Contains(r.err, "--sasl and --json cannot be combined") {
		t.Errorf("--sasl --json: exit %d stdout %q stderr %q", r.code, r.out, r.err)
	}
	if r := e.run("", "token", "support", "--sasl=plain"); r.code != 2 || r.out != "" || !strings.Contains(r.err, "--sasl") {
		t.Errorf("--sasl=plain: exit %d stdout %q stderr %q", r.code, r.out, r.err)
	}
}

func TestTokenJSON(t *testing.T) {
	e, _ := tokenEnv(t)
	r := e.mustRun("", "token", "support", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.out)
	}
	if got["access_token"] != storedAccessToken(t, e, "support") || got["token_type"] != "Bearer" || got["login"] != "support@contoso.com" ||
		got["user"] != "support@contoso.com" || got["account"] != "support" || got["expiry"] == nil {
		t.Errorf("token --json: %s", r.out)
	}
	if sc, _ := got["scopes"].([]any); len(sc) == 0 || !strings.Contains(r.out, "IMAP.AccessAsUser.All") {
		t.Errorf("token --json scopes: %v", got["scopes"])
	}
}

// A password account gets a refusal that says why and what to do, and
// the password appears nowhere.
func TestTokenRefusesPasswordAccounts(t *testing.T) {
	e, _ := tokenEnv(t)
	for _, args := range [][]string{{"token", "pwbox"}, {"token", "pwbox", "--json"}, {"token", "pwbox", "--sasl"}} {
		r := e.run("", args...)
		if r.code != 2 || r.out != "" {
			t.Fatalf("%v: exit %d stdout %q, want exit 2 and nothing on stdout", args, r.code, r.out)
		}
		want := "error: account pwbox signs in with a password, and mailport token prints only OAuth2 access tokens, never passwords: "
		if !strings.HasPrefix(r.err, want) || !strings.Contains(r.err, "mailport account edit pwbox --auth oauth2") || strings.Count(r.err, "\n") != 1 {
			t.Errorf("%v: stderr %q, want one sentence starting %q", args, r.err, want)
		}
		if strings.Contains(r.out+r.err, "hunter2") {
			t.Fatalf("%v: the password was printed", args)
		}
	}
	if r := e.run("", "token", "nosuch"); r.code != 2 || r.out != "" || !strings.Contains(r.err, "nosuch") {
		t.Errorf("unknown account: exit %d stdout %q stderr %q", r.code, r.out, r.err)
	}
	if r := e.run("", "token"); r.code != 2 || !strings.Contains(r.err, "missing an ACCOUNT name") {
		t.Errorf("no account: exit %d stderr %q", r.code, r.err)
	}
}

func TestTokenWithoutATokenSaysAuthenticate(t *testing.T) {
	e, _ := tokenEnv(t)
	e.mustRun("", "logout", "support")
	r := e.run("", "token", "support")
	if r.code != 3 || r.out != "" || !strings.Contains(r.err, "run: mailport authenticate support") {
		t.Fatalf("exit %d stdout %q stderr %q; want exit 3 naming mailport authenticate support", r.code, r.out, r.err)
	}
}

// The token goes to stdout only: not to --trace, not to -v's stderr.
func TestTokenNeverInTraceOrStderr(t *testing.T) {
	e, _ := tokenEnv(t)
	e.expireStoredToken("support") // a refresh happens, with its HTTP exchange
	trace := filepath.Join(e.dir, "trace.txt")
	r := e.mustRun("", "-v", "--trace", trace, "token", "support")
	tok := strings.TrimSuffix(r.out, "\n")
	r2 := e.mustRun("", "-v", "token", "support", "--sasl")
	b, err := os.ReadFile(trace)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for where, s := range map[string]string{"stderr": r.err + r2.err, "the trace file": string(b)} {
		if strings.Contains(s, tok) || strings.Contains(s, strings.TrimSuffix(r2.out, "\n")) {
			t.Errorf("the token is in %s: %q", where, s)
		}
	}
}

func TestTokenCompletesOAuth2Accounts(t *testing.T) {
	e := completionEnv(t)
	c := e.complete("token", "")
	if strings.Join(c.names, " ") != "support" || c.directive != noFileComp {
		t.Fatalf("__complete token: %q %s, want the OAuth2 account only", c.names, c.directive)
	}
	if c := e.complete("token", "support", ""); len(c.names) != 0 {
		t.Errorf("a second account offered: %q", c.names)
	}
	c = e.complete("token", "support", "--sasl=")
	if strings.Join(c.names, " ") != "--sasl=xoauth2 --sasl=oauthbearer" && strings.Join(c.names, " ") != "xoauth2 oauthbearer" {
		t.Errorf("--sasl= completes %q", c.names)
	}
}

// What docs/integrations.md does with curl: the token of a Graph account
// read from `mailport token` is accepted by Graph as a bearer token.
func TestTokenIsAGraphBearerToken(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	g := graphtest.New(t, graphtest.Options{Authorize: func(tok string) (string, error) {
		if user, ok := prov.ActiveUser(tok); ok {
			return user, nil
		}
		return "", errors.New("not a token of the authorization server")
	}})
	g.AddUser("support@contoso.com")
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: read with curl\r\n\r\nbody\r\n"))
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun(secretValue, "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"),
		"--client-id", clientID, "--client-secret-stdin", "--for", "graph")
	e.mustRun("", "account", "add", "graphacct", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL)
	e.mustRun("", "authenticate", "graphacct", "--timeout", "20s")
	r := e.mustRun("", "token", "graphacct")
	req, err := http.NewRequest("GET", g.URL+"/me/mailFolders/inbox/messages?$select=subject", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSuffix(r.out, "\n"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), "read with curl") {
		t.Fatalf("Graph answered %s to the token: %s", resp.Status, body)
	}
}
