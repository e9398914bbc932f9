package diagnose

import (
	"os"
	"strconv"
	"testing"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// The real Dovecot checks tokens against bedProvider's /introspect.
var (
	bedProvider *oauthtest.Server
	bed         = &testbed.Shared{}
)

func TestMain(m *testing.M) {
	bedProvider = oauthtest.New(oauthtest.Options{User: "alice@example.test", Tenant: "example.test"})
	bedProvider.AddClient(oauthtest.Client{ID: testClientID})
	bed.Options = testbed.Options{IntrospectionURL: bedProvider.IntrospectURL()} // Postfix too: TestProtocolMatrix
	code := m.Run()
	bed.Stop()
	bedProvider.Close()
	os.Exit(code)
}

func TestDovecot(t *testing.T) {
	b := bed.Get(t)
	addr := b.Host + ":" + strconv.Itoa(b.IMAPSPort)

	t.Run("wrong password", func(t *testing.T) {
		w := newWorld(t)
		a := w.account("box", config.Inbound, config.IMAP, addr, config.SSL, config.AuthBasic, "alice@example.test")
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		w.password("box", "alice-password")
		if rep := w.run("box", Options{}); rep.Failed() {
			t.Fatalf("right password: %s", render(rep))
		}
		w.password("box", "not-her-password")
		rep := w.run("box", Options{})
		expect(t, rep, "auth", Fail, "wrong-password")
	})

	oauthBox := func(t *testing.T) (*world, *config.Account) {
		w := newWorld(t)
		microsoftTC(w, bedProvider, "ms", "example.test", config.IMAP)
		a := w.account("box", config.Inbound, config.IMAP, addr, config.SSL, config.AuthOAuth2, "alice@example.test")
		a.TokenConfig = "ms"
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		mustToken(t, w, "box")
		return w, a
	}
	bedProvider.RequireIntrospection(oauth.ResourceOutlook, "IMAP.AccessAsUser.All")
	defer bedProvider.RequireIntrospection("", "")

	t.Run("good token", func(t *testing.T) {
		w, _ := oauthBox(t)
		if rep := w.run("box", Options{}); rep.Failed() {
			t.Fatalf("good token: %s", render(rep))
		}
	})
	t.Run("token with the Graph audience", func(t *testing.T) {
		w, _ := oauthBox(t)
		// The scopes change after sign-in: the refresh yields a Graph token.
		w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.Microsoft)
		rep := w.run("box", Options{})
		expect(t, rep, "config", Fail, "scopes-wrong-resource")
		expect(t, rep, "scopes", Fail, "token-wrong-audience")
		expect(t, rep, "auth", Fail, "authenticate-failed-graph-token")
	})
	t.Run("token without the IMAP scope", func(t *testing.T) {
		w, _ := oauthBox(t)
		w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.POP3)
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", Fail, "token-missing-scope")
		expect(t, rep, "auth", Fail, "token-refused-unfit")
	})
	t.Run("token user is not the login", func(t *testing.T) {
		w, a := oauthBox(t)
		a.Login = "bob@example.test"
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", Warn, "token-user-mismatch")
		expect(t, rep, "auth", Fail, "token-user-mismatch")
	})
}
