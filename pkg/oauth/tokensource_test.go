package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// signIn runs the user flow once so the store holds a token.
func (e *env) signIn() *oauth.Token {
	e.t.Helper()
	b := newBrowser()
	res, err := e.m.Authenticate(ctx(e.t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	if err != nil {
		e.t.Fatalf("sign-in: %v", err)
	}
	b.result(e.t)
	return res.Token
}

func TestTokenSourceUsesStoredTokenWithoutRequests(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	first := e.signIn()
	ts, err := e.m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.AccessToken(ctx(t))
	if err != nil || got != first.AccessToken {
		t.Fatalf("AccessToken = %q, %v", got, err)
	}
	if n := e.srv.Count("token:refresh_token"); n != 0 {
		t.Fatalf("%d refreshes for a fresh token", n)
	}
}

func TestTokenSourceRefreshesAndPersistsRotation(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	first := e.signIn()
	e.advance(59 * time.Minute) // within the skew of the 1h expiry
	ts, err := e.m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token(ctx(t))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok.AccessToken == first.AccessToken || tok.RefreshToken == first.RefreshToken || tok.User != user {
		t.Fatalf("not refreshed or rotated: %+v", tok)
	}
	stored, err := oauth.LoadToken(e.store, "support")
	if err != nil || stored.RefreshToken != tok.RefreshToken || stored.AccessToken != tok.AccessToken {
		t.Fatalf("rotated token not stored: %+v %v", stored, err)
	}
	if _, err := ts.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count("token:refresh_token"); n != 1 {
		t.Fatalf("%d refresh requests, want 1", n)
	}
	// The old refresh token is dead at the fake (strict rotation): only the
	// stored new one keeps the account working.
	e.advance(2 * time.Hour)
	if _, err := ts.Token(ctx(t)); err != nil {
		t.Fatalf("second refresh with the rotated token: %v", err)
	}
}

func TestTokenSourceConcurrentRefreshOneRequest(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	e.advance(2 * time.Hour)
	lockDir := t.TempDir()
	const n = 4
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		// Separate managers and token sources, as separate processes have.
		ts, err := e.manager(lockDir).TokenSource("support")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tokens[i], errs[i] = ts.AccessToken(ctx(t))
		}(i)
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil {
			t.Fatalf("source %d: %v", i, errs[i])
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("sources got different tokens")
		}
	}
	if c := e.srv.Count("token:refresh_token"); c != 1 {
		t.Fatalf("%d refresh requests reached the server, want exactly 1", c)
	}
}

// TestHelperRefreshProcess is the child of TestTokenSourceTwoProcesses.
func TestHelperRefreshProcess(t *testing.T) {
	if os.Getenv("OAUTH_HELPER") != "1" {
		t.Skip("helper process only")
	}
	tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: clientID,
		BaseURL: os.Getenv("OAUTH_BASE"), Scopes: oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP)}
	cfg := &config.Config{Version: 1, TokenConfigs: map[string]*config.TokenConfig{"tc": tc},
		Accounts: map[string]*config.Account{"support": {Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Auth: config.AuthOAuth2, Login: user, TokenConfig: "tc"}}}
	store := secret.NewFile(os.Getenv("OAUTH_STORE"), nil)
	now := time.Now().Add(2 * time.Hour)
	m := &oauth.Manager{Config: cfg, Secrets: &secret.Resolver{Store: store, Getenv: func(string) string { return "" }}, LockDir: os.Getenv("OAUTH_LOCKS"), Now: func() time.Time { return now }}
	ts, err := m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	// Start together, so the refreshes really race.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv("OAUTH_GO")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start signal")
		}
	}
	tok, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("TOKEN=%s\n", tok)
}

