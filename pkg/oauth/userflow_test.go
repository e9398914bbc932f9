package oauth_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

func TestUserFlowMicrosoftStoresTokenForIMAP(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	b := newBrowser()
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	status, page := b.result(t)
	if status != 200 || !strings.Contains(page, "Authenticated as "+user+", you can close this window.") {
		t.Fatalf("browser page %d: %s", status, page)
	}
	if res.User != user || !res.Stored || len(res.Warnings) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if got := res.Audience; len(got) != 1 || got[0] != oauth.ResourceOutlook {
		t.Fatalf("audience = %v, want %s", got, oauth.ResourceOutlook)
	}
	tok, err := oauth.LoadToken(e.store, "support")
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" || tok.Claims == nil || tok.User != user {
		t.Fatalf("stored token = %+v", tok)
	}
	if strings.Join(tok.Claims.Scopes, " ") != "IMAP.AccessAsUser.All" || tok.Claims.TenantID != e.srv.TenantID {
		t.Fatalf("claims = %+v", tok.Claims)
	}
	if time.Until(tok.Expiry) < 50*time.Minute {
		t.Fatalf("expiry %v is not about an hour away", tok.Expiry)
	}
	q := e.srv.LastAuthorize()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 40 {
		t.Fatalf("authorize request lacks PKCE S256 or a random state: %v", q)
	}
	if q.Get("login_hint") != user || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
		t.Fatalf("authorize request = %v", q)
	}
	if !strings.Contains(e.out.String(), "Open this address in a browser to sign in:") || !strings.Contains(e.out.String(), e.srv.URL+"/") {
		t.Fatalf("the URL was not printed:\n%s", e.out.String())
	}
	assertNoSecret(t, e.out.String(), page, fmt.Sprint(res))
}

func TestUserFlowGoogleMergesSeedAuthURL(t *testing.T) {
	e := newEnv(t, config.ProviderGoogle, config.IMAP)
	for i := 0; i < 2; i++ { // the second time proves prompt=consent keeps refresh tokens coming
		b := newBrowser()
		res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
		if err != nil {
			t.Fatalf("Authenticate #%d: %v", i+1, err)
		}
		b.result(t)
		if res.Token.RefreshToken == "" || len(res.Warnings) != 0 {
			t.Fatalf("#%d: no refresh token or warnings: %+v", i+1, res)
		}
	}
	printed := regexp.MustCompile(`http://127\.0\.0\.1:\d+/o/oauth2/v2/auth\?\S+`).FindString(e.out.String())
	if printed == "" {
		t.Fatalf("no auth URL printed:\n%s", e.out.String())
	}
	u, _ := url.Parse(printed)
	raw := u.RawQuery
	if strings.Count(raw, "prompt=") != 1 || strings.Count(raw, "access_type=") != 1 {
		t.Fatalf("parameters duplicated in %s", raw)
	}
	if q := u.Query(); q.Get("prompt") != "consent" || q.Get("access_type") != "offline" {
		t.Fatalf("prompt/access_type = %q/%q", q.Get("prompt"), q.Get("access_type"))
	}
}

func TestUserFlowGoogleWarnsWithoutRefreshToken(t *testing.T) {
	e := newEnv(t, config.ProviderGoogle, config.IMAP)
	e.srv.WithholdRefreshTokens(true)
	b := newBrowser()
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(res.Warnings, "\n")
	if !strings.Contains(w, "Google returned no refresh token") || !strings.Contains(w, "remove the app's access at https://myaccount.google.com/permissions, then run mailport authenticate again") {
		t.Fatalf("warnings = %q", w)
	}
}

func TestUserFlowPKCEMismatchIsRejected(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	b := newBrowser()
	b.before = func(u string) string { // someone swaps the challenge on the way
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		pu.RawQuery = q.Encode()
		return pu.String()
	}
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	if err == nil || !strings.Contains(err.Error(), "AADSTS501481") || !strings.Contains(err.Error(), "Start the sign-in again with `mailport authenticate support`") {
		t.Fatalf("err = %v", err)
	}
	if _, page := b.result(t); !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, "AADSTS501481") {
		t.Fatalf("page = %s", page)
	}
	if _, err := oauth.LoadToken(e.store, "support"); err == nil {
		t.Fatal("a token was stored after a failed sign-in")
	}
	assertNoSecret(t, err.Error(), e.out.String())
}

func TestUserFlowWrongStateKeepsWaiting(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	b := newBrowser()
	var forged struct {
		status int
		body   string
	}
	b.before = func(u string) string {
		redirect := mustQuery(u).Get("redirect_uri")
		resp, err := http.Get(redirect + "?code=stolen&state=not-ours")
		if err != nil {
			t.Errorf("forged callback: %v", err)
			return u
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		forged.status, forged.body = resp.StatusCode, string(body)
		return u
	}
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	if err != nil {
		t.Fatalf("the real callback after a forged one failed: %v", err)
	}
	if forged.status != http.StatusBadRequest || !strings.Contains(forged.body, "state mismatch") {
		t.Fatalf("forged callback got %d %s", forged.status, forged.body)
	}
	if res.User != user || !strings.Contains(e.out.String(), "Ignored a sign-in response") {
		t.Fatalf("res = %+v, out = %s", res, e.out.String())
	}
	if n := e.srv.Count("token:authorization_code"); n != 1 {
		t.Fatalf("%d code redemptions, want 1 (the forged code must never be redeemed)", n)
	}
}

func mustQuery(u string) url.Values {
	pu, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return pu.Query()
}

func TestUserFlowErrorCallbackEndsWithProviderWords(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.srv.FailAuthorize(oauthtest.Error{Code: "access_denied", AADSTS: 65004, Description: "User declined to consent to access the app."})
	b := newBrowser()
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open})
	var pe *oauth.ProviderError
	if !errors.As(err, &pe) || pe.AADSTS != 65004 || pe.Code != "access_denied" {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "AADSTS65004: User declined to consent to access the app.") || !strings.Contains(msg, "consent was refused") || strings.Contains(msg, "Trace ID") {
		t.Fatalf("message = %q", msg)
	}
	if _, page := b.result(t); !strings.Contains(page, "Sign-in failed") {
		t.Fatalf("page = %s", page)
	}
}

