package cmd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// graphMailbox is a fake authorization server and a fake Graph holding
// three unread messages for support@contoso.com, with token config ms
// (scopes as given) and account support authenticated. graphURL, when
// set, stands in front of the fake Graph.
func graphMailbox(t *testing.T, front func(g *graphtest.Server) string, scopes ...string) (*env, *graphtest.Server) {
	t.Helper()
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	for i := 0; i < 3; i++ {
		g.AddMessage("support@contoso.com", "Inbox", []byte(fmt.Sprintf("Subject: g%d\r\n\r\nbody\r\n", i)))
	}
	graphURL := g.URL
	if front != nil {
		graphURL = front(g)
	}
	e := newEnv(t)
	e.open = browser(t)
	tc := []string{"token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID}
	if len(scopes) > 0 {
		tc = append(tc, "--scopes", strings.Join(scopes, " "))
	} else {
		tc = append(tc, "--for", "graph")
	}
	e.mustRun("", tc...)
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+graphURL)
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	return e, g
}

func emlFiles(t *testing.T, dir string) int {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// TestFetchMarkSeenRefusesAReadOnlyGraphToken: a Graph token with
// Mail.Read but not Mail.ReadWrite would fetch everything and then fail
// to mark it seen, on every run. fetch refuses before it reads a message,
// saying what to add and to authenticate again; with the scope added it
// works.
func TestFetchMarkSeenRefusesAReadOnlyGraphToken(t *testing.T) {
	e, g := graphMailbox(t, nil)
	to := filepath.Join(e.dir, "in")
	before := g.Count("GET", "/messages")
	for _, flag := range [][]string{{"--mark-seen"}, {"--move-to", "Archive"}, {"--delete"}} {
		r := e.run("", append([]string{"fetch", "support", "--to", to}, flag...)...)
		verb := map[string]string{"--mark-seen": "marking messages seen", "--move-to": "moving messages", "--delete": "deleting messages"}[flag[0]]
		want := "error: fetch support: " + verb + " needs the Graph permission Mail.ReadWrite, but the token of account support grants only "
		if r.code != 2 || !strings.HasPrefix(r.err, want) || strings.Count(r.err, "\n") != 1 || r.out != "" {
			t.Fatalf("fetch %s: exit %d, stdout %q, stderr\n%s\nwant it to start\n%s", flag[0], r.code, r.out, r.err, want)
		}
		for _, s := range []string{"Mail.Read", "so nothing was fetched", "`mailport token-config edit ms --scopes \"", " mail.readwrite\"`",
			"and run `mailport authenticate support`", "`mailport test support` checks the token"} {
			if !strings.Contains(r.err, s) {
				t.Errorf("fetch %s: stderr lacks %q:\n%s", flag[0], s, r.err)
			}
		}
		if strings.Contains(r.err, "HTTP 403") {
			t.Errorf("fetch %s asked Graph anyway:\n%s", flag[0], r.err)
		}
	}
	if n := emlFiles(t, to); n != 0 || g.Count("GET", "/messages") != before {
		t.Fatalf("refused, yet %d messages were written and Graph was asked for messages %d times", n, g.Count("GET", "/messages")-before)
	}
	// Reading alone needs no write permission.
	if r := e.run("", "fetch", "support", "--to", to); r.code != 0 || emlFiles(t, to) != 3 {
		t.Fatalf("fetch without --mark-seen: exit %d %s", r.code, r.err)
	}

	// The fix the message names works.
	i := strings.Index(e.run("", "fetch", "support", "--to", to, "--mark-seen").err, "--scopes \"")
	if i < 0 {
		t.Fatal("no --scopes in the advice")
	}
	r := e.run("", "fetch", "support", "--to", to, "--mark-seen")
	scopes, _, _ := strings.Cut(r.err[i+len("--scopes \""):], "\"")
	e.mustRun("", "token-config", "edit", "ms", "--scopes", scopes)
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	r = e.run("", "fetch", "support", "--to", filepath.Join(e.dir, "again"), "--mark-seen")
	if r.code != 0 {
		t.Fatalf("after the fix: exit %d %s", r.code, r.err)
	}
	for _, m := range g.Messages("support@contoso.com", "Inbox") {
		if !m.IsRead {
			t.Errorf("message %s is not marked read", m.Subject)
		}
	}
}

// TestFetchGraphAccessDeniedIsExplained: when Graph itself refuses to
// mark messages read (403 ErrorAccessDenied) although the token's scopes
// looked right, the error keeps Graph's words and says what they mean
// and what to do, instead of ending at the raw HTTP status.
func TestFetchGraphAccessDeniedIsExplained(t *testing.T) {
	e, _ := graphMailbox(t, func(g *graphtest.Server) string {
		u, err := url.Parse(g.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch || strings.HasSuffix(r.URL.Path, "/$batch") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}`)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		return front.URL + u.Path
	}, "user.read", "mail.read", "mail.readwrite", "offline_access")
	to := filepath.Join(e.dir, "in")
	r := e.run("", "fetch", "support", "--to", to, "--mark-seen")
	if r.code != 1 || emlFiles(t, to) != 3 {
		t.Fatalf("exit %d, %d files\n%s%s", r.code, emlFiles(t, to), r.out, r.err)
	}
	for _, s := range []string{"error: fetch support: 3 messages are stored but not yet seen", "HTTP 403 ErrorAccessDenied: Access is denied",
		"; marking messages seen needs the Graph permission Mail.ReadWrite: token config ms asks for it, so run `mailport authenticate support`",
		"`mailport test support` checks the token)\n"} {
		if !strings.Contains(r.err, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.err)
		}
	}
	if _, err := os.Stat(to); err != nil {
		t.Fatal(err)
	}
}

// TestFetchErrorsTestCanExplainPointAtIt: a folder that does not exist is
// a failure `mailport test` names; fetch's error ends with the hint to run
// it, as its connection errors do.
func TestFetchErrorsTestCanExplainPointAtIt(t *testing.T) {
	e, _ := graphMailbox(t, nil)
	e.mustRun("", "account", "edit", "support", "--folder", "Inbox/Nope")
	r := e.run("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
	if r.code != 1 || !strings.HasPrefix(r.err, "error: fetch support: ") || !strings.Contains(r.err, `"Inbox/Nope"`) ||
		!strings.HasSuffix(r.err, " (run `mailport test support` for the cause and the fix)\n") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	r = e.run("", "test", "support")
	if !strings.Contains(r.out, "see:   mailport explain folder-not-found") {
		t.Errorf("mailport test does not name the missing folder:\n%s", r.out)
	}
}