func TestTokenSourceTwoProcesses(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	raw, err := e.store.Get(secret.TokenKey("support"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := secret.NewFile(filepath.Join(dir, "secrets.yaml"), nil)
	for _, kv := range [][2]string{{secret.TokenKey("support"), raw}, {secret.ClientSecretKey("tc"), clientSecret}} {
		if err := file.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	var cmds []*exec.Cmd
	outs := make([]strings.Builder, 2)
	for i := range outs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRefreshProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OAUTH_HELPER=1", "OAUTH_BASE="+e.srv.MicrosoftBaseURL(""),
			"OAUTH_STORE="+file.Path(), "OAUTH_LOCKS="+filepath.Join(dir, "locks"), "OAUTH_GO="+filepath.Join(dir, "go"))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	time.Sleep(300 * time.Millisecond) // both children are up and waiting
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
		}
		out := outs[i].String()
		j := strings.Index(out, "TOKEN=")
		if j < 0 {
			t.Fatalf("process %d printed no token:\n%s", i, out)
		}
		toks = append(toks, strings.Fields(out[j+len("TOKEN="):])[0])
	}
	if toks[0] != toks[1] {
		t.Fatal("the two processes got different access tokens")
	}
	if c := e.srv.Count("token:refresh_token"); c != 1 {
		t.Fatalf("%d refresh requests reached the server, want exactly 1", c)
	}
}

func TestTokenSourceRevokedNeedsReauth(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	e.srv.RevokeUser(user)
	e.advance(2 * time.Hour)
	ts, err := e.m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.AccessToken(ctx(t))
	if !oauth.IsAuthRequired(err) {
		t.Fatalf("err = %v, want an AuthRequiredError", err)
	}
	want := "account support must sign in again: the grant was revoked, usually because the user's password changed or an admin revoked sessions (AADSTS50173) (provider said: AADSTS50173: The provided grant has expired due to it being revoked"
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; run: mailport authenticate support") {
		t.Fatalf("message = %q", err.Error())
	}
	st, err := e.m.Inspect("support")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != oauth.StateNeedsReauth || !strings.Contains(st.Cause, "AADSTS50173") {
		t.Fatalf("status = %+v", st)
	}
	before := e.srv.Count("token")
	if _, err := ts.AccessToken(ctx(t)); !oauth.IsAuthRequired(err) {
		t.Fatalf("second use: %v", err)
	}
	if e.srv.Count("token") != before {
		t.Fatal("a known-dead refresh token was sent again")
	}
}

