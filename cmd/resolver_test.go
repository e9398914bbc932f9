package cmd

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/resolver"
)

// renamed is u with its host (127.0.0.1) replaced by name, the port kept.
func renamed(t *testing.T, raw, name string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = name + ":" + u.Port()
	return u.String()
}

// TestOAuthAndGraphFollowMAILPORT_RESOLVER: a sign-in server and a Graph
// that only the fake DNS can name: authenticate's token request and
// fetch's Graph requests find them through MAILPORT_RESOLVER.
func TestOAuthAndGraphFollowMAILPORT_RESOLVER(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: through the fake DNS\r\n\r\nbody\r\n"))
	dns := dnstest.Start(t)
	dns.Add(t, "login.corp.test. A 127.0.0.1", "graph.corp.test. A 127.0.0.1")
	t.Setenv(resolver.EnvVar, dns.Addr)

	e := newEnv(t)
	// The user's browser resolves names as mailport does here.
	e.open = func(u string) error {
		go func() {
			c := &http.Client{Transport: resolver.Transport(nil, 10*time.Second)}
			resp, err := c.Get(u)
			if err != nil {
				t.Logf("browser: %v", err)
				return
			}
			resp.Body.Close()
		}()
		return nil
	}
	e.mustRun(secretValue, "token-config", "add", "ms", "--provider", "microsoft", "--base-url", renamed(t, prov.MicrosoftBaseURL("contoso.com"), "login.corp.test"),
		"--client-id", clientID, "--client-secret-stdin", "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+renamed(t, g.URL, "graph.corp.test"))
	if r := e.run("", "authenticate", "support", "--timeout", "20s"); r.code != 0 {
		t.Fatalf("authenticate: exit %d\n%s%s", r.code, r.out, r.err)
	}
	dir := filepath.Join(e.dir, "in")
	if r := e.run("", "fetch", "support", "--to", dir); r.code != 0 {
		t.Fatalf("fetch: exit %d\n%s%s", r.code, r.out, r.err)
	}
	for _, name := range []string{"login.corp.test", "graph.corp.test"} {
		if !dns.Asked("A", name) {
			t.Errorf("%s was not looked up in the fake DNS: %v", name, dns.Queries())
		}
	}
	// Without it, the system's resolver does not know the Graph host.
	t.Setenv(resolver.EnvVar, "")
	r := e.run("", "fetch", "support", "--to", dir, "--timeout", "3s")
	if r.code == 0 || !strings.Contains(r.err, "graph.corp.test") {
		t.Errorf("fetch without MAILPORT_RESOLVER: exit %d, stderr %q; want a failure naming graph.corp.test", r.code, r.err)
	}
}