func TestUserFlowTimeoutNamesRedirect(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	start := time.Now()
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: func(string) error { return nil }, Timeout: 300 * time.Millisecond})
	var te *oauth.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if !regexp.MustCompile(`no sign-in response arrived at http://127\.0\.0\.1:\d+/ within 300ms`).MatchString(err.Error()) {
		t.Fatalf("message = %q", err.Error())
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the timeout did not end the wait promptly")
	}
}

func TestUserFlowPortInUse(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	e.tc().RedirectURL = fmt.Sprintf("http://127.0.0.1:%d/receiveTokenAuthentication.htm", port)
	_, err = e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: func(string) error { t.Error("browser opened"); return nil }})
	want := fmt.Sprintf("port %d on 127.0.0.1 is already in use, so mailport cannot receive the sign-in redirect there: stop the program using it, or register another loopback port", port)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v", err)
	}
	_, err = e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Listen: ln.Addr().String(), Out: e.out})
	if err == nil || !strings.Contains(err.Error(), "choose another port with --listen 127.0.0.1:PORT") {
		t.Fatalf("--listen err = %v", err)
	}
}

func TestUserFlowPinnedRedirectPath(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	redirect := fmt.Sprintf("http://localhost:%d/phixflow/receiveTokenAuthentication.htm", port)
	e.tc().RedirectURL = redirect
	e.srv.AddClient(oauthtest.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{"http://localhost/phixflow/receiveTokenAuthentication.htm"}})
	b := newBrowser()
	if _, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: b.open}); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.LastAuthorize().Get("redirect_uri"); got != redirect {
		t.Fatalf("redirect_uri = %q, want %q", got, redirect)
	}
	if _, page := b.result(t); !strings.Contains(page, "Authenticated as") {
		t.Fatalf("page = %s", page)
	}
}

func TestUserFlowPasteMode(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	pr, pw := io.Pipe()
	defer pw.Close()
	type result struct {
		res *oauth.AuthResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{
			NoBrowser: true, In: pr, Out: e.out, Open: func(string) error { t.Error("browser opened in --no-browser mode"); return nil },
		})
		done <- result{r, err}
	}()
	var authURL string
	for deadline := time.Now().Add(5 * time.Second); authURL == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		authURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/\S+/authorize\?\S+`).FindString(e.out.String())
	}
	if authURL == "" {
		t.Fatalf("no URL printed:\n%s", e.out.String())
	}
	final := noFollow(t, authURL) // what the address bar shows after sign-in
	fu, _ := url.Parse(final)
	fq := fu.Query()
	fq.Set("state", "x"+fq.Get("state"))
	fu.RawQuery = fq.Encode()
	wrongState := fu.String()
	fmt.Fprintf(pw, "hello\n%s\n  %s  \n", wrongState, final)
	r := <-done
	if r.err != nil {
		t.Fatalf("paste: %v", r.err)
	}
	out := e.out.String()
	for _, want := range []string{"Paste that whole address here", "That is not the address the browser ended on", "Ignored a sign-in response"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if r.res.User != user {
		t.Fatalf("user = %q", r.res.User)
	}
	assertNoSecret(t, out)
}

func TestUserFlowSecondCallbackNeverBlocks(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	var pages []string
	var mu sync.Mutex
	open := func(u string) error {
		final := noFollow(t, u)
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(final)
				if err != nil {
					return // the listener may already be gone: fine
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				pages = append(pages, string(body))
				mu.Unlock()
			}()
		}
		wg.Wait()
		return nil
	}
	if _, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: open}); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Count("token:authorization_code"); n != 1 {
		t.Fatalf("%d code redemptions, want exactly 1", n)
	}
	ok := 0
	for _, p := range pages {
		if strings.Contains(p, "Authenticated as") {
			ok++
		} else if !strings.Contains(p, "already finished") {
			t.Errorf("unexpected page %s", p)
		}
	}
	if ok != 1 {
		t.Fatalf("%d success pages, want 1", ok)
	}
}

func TestAuthenticateRefusesScopesOfAnotherResource(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.tc().Scopes = oauth.GraphUserScopes // the seed's Graph list on an IMAP account
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: func(string) error { t.Error("browser opened"); return nil }})
	var se *oauth.ScopeError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"a Microsoft token serves one resource", "https://graph.microsoft.com", "imap needs https://outlook.office.com", "use https://outlook.office.com/IMAP.AccessAsUser.All offline_access instead",
		// Replaced, not added: one resource per request (AADSTS28000).
		`--scopes "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid email"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %s", want, err)
		}
	}
	if e.srv.Count("authorize") != 0 {
		t.Fatal("the authorize endpoint was contacted")
	}
}

func TestAuthenticatePasswordAccount(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.cfg.Accounts["support"].Auth = config.AuthBasic
	_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{})
	if err == nil || !strings.Contains(err.Error(), "uses password authentication, so there is nothing to authenticate") {
		t.Fatalf("err = %v", err)
	}
}