func TestTokenSourceReauthCauses(t *testing.T) {
	cases := []struct {
		provider string
		fail     oauthtest.Error
		want     string
	}{
		{config.ProviderMicrosoft, oauthtest.Error{Code: "invalid_grant", AADSTS: 70043, Description: "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access."}, "Conditional Access sign-in frequency policy (AADSTS70043)"},
		{config.ProviderMicrosoft, oauthtest.Error{Code: "invalid_grant", AADSTS: 700082, Description: "The refresh token has expired due to inactivity."}, "after 90 days without use (AADSTS700082)"},
		{config.ProviderMicrosoft, oauthtest.Error{Code: "interaction_required", AADSTS: 50076, Description: "Due to a configuration change made by your administrator, you must use multi-factor authentication."}, "multi-factor authentication is now required"},
		{config.ProviderGoogle, oauthtest.Error{Code: "invalid_grant", Description: "Token has been expired or revoked."}, "in Testing mode Google expires refresh tokens after 7 days"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			e := newEnv(t, c.provider, config.IMAP)
			e.signIn()
			e.advance(2 * time.Hour)
			e.srv.FailToken("refresh_token", c.fail)
			ts, _ := e.m.TokenSource("support")
			_, err := ts.AccessToken(ctx(t))
			if !oauth.IsAuthRequired(err) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "mailport authenticate support") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestTokenSourceOtherErrorsAreNotReauth(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	e.advance(2 * time.Hour)
	if err := e.store.Set(secret.ClientSecretKey("tc"), "wrong-secret-id"); err != nil {
		t.Fatal(err)
	}
	ts, _ := e.m.TokenSource("support")
	_, err := ts.AccessToken(ctx(t))
	if err == nil || oauth.IsAuthRequired(err) {
		t.Fatalf("err = %v, want a plain error", err)
	}
	for _, want := range []string{"AADSTS7000215: Invalid client secret provided", "Copy the secret's Value (shown only when it is created) from the app registration and store it with `mailport token-config edit tc --client-secret-stdin`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	if strings.Contains(err.Error(), "wrong-secret-id") || strings.Contains(err.Error(), "Trace ID") {
		t.Fatalf("message leaks the secret or Microsoft's trace: %s", err)
	}
	// A wrong client secret must not mark the account NEEDS REAUTH.
	if st, _ := e.m.Inspect("support"); st.State != oauth.StateAuthenticated {
		t.Fatalf("state = %s", st.State)
	}
}

func TestTokenSourceNotAuthenticated(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	ts, _ := e.m.TokenSource("support")
	_, err := ts.AccessToken(ctx(t))
	var ae *oauth.AuthRequiredError
	if !errors.As(err, &ae) || ae.Reauth || err.Error() != "account support is not authenticated: no token is stored; run: mailport authenticate support" {
		t.Fatalf("err = %v", err)
	}
	st, _ := e.m.Inspect("support")
	if st.State != oauth.StateNotAuthenticated || st.Source != secret.SourceNotSet {
		t.Fatalf("status = %+v", st)
	}
}

func TestTokenSourceRefreshTokenFromEnvironment(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	tok := e.signIn()
	if _, _, err := e.m.Logout("support"); err != nil {
		t.Fatal(err)
	}
	e.envVars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = tok.RefreshToken // a CI job's only secret
	ts, err := e.m.TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	at, err := ts.AccessToken(ctx(t))
	if err != nil || at == "" || at == tok.AccessToken {
		t.Fatalf("AccessToken = %q, %v", at, err)
	}
	if _, err := ts.AccessToken(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if c := e.srv.Count("token:refresh_token"); c != 1 {
		t.Fatalf("%d refreshes, want 1", c)
	}
	if _, err := e.store.Get(secret.TokenKey("support")); !secret.IsNotFound(err) {
		t.Fatalf("the override wrote to the store: %v", err)
	}
	st, _ := e.m.Inspect("support")
	if st.State != oauth.StateAuthenticated || st.Source != secret.SourceEnv {
		t.Fatalf("status = %+v", st)
	}
	_, note, _ := e.m.Logout("support")
	if !strings.Contains(note, "MAILPORT_REFRESH_TOKEN_SUPPORT is still set") {
		t.Fatalf("logout note = %q", note)
	}
}

func TestStatusAndLogout(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	e.tc().SecretExpires = e.clock().AddDate(0, 0, 10).Format("2006-01-02")
	e.cfg.Accounts["mailbox"] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Auth: config.AuthBasic, Login: "bob"}
	e.cfg.Accounts["off"] = &config.Account{Enabled: false, Type: config.Inbound, Protocol: config.IMAP, Auth: config.AuthBasic, Login: "carol"}
	if err := e.store.Set(secret.PasswordKey("off"), "pw"); err != nil {
		t.Fatal(err)
	}
	all, err := e.m.StatusAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*oauth.Status{}
	for _, s := range all {
		got[s.Account] = s
	}
	if s := got["support"]; s.State != oauth.StateAuthenticated || s.User != user || s.Expiry.IsZero() || len(s.Scopes) == 0 || !s.Refreshable {
		t.Fatalf("support = %+v", s)
	}
	if w := strings.Join(got["support"].Warnings, ""); !strings.Contains(w, "the client secret of token config tc expires on") || !strings.Contains(w, "in 10 days") {
		t.Fatalf("warnings = %q", w)
	}
	if got["mailbox"].State != oauth.StateNoPassword || got["off"].State != oauth.StateDisabled {
		t.Fatalf("mailbox = %+v, off = %+v", got["mailbox"], got["off"])
	}
	removed, _, err := e.m.Logout("support")
	if err != nil || !removed {
		t.Fatalf("logout = %v, %v", removed, err)
	}
	if st, _ := e.m.Inspect("support"); st.State != oauth.StateNotAuthenticated {
		t.Fatalf("after logout: %s", st.State)
	}
}

func TestDeviceFlowPendingSlowDownThenSuccess(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.srv.SetDeviceScript("authorization_pending", "slow_down", "authorization_pending")
	var sleeps []time.Duration
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Device: true, Out: e.out,
		Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sleeps) != "[5s 5s 10s 10s]" {
		t.Fatalf("waits = %v, want the server's 5s, then 5s more after slow_down", sleeps)
	}
	if res.Flow != config.FlowDevice || res.User != user || res.Token.RefreshToken == "" {
		t.Fatalf("res = %+v", res)
	}
	out := e.out.String()
	if !strings.Contains(out, "To sign in, open "+e.srv.URL+"/devicelogin and enter the code ") {
		t.Fatalf("output = %q", out)
	}
	assertNoSecret(t, out)
}

func TestDeviceFlowDeniedAndExpired(t *testing.T) {
	for step, want := range map[string]string{
		"access_denied": "the device sign-in was declined: the token endpoint refused with authorization_declined: AADSTS70000: The user declined the authorization request.",
		"expired_token": "the device code expired before the sign-in finished: run mailport authenticate again",
	} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
			e.srv.SetDeviceScript("authorization_pending", step)
			_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Device: true, Out: e.out,
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestDeviceFlowRefusesGoogleMail(t *testing.T) {
	e := newEnv(t, config.ProviderGoogle, config.IMAP)
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Device: true, Out: e.out})
	if !errors.Is(err, oauth.ErrGoogleDeviceMail) || !strings.Contains(err.Error(), "use the browser flow instead") {
		t.Fatalf("err = %v", err)
	}
	if e.srv.Count("devicecode") != 0 {
		t.Fatal("the device endpoint was contacted")
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.tc().Flow = config.FlowClientCredentials
	e.tc().Scopes = oauth.AppScopesFor(config.IMAP)
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored || fmt.Sprint(res.Audience) != "[https://outlook.office365.com]" || fmt.Sprint(res.Scopes) != "[IMAP.AccessAsApp POP.AccessAsApp SMTP.SendAsApp]" {
		t.Fatalf("res = %+v", res)
	}
	ts, _ := e.m.TokenSource("support")
	a1, err1 := ts.AccessToken(ctx(t))
	a2, err2 := ts.AccessToken(ctx(t))
	if err1 != nil || err2 != nil || a1 != a2 {
		t.Fatalf("tokens %v %v", err1, err2)
	}
	if c := e.srv.Count("token:client_credentials"); c != 2 { // authenticate's check, then one on demand
		t.Fatalf("%d client credentials requests, want 2", c)
	}
	if st, _ := e.m.Inspect("support"); st.State != oauth.StateAuthenticated {
		t.Fatalf("state = %s", st.State)
	}
	// Graph app-only scopes on an IMAP account are caught up front.
	e.tc().Scopes = oauth.AppScopesFor(config.Microsoft)
	if _, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{}); err == nil || !strings.Contains(err.Error(), "add https://outlook.office365.com/.default") {
		t.Fatalf("err = %v", err)
	}
}

func TestClientCredentialsWrongSecret(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.Microsoft)
	e.tc().Flow = config.FlowClientCredentials
	e.tc().Scopes = oauth.AppScopesFor(config.Microsoft)
	e.srv.AddClient(oauthtest.Client{ID: clientID, Secret: "the-real-one"})
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out})
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") || oauth.IsAuthRequired(err) {
		t.Fatalf("err = %v", err)
	}
	assertNoSecret(t, err.Error(), e.out.String())
}
