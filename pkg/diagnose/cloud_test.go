package diagnose

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// checkText is what a check saw and its findings, joined, for substring
// assertions on what the user reads.
func checkText(rep *Report, check string) string {
	var b strings.Builder
	for _, c := range rep.Checks {
		if c.ID != check {
			continue
		}
		b.WriteString(c.Saw + "\n")
		for _, f := range c.Findings {
			b.WriteString(f.Said + "\n" + f.Cause + "\n" + f.Fix + "\n")
		}
	}
	return b.String()
}

// TestGCCHighIMAPAudience: an IMAP account whose token config signs in at
// login.microsoftonline.us (the endpoints themselves pointing at the fake
// authority) is judged against GCC High's resources. A token for its own
// Exchange passes; a token for GCC High's Graph fails naming the .us
// resources, and the fixes name .us scopes.
func TestGCCHighIMAPAudience(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{GraphResource: "https://graph.microsoft.us"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	// The server plays GCC High's Exchange: it takes only tokens for it.
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, TokenCheck: func(user, tok string) error {
		if c, ok := oauth.ParseJWT(tok); !ok || len(c.Audience) != 1 || c.Audience[0] != "https://outlook.office365.us" {
			return errors.New("not a token for https://outlook.office365.us")
		}
		return nil
	}})
	const alice = "alice@mailport-test.onmicrosoft.com"
	s.AddUser(alice, "unused")

	w := newWorld(t)
	us := oauth.CloudNamed("usgov")
	w.cfg.TokenConfigs["gov"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
		BaseURL: "https://login.microsoftonline.us/contoso.us/",
		AuthURL: prov.MicrosoftBaseURL("") + "oauth2/v2.0/authorize", TokenURL: prov.MicrosoftBaseURL("") + "oauth2/v2.0/token",
		Scopes: us.UserScopes(config.IMAP), Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.IMAP, hostPort(s.Endpoint()), config.SSL, config.AuthOAuth2, alice)
	a.TokenConfig = "gov"
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	mustToken(t, w, "box")

	rep := w.run("box", Options{})
	if rep.Failed() {
		t.Fatalf("a GCC High IMAP account with a GCC High Exchange token:\n%s", render(rep))
	}
	expect(t, rep, "scopes", OK, "")
	if got := checkText(rep, "scopes"); !strings.Contains(got, "audience https://outlook.office365.us;") {
		t.Errorf("the scopes check does not show the token's audience:\n%s", got)
	}

	// The scopes change after sign-in to GCC High's Graph: the refresh
	// yields a token for https://graph.microsoft.us.
	w.cfg.TokenConfigs["gov"].Scopes = us.UserScopes(config.Microsoft)
	rep = w.run("box", Options{})
	expect(t, rep, "config", Fail, "scopes-wrong-resource")
	f := finding(t, rep, "scopes", Fail, "token-wrong-audience")
	if want := "The token's audience is https://graph.microsoft.us, but imap needs https://outlook.office365.us. "; !strings.HasPrefix(f.Cause, want) {
		t.Errorf("cause %q\nwant it to start with %q", f.Cause, want)
	}
	if !strings.Contains(f.Fix, "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access") {
		t.Errorf("the fix does not name GCC High's IMAP scope: %q", f.Fix)
	}
	f = finding(t, rep, "auth", Fail, "authenticate-failed-graph-token")
	if !strings.Contains(f.Fix, "(https://outlook.office365.us/IMAP.AccessAsUser.All offline_access)") {
		t.Errorf("the fix does not name GCC High's IMAP scope: %q", f.Fix)
	}
	all := render(rep)
	if strings.Contains(all, "outlook.office.com") || strings.Contains(all, "graph.microsoft.com") {
		t.Errorf("a GCC High account's report names the global cloud:\n%s", all)
	}
	if !strings.Contains(all, "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access") {
		t.Errorf("the configuration check does not name the scopes to use:\n%s", all)
	}

	// Global Exchange scopes on the .us authority: refused by the
	// configuration check, naming both clouds.
	w.cfg.TokenConfigs["gov"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP)
	rep = w.run("box", Options{})
	f = finding(t, rep, "config", Fail, "scopes-wrong-resource")
	if want := "the scope https://outlook.office.com/IMAP.AccessAsUser.All belongs to Microsoft's global cloud, but the token config signs in to US Government (GCC High)."; !strings.Contains(f.Cause, want) {
		t.Errorf("cause %q\nwant it to contain %q", f.Cause, want)
	}
	if want := "Use https://outlook.office365.us/IMAP.AccessAsUser.All offline_access instead: `mailport token-config edit gov --scopes"; !strings.HasPrefix(f.Fix, want) {
		t.Errorf("fix %q\nwant it to start with %q", f.Fix, want)
	}
}

