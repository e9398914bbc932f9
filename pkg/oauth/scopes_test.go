package oauth_test

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

func TestResolveEndpoints(t *testing.T) {
	ep, warn, err := oauth.ResolveEndpoints(&config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: "https://login.microsoftonline.com/fabrikam.example/"})
	if err != nil || len(warn) != 0 {
		t.Fatal(err, warn)
	}
	if ep.AuthURL != "https://login.microsoftonline.com/fabrikam.example/oauth2/v2.0/authorize" ||
		ep.TokenURL != "https://login.microsoftonline.com/fabrikam.example/oauth2/v2.0/token" ||
		ep.DeviceURL != "https://login.microsoftonline.com/fabrikam.example/oauth2/v2.0/devicecode" || ep.Tenant != "fabrikam.example" {
		t.Fatalf("%+v", ep)
	}
	for base, want := range map[string]string{
		"https://login.microsoftonline.com/common/":        `tenant "common", which Microsoft refuses for single-tenant apps (AADSTS50194)`,
		"https://login.microsoftonline.com/{tenantId}":     `tenant "{tenantId}" looks like a placeholder`,
		"https://login.microsoftonline.com/MyCompany.com/": `looks like a placeholder`,
	} {
		_, warn, err := oauth.ResolveEndpoints(&config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: base})
		if err != nil || len(warn) != 1 || !strings.Contains(warn[0], want) {
			t.Errorf("%s: warnings %q, err %v", base, warn, err)
		}
	}
	ep, _, err = oauth.ResolveEndpoints(&config.TokenConfig{Provider: config.ProviderGoogle})
	if err != nil || ep.AuthURL != oauth.GoogleAuthURL || ep.TokenURL != oauth.GoogleTokenURL {
		t.Fatalf("google: %+v %v", ep, err)
	}
	if _, _, err := oauth.ResolveEndpoints(&config.TokenConfig{Provider: config.ProviderMicrosoft}); err == nil || !strings.Contains(err.Error(), "has no base_url") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := oauth.ResolveEndpoints(&config.TokenConfig{Provider: config.ProviderGeneric, AuthURL: "https://a/x"}); err == nil || !strings.Contains(err.Error(), "no token_url") {
		t.Fatalf("err = %v", err)
	}
}

func TestScopesFor(t *testing.T) {
	for _, c := range []struct{ provider, flow, protocol, want string }{
		{"microsoft", "user", "imap", "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"},
		{"microsoft", "user", "pop3", "https://outlook.office.com/POP.AccessAsUser.All offline_access"},
		{"microsoft", "device", "smtp", "https://outlook.office.com/SMTP.Send offline_access"},
		{"microsoft", "user", "microsoft", "user.read mail.read mail.send mail.read.shared mail.send.shared openid email offline_access"},
		{"microsoft", "client_credentials", "imap", "https://outlook.office365.com/.default"},
		{"microsoft", "client_credentials", "microsoft", "https://graph.microsoft.com/.default"},
		{"google", "user", "imap", "https://mail.google.com/"},
	} {
		if got := strings.Join(oauth.DefaultScopes(c.provider, c.flow, c.protocol), " "); got != c.want {
			t.Errorf("%s/%s/%s = %q, want %q", c.provider, c.flow, c.protocol, got, c.want)
		}
	}
}

func TestCheckScopes(t *testing.T) {
	ms := func(flow string, scopes ...string) *config.TokenConfig {
		return &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: flow, Scopes: scopes}
	}
	acct := func(protocol, typ string) *config.Account { return &config.Account{Protocol: protocol, Type: typ} }
	ok := []struct {
		tc *config.TokenConfig
		a  *config.Account
	}{
		{ms("user", oauth.ScopesFor("microsoft", "imap")...), acct("imap", "inbound")},
		{ms("user", "https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"), acct("smtp", "outbound")},
		{ms("user", oauth.GraphUserScopes...), acct("microsoft", "inbound")},
		{ms("client_credentials", "https://outlook.office365.com/.default"), acct("pop3", "inbound")},
		{&config.TokenConfig{Provider: "google", Scopes: []string{"https://mail.google.com/"}}, acct("imap", "inbound")},
	}
	for i, c := range ok {
		if err := oauth.CheckScopes("tc", c.tc, c.a); err != nil {
			t.Errorf("ok case %d: %v", i, err)
		}
	}
	bad := []struct {
		tc   *config.TokenConfig
		a    *config.Account
		want string
	}{
		{ms("user", "https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"), acct("pop3", "inbound"), "pop3 needs the scope https://outlook.office.com/POP.AccessAsUser.All; add https://outlook.office.com/POP.AccessAsUser.All to its scopes"},
		{ms("user", "https://outlook.office.com/SMTP.Send"), acct("microsoft", "outbound"), "the first one named in the scopes (https://outlook.office.com), but microsoft needs https://graph.microsoft.com"},
		{ms("user", "mail.read", "offline_access"), acct("microsoft", "outbound"), "microsoft needs the scope mail.send"},
		{ms("user", "openid", "offline_access"), acct("imap", "inbound"), `imap needs the scope https://outlook.office.com/IMAP.AccessAsUser.All; add https://outlook.office.com/IMAP.AccessAsUser.All to its scopes (mailport token-config edit tc --scopes "https://outlook.office.com/IMAP.AccessAsUser.All openid offline_access")`},
		{&config.TokenConfig{Provider: "google", Scopes: []string{"email"}}, acct("smtp", "outbound"), "add https://mail.google.com/"},
	}
	for i, c := range bad {
		err := oauth.CheckScopes("tc", c.tc, c.a)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bad case %d: err = %v, want %q", i, err, c.want)
		}
	}
}

func TestParseJWTIgnoresOpaqueTokens(t *testing.T) {
	if _, ok := oauth.ParseJWT("ya29.a0AfH6SMBx"); ok {
		t.Fatal("an opaque Google token parsed as a JWT")
	}
}
