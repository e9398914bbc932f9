package diagnose

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

func hostPort(ep mail.Endpoint) string { return ep.Host + ":" + strconv.Itoa(ep.Port) }

func TestWrongEncryptionForThePort(t *testing.T) {
	ssl := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL})
	plain := imaptest.Start(t, imaptest.Config{Encryption: mail.StartTLS})

	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, hostPort(ssl.Endpoint()), config.StartTLS, config.AuthBasic, "bob")
	a.Properties[connect.PropTLSCAFile] = ssl.CAFile()
	w.password("box", "pw")
	rep := w.run("box", Options{Timeout: 500 * 1e6})
	expect(t, rep, "tls", Fail, "tls-on-plain-port")

	w = newWorld(t)
	a = w.account("box", config.Inbound, config.IMAP, hostPort(plain.Endpoint()), config.SSL, config.AuthBasic, "bob")
	a.Properties[connect.PropTLSCAFile] = plain.CAFile()
	w.password("box", "pw")
	rep = w.run("box", Options{})
	expect(t, rep, "tls", Fail, "plain-on-tls-port")
}

func TestIMAPPasswordAndFolder(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.StartTLS})
	s.AddUser("bob", "right")
	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, hostPort(s.Endpoint()), config.StartTLS, config.AuthBasic, "bob")
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	w.password("box", "right")
	rep := w.run("box", Options{})
	if rep.Failed() {
		t.Fatalf("a good account: %s", render(rep))
	}
	a.Folder = "Inbox/Endpoint"
	rep = w.run("box", Options{})
	expect(t, rep, "folder", Fail, "folder-not-found")
	w.password("box", "wrong")
	rep = w.run("box", Options{})
	expect(t, rep, "auth", Fail, "wrong-password")
	expect(t, rep, "folder", Skip, "")
	if strings.Contains(w.trace.String(), "wrong") || strings.Contains(w.trace.String(), "right") {
		t.Errorf("the trace holds a password:\n%s", w.trace.String())
	}
}

func TestDisabledAccountAndTokenConfigDirection(t *testing.T) {
	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "bob")
	a.Enabled = false
	w.password("box", "pw")
	rep := w.run("box", Options{})
	expect(t, rep, "config", Fail, "account-disabled")
	expect(t, rep, "tcp", Fail, "tcp-refused") // the rest still runs

	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	w = newWorld(t)
	tc := microsoftTC(w, prov, "ms", "", config.IMAP)
	tc.Inbound = false
	a = w.account("box", config.Inbound, config.IMAP, "127.0.0.1:1", config.SSL, config.AuthOAuth2, "bob")
	a.TokenConfig = "ms"
	rep = w.run("box", Options{})
	expect(t, rep, "config", Fail, "token-config-direction")
	expect(t, rep, "dns", Skip, "")
}

// oauthWorld: an IMAP account of alice at the fake Microsoft, signed in.
func oauthWorld(t *testing.T, prov *oauthtest.Server, hostport, protocol string) (*world, *config.Account) {
	t.Helper()
	w := newWorld(t)
	microsoftTC(w, prov, "ms", "", protocol)
	typ := config.Inbound
	if protocol == config.SMTP {
		typ = config.Outbound
	}
	enc := config.SSL
	if protocol == config.SMTP {
		enc = config.StartTLS
	}
	a := w.account("box", typ, protocol, hostport, enc, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
	a.TokenConfig = "ms"
	mustToken(t, w, "box")
	return w, a
}

func TestServerWithoutXOAUTH2(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL}) // no TokenCheck: no OAuth mechanism
	w, a := oauthWorld(t, prov, hostPort(s.Endpoint()), config.IMAP)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	rep := w.run("box", Options{})
	expect(t, rep, "token", OK, "")
	expect(t, rep, "scopes", OK, "")
	expect(t, rep, "capabilities", Fail, "no-xoauth2")
	expect(t, rep, "auth", Skip, "")
}

func TestPOP3OneLineXOAUTH2Refused(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s := pop3test.NewServer(t, pop3test.Options{ImplicitTLS: true, RefuseOneLineXOAUTH2: true, ValidToken: func(u, tok string) bool { return true }})
	w, a := oauthWorld(t, prov, s.Addr(), config.POP3)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	a.Properties["pop3.xoauth2.two_line"] = "false"
	rep := w.run("box", Options{})
	expect(t, rep, "auth", Fail, "pop3-one-line-xoauth2")
	delete(a.Properties, "pop3.xoauth2.two_line")
	rep = w.run("box", Options{})
	if rep.Failed() {
		t.Fatalf("two-line XOAUTH2: %s", render(rep))
	}
}

func TestSMTPAuthDisabledForTenant(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s, err := smtptest.Start(smtptest.Options{Security: smtptest.StartTLS, Token: func(u, tok string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ca, _ := s.CAFile()
	w, a := oauthWorld(t, prov, s.Addr(), config.SMTP)
	a.Properties[connect.PropTLSCAFile] = ca
	rep := w.run("box", Options{})
	expect(t, rep, "send", OK, "")
	if len(s.Messages()) != 0 {
		t.Fatal("the probe sent a message")
	}
	s.RefuseAuth(smtptest.ReplyTenantDisabled)
	rep = w.run("box", Options{})
	expect(t, rep, "auth", Fail, "smtp-auth-disabled")
	s.RefuseAuth(smtptest.ReplyAuthUnsuccessful)
	rep = w.run("box", Options{})
	expect(t, rep, "auth", Fail, "smtp-auth-unsuccessful")
	s.RefuseAuth("")
	rep = w.run("box", Options{SendTo: "ops@example.test"})
	expect(t, rep, "send", OK, "")
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("--send-to sent %d messages", n)
	}
}

func graphWorld(t *testing.T, prov *oauthtest.Server, g *graphtest.Server, login string) (*world, *config.Account) {
	t.Helper()
	g.SetAuthorize(func(tok string) (string, error) {
		c, ok := oauth.ParseJWT(tok)
		if !ok {
			return "", errString("not a JWT")
		}
		return c.User(), nil
	})
	w := newWorld(t)
	microsoftTC(w, prov, "ms", "", config.Microsoft)
	a := w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthOAuth2, login)
	a.TokenConfig = "ms"
	a.Properties[connect.PropGraphURL] = g.URL
	mustToken(t, w, "box")
	return w, a
}

type errString string

func (e errString) Error() string { return string(e) }

func TestGraphFailures(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	alice, bob := "alice@mailport-test.onmicrosoft.com", "shared@mailport-test.onmicrosoft.com"
	g := graphtest.New(t, graphtest.Options{})
	g.AddUser(alice)
	g.AddUser(bob)
	g.AddFolder(alice, "Inbox/Endpoint")

	w, a := graphWorld(t, prov, g, alice)
	a.Folder = "Inbox/Endpoint"
	rep := w.run("box", Options{})
	if rep.Failed() {
		t.Fatalf("good Graph account: %s", render(rep))
	}
	a.Folder = `Inbox\Endpoint`
	rep = w.run("box", Options{})
	expect(t, rep, "folder", Fail, "graph-id-malformed")

	// Another user's mailbox without delegation.
	a.Folder = ""
	a.Login = bob
	rep = w.run("box", Options{})
	expect(t, rep, "scopes", Warn, "token-user-mismatch")
	expect(t, rep, "auth", Fail, "graph-access-denied")

	a.Login = alice
	g.Throttle(1000, "0")
	rep = w.run("box", Options{})
	expect(t, rep, "auth", Fail, "graph-throttled")
}