// TestGlobalAudienceMessageUnchanged: the global cloud's words stay as
// they were.
func TestGlobalAudienceMessageUnchanged(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, TokenCheck: func(user, tok string) error { return nil }})
	s.AddUser("alice@mailport-test.onmicrosoft.com", "unused")
	w, a := oauthWorld(t, prov, hostPort(s.Endpoint()), config.IMAP)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.Microsoft)
	rep := w.run("box", Options{})
	f := finding(t, rep, "scopes", Fail, "token-wrong-audience")
	if want := "The token's audience is https://graph.microsoft.com, but imap needs https://outlook.office.com. A Microsoft token serves one resource. IMAP, POP and SMTP accept only tokens for https://outlook.office.com;"; !strings.HasPrefix(f.Cause, want) {
		t.Errorf("cause %q\nwant it to start with %q", f.Cause, want)
	}
}

// TestNationalCloudEvidence: the catalog knows every cloud's Graph
// audiences and Exchange hosts.
func TestNationalCloudEvidence(t *testing.T) {
	for _, tt := range []struct {
		ev   Evidence
		want string
	}{
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "oauth2", Provider: "microsoft", Audience: []string{"https://graph.microsoft.us"}, Text: "NO AUTHENTICATE failed."}, "authenticate-failed-graph-token"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "oauth2", Provider: "microsoft", Audience: []string{"https://dod-graph.microsoft.us/"}, Text: "NO AUTHENTICATE failed."}, "authenticate-failed-graph-token"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "oauth2", Provider: "microsoft", Audience: []string{"00000003-0000-0000-c000-000000000000"}, Text: "NO AUTHENTICATE failed."}, "authenticate-failed-graph-token"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "pop3", Auth: "oauth2", Provider: "microsoft", Audience: []string{"https://microsoftgraph.chinacloudapi.cn"}, Text: "-ERR Authentication failure"}, "authenticate-failed-graph-token"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "oauth2", Provider: "microsoft", Audience: []string{"https://outlook.office365.us"}, Text: "NO AUTHENTICATE failed."}, "authenticate-failed-mailbox"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "basic", Host: "outlook.office365.us", Text: "NO AUTHENTICATE failed."}, "authenticate-failed-protocol-auth-type"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "basic", Host: "partner.outlook.cn", Text: "NO LOGIN failed."}, "authenticate-failed-protocol-auth-type"},
		{Evidence{Check: "auth", Reason: "refused", Protocol: "imap", Auth: "basic", Host: "mail.example.com", Text: "NO LOGIN failed."}, "wrong-password"},
	} {
		e := Lookup(&tt.ev)
		got := ""
		if e != nil {
			got = e.ID
		}
		if got != tt.want {
			t.Errorf("%+v: entry %q, want %q", tt.ev, got, tt.want)
		}
	}
}

// TestPasswordAccountFixNamesItsCloud: catalog fixes name the hosts of the
// cloud the account's server is in.
func TestPasswordAccountFixNamesItsCloud(t *testing.T) {
	w := newWorld(t)
	a := w.account("box", config.Outbound, config.SMTP, "smtp.office365.us", config.StartTLS, config.AuthBasic, "a@contoso.us")
	r := &runner{name: "box", acct: a}
	got := r.fill(Catalog[indexOf(t, "dns-failure")].Fix)
	if strings.Contains(got, "office365.com") || !strings.Contains(got, "outlook.office365.us (IMAP/POP) or smtp.office365.us (SMTP)") {
		t.Errorf("fix for a GCC High host: %q", got)
	}
	a.Host = "smtp.office365.com"
	if got := r.fill(Catalog[indexOf(t, "dns-failure")].Fix); got != strings.NewReplacer("<account>", "box").Replace(Catalog[indexOf(t, "dns-failure")].Fix) {
		t.Errorf("fix for a global host changed: %q", got)
	}
}

func indexOf(t *testing.T, id string) int {
	t.Helper()
	for i, e := range Catalog {
		if e.ID == id {
			return i
		}
	}
	t.Fatalf("no catalog entry %s", id)
	return -1
}

// TestGCCHighGraphAccountChecksItsGraph: without graph_url, the network
// checks of a Graph account go to its cloud's Graph host.
func TestGCCHighGraphAccountChecksItsGraph(t *testing.T) {
	fakeDNS(t, map[string]string{"graph.microsoft.us.": "127.0.0.1"})
	w := newWorld(t)
	w.cfg.TokenConfigs["gov"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
		BaseURL: "https://login.microsoftonline.us/contoso.us/", Scopes: oauth.CloudNamed("usgov").UserScopes(config.Microsoft), Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthOAuth2, "a@contoso.us")
	a.TokenConfig = "gov"
	rep := w.run("box", Options{})
	if got := checkText(rep, "dns"); !strings.Contains(got, "graph.microsoft.us") {
		t.Errorf("the DNS check did not look up graph.microsoft.us:\n%s", render(rep))
	}
	if got := checkText(rep, "tcp"); !strings.Contains(got, ":443") {
		t.Errorf("the TCP check did not try port 443:\n%s", render(rep))
	}
}
