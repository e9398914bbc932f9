package oauth_test

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

func TestCloudOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		tc   config.TokenConfig
		want string
	}{
		{"global", config.TokenConfig{BaseURL: "https://login.microsoftonline.com/contoso.com/"}, "global"},
		{"GCC High", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/contoso.us/"}, "usgov"},
		{"upper-case host", config.TokenConfig{BaseURL: "https://LOGIN.MicrosoftOnline.US/contoso.us/"}, "usgov"},
		{"GCC High with its scopes", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", Scopes: []string{"https://outlook.office365.us/IMAP.AccessAsUser.All", "offline_access"}}, "usgov"},
		{"DoD by its Exchange scope", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", Scopes: []string{"https://outlook-dod.office365.us/IMAP.AccessAsUser.All", "offline_access"}}, "usgov-dod"},
		{"DoD by its Graph scope", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", Scopes: []string{"openid", "https://dod-graph.microsoft.us/.default"}}, "usgov-dod"},
		{".us with bare Graph names", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", Scopes: config.MicrosoftGraphScopes}, "usgov"},
		{".us with global scopes is still .us", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", Scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All"}}, "usgov"},
		{"China", config.TokenConfig{BaseURL: "https://login.chinacloudapi.cn/contoso.partner.onmschina.cn/"}, "china"},
		{"China, partner authority", config.TokenConfig{BaseURL: "https://login.partner.microsoftonline.cn/t/"}, "china"},
		{"auth_url and token_url only", config.TokenConfig{AuthURL: "https://login.microsoftonline.us/t/oauth2/v2.0/authorize", TokenURL: "https://login.microsoftonline.us/t/oauth2/v2.0/token"}, "usgov"},
		{"token_url only", config.TokenConfig{TokenURL: "https://login.chinacloudapi.cn/t/oauth2/v2.0/token"}, "china"},
		{"base_url wins over token_url", config.TokenConfig{BaseURL: "https://login.microsoftonline.us/t/", TokenURL: "http://127.0.0.1:9/t/oauth2/v2.0/token"}, "usgov"},
		{"test server", config.TokenConfig{BaseURL: "http://127.0.0.1:4567/mailport-test.onmicrosoft.com/", Scopes: []string{"https://outlook.office.com/IMAP.AccessAsUser.All"}}, "global"},
		{"test server with Graph names", config.TokenConfig{BaseURL: "http://127.0.0.1:4567/t/", Scopes: config.MicrosoftGraphScopes}, "global"},
		{"test server playing GCC High", config.TokenConfig{BaseURL: "http://127.0.0.1:4567/t/", Scopes: []string{"https://graph.microsoft.us/mail.read"}}, "usgov"},
		{"nothing set", config.TokenConfig{}, "global"},
	} {
		tc := tt.tc
		tc.Provider = config.ProviderMicrosoft
		if got := oauth.CloudOf(&tc).Name; got != tt.want {
			t.Errorf("%s: CloudOf = %s, want %s", tt.name, got, tt.want)
		}
	}
	if oauth.CloudOf(nil) != oauth.GlobalCloud() {
		t.Error("CloudOf(nil) is not the global cloud")
	}
}

func TestCloudLookups(t *testing.T) {
	for res, want := range map[string]string{
		"https://outlook.office.com":               "global exchange",
		"https://outlook.office365.com/":           "global exchange",
		"https://graph.microsoft.com":              "global graph",
		"HTTPS://Outlook.Office365.US":             "usgov exchange",
		"https://graph.microsoft.us":               "usgov graph",
		"https://outlook-dod.office365.us":         "usgov-dod exchange",
		"https://dod-graph.microsoft.us":           "usgov-dod graph",
		"https://partner.outlook.cn":               "china exchange",
		"https://microsoftgraph.chinacloudapi.cn/": "china graph",
		"https://mail.google.com":                  "none",
		"00000003-0000-0000-c000-000000000000":     "none",
	} {
		c, graph := oauth.CloudOfResource(res)
		got := "none"
		if c != nil {
			got = c.Name + map[bool]string{true: " graph", false: " exchange"}[graph]
		}
		if got != want {
			t.Errorf("CloudOfResource(%s) = %s, want %s", res, got, want)
		}
	}
	for host, want := range map[string]string{
		"outlook.office365.com": "global", "smtp.office365.com": "global",
		"outlook.office365.us": "usgov", "smtp.office365.us": "usgov",
		"outlook-dod.office365.us": "usgov-dod", "smtp-dod.office365.us": "usgov-dod",
		"partner.outlook.cn": "china", "SMTP.Partner.Outlook.CN.": "china",
		"imap.gmail.com": "",
	} {
		got := ""
		if c := oauth.CloudOfHost(host); c != nil {
			got = c.Name
		}
		if got != want {
			t.Errorf("CloudOfHost(%s) = %q, want %q", host, got, want)
		}
	}
	for _, tt := range []struct{ cloud, protocol, host, graphRoot string }{
		{"global", "imap", "outlook.office365.com", "https://graph.microsoft.com/v1.0"},
		{"usgov", "smtp", "smtp.office365.us", "https://graph.microsoft.us/v1.0"},
		{"usgov-dod", "pop3", "outlook-dod.office365.us", "https://dod-graph.microsoft.us/v1.0"},
		{"china", "smtp", "smtp.partner.outlook.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0"},
	} {
		c := oauth.CloudNamed(tt.cloud)
		if c == nil || c.Host(tt.protocol) != tt.host || c.GraphRoot != tt.graphRoot {
			t.Errorf("%s: %+v", tt.cloud, c)
		}
	}
	if oauth.CloudNamed("mars") != nil {
		t.Error("an unknown cloud name was found")
	}
}

func TestServesAudience(t *testing.T) {
	us, global := oauth.CloudNamed("usgov"), oauth.GlobalCloud()
	for _, tt := range []struct {
		c        *oauth.Cloud
		protocol string
		aud      string
		want     bool
	}{
		{global, "imap", "https://outlook.office.com", true},
		{global, "imap", "https://outlook.office365.com/", true},
		{global, "imap", oauth.ExchangeAppID, true},
		{global, "imap", "https://graph.microsoft.com", false},
		{global, "microsoft", oauth.GraphAppID, true},
		{global, "imap", "https://outlook.office365.us", false},
		{us, "imap", "https://outlook.office365.us", true},
		{us, "smtp", oauth.ExchangeAppID, true},
		{us, "imap", "https://outlook.office.com", false},
		{us, "imap", "https://graph.microsoft.us", false},
		{us, "microsoft", "https://graph.microsoft.us", true},
		{us, "microsoft", "https://graph.microsoft.com", false},
		{us, "microsoft", oauth.GraphAppID, true},
		{us, "microsoft", "https://dod-graph.microsoft.us", false},
	} {
		if got := tt.c.ServesAudience(tt.protocol, tt.aud); got != tt.want {
			t.Errorf("%s %s %s: %v, want %v", tt.c.Name, tt.protocol, tt.aud, got, tt.want)
		}
	}
}

func TestDefaultScopesPerCloud(t *testing.T) {
	for _, tt := range []struct{ base, flow, protocol, want string }{
		{"https://login.microsoftonline.com/t/", "user", "imap", "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"},
		{"https://login.microsoftonline.com/t/", "user", "microsoft", "user.read mail.read mail.send mail.read.shared mail.send.shared openid email offline_access"},
		{"https://login.microsoftonline.com/t/", "client_credentials", "smtp", "https://outlook.office365.com/.default"},
		{"https://login.microsoftonline.com/t/", "client_credentials", "microsoft", "https://graph.microsoft.com/.default"},
		{"https://login.microsoftonline.us/t/", "user", "imap", "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access"},
		{"https://login.microsoftonline.us/t/", "device", "pop3", "https://outlook.office365.us/POP.AccessAsUser.All offline_access"},
		{"https://login.microsoftonline.us/t/", "user", "smtp", "https://outlook.office365.us/SMTP.Send offline_access"},
		{"https://login.microsoftonline.us/t/", "user", "microsoft", "https://graph.microsoft.us/user.read https://graph.microsoft.us/mail.read https://graph.microsoft.us/mail.send https://graph.microsoft.us/mail.read.shared https://graph.microsoft.us/mail.send.shared openid email offline_access"},
		{"https://login.microsoftonline.us/t/", "client_credentials", "imap", "https://outlook.office365.us/.default"},
		{"https://login.microsoftonline.us/t/", "client_credentials", "microsoft", "https://graph.microsoft.us/.default"},
		{"https://login.chinacloudapi.cn/t/", "user", "imap", "https://partner.outlook.cn/IMAP.AccessAsUser.All offline_access"},
		{"https://login.chinacloudapi.cn/t/", "client_credentials", "microsoft", "https://microsoftgraph.chinacloudapi.cn/.default"},
		{"https://login.partner.microsoftonline.cn/t/", "client_credentials", "pop3", "https://partner.outlook.cn/.default"},
	} {
		tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: tt.flow, BaseURL: tt.base}
		if got := strings.Join(oauth.DefaultScopesFor(tc, tt.protocol), " "); got != tt.want {
			t.Errorf("%s %s %s = %q, want %q", tt.base, tt.flow, tt.protocol, got, tt.want)
		}
	}
	// A DoD token config being edited keeps DoD's resources.
	dod := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, BaseURL: "https://login.microsoftonline.us/t/",
		Scopes: []string{"https://outlook-dod.office365.us/IMAP.AccessAsUser.All", "offline_access"}}
	if got := strings.Join(oauth.DefaultScopesFor(dod, config.SMTP), " "); got != "https://outlook-dod.office365.us/SMTP.Send offline_access" {
		t.Errorf("DoD smtp = %q", got)
	}
	google := &config.TokenConfig{Provider: config.ProviderGoogle, Flow: config.FlowUser}
	if got := strings.Join(oauth.DefaultScopesFor(google, config.IMAP), " "); got != oauth.ScopeGoogleMail {
		t.Errorf("google imap = %q", got)
	}
}

func TestCheckScopesNationalClouds(t *testing.T) {
	tc := func(base, flow string, scopes ...string) *config.TokenConfig {
		return &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: flow, BaseURL: base, Scopes: scopes}
	}
	acct := func(protocol, typ string) *config.Account { return &config.Account{Protocol: protocol, Type: typ} }
	const us, dod, cn = "https://login.microsoftonline.us/contoso.us/", "https://login.microsoftonline.us/army.mil/", "https://login.chinacloudapi.cn/contoso.cn/"
	ok := []struct {
		name string
		tc   *config.TokenConfig
		a    *config.Account
	}{
		{"GCC High IMAP", tc(us, "user", "https://outlook.office365.us/IMAP.AccessAsUser.All", "offline_access"), acct("imap", "inbound")},
		{"GCC High POP", tc(us, "device", "https://outlook.office365.us/POP.AccessAsUser.All", "offline_access"), acct("pop3", "inbound")},
		{"GCC High SMTP", tc(us, "user", "https://outlook.office365.us/SMTP.Send", "offline_access"), acct("smtp", "outbound")},
		{"GCC High SMTP, upper case", tc(us, "user", "HTTPS://OUTLOOK.OFFICE365.US/smtp.send"), acct("smtp", "outbound")},
		{"GCC High Graph, qualified", tc(us, "user", "https://graph.microsoft.us/mail.read", "offline_access"), acct("microsoft", "inbound")},
		{"GCC High Graph, bare names", tc(us, "user", config.MicrosoftGraphScopes...), acct("microsoft", "outbound")},
		{"GCC High app-only IMAP", tc(us, "client_credentials", "https://outlook.office365.us/.default"), acct("imap", "inbound")},
		{"GCC High app-only Graph", tc(us, "client_credentials", "https://graph.microsoft.us/.default"), acct("microsoft", "inbound")},
		{"DoD IMAP", tc(dod, "user", "https://outlook-dod.office365.us/IMAP.AccessAsUser.All", "offline_access"), acct("imap", "inbound")},
		{"DoD Graph", tc(dod, "user", "https://dod-graph.microsoft.us/mail.send", "offline_access"), acct("microsoft", "outbound")},
		{"China SMTP", tc(cn, "user", "https://partner.outlook.cn/SMTP.Send", "offline_access"), acct("smtp", "outbound")},
		{"China app-only Graph", tc(cn, "client_credentials", "https://microsoftgraph.chinacloudapi.cn/.default"), acct("microsoft", "inbound")},
		{"test server playing GCC High", tc("http://127.0.0.1:9/t/", "user", "https://outlook.office365.us/IMAP.AccessAsUser.All"), acct("imap", "inbound")},
	}
	for _, c := range ok {
		if err := oauth.CheckScopes("gov", c.tc, c.a); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	bad := []struct {
		name string
		tc   *config.TokenConfig
		a    *config.Account
		want string
	}{
		{"global Outlook scope with a .us authority", tc(us, "user", "https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"), acct("imap", "inbound"),
			`token config gov cannot serve an account of protocol imap: the scope https://outlook.office.com/IMAP.AccessAsUser.All belongs to Microsoft's global cloud, but the token config signs in to US Government (GCC High); use https://outlook.office365.us/IMAP.AccessAsUser.All offline_access instead (mailport token-config edit gov --scopes "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access")`},
		{"global Graph scopes with a .us authority", tc(us, "user", "https://graph.microsoft.com/mail.read", "https://graph.microsoft.com/mail.send", "openid"), acct("microsoft", "inbound"),
			`the scopes https://graph.microsoft.com/mail.read https://graph.microsoft.com/mail.send belong to Microsoft's global cloud, but the token config signs in to US Government (GCC High); use https://graph.microsoft.us/user.read`},
		{"app-only global .default with a .us authority", tc(us, "client_credentials", "https://outlook.office365.com/.default"), acct("pop3", "inbound"),
			`use https://outlook.office365.us/.default instead (mailport token-config edit gov --scopes "https://outlook.office365.us/.default")`},
		{".us scope with the global authority", tc("https://login.microsoftonline.com/contoso.com/", "user", "https://outlook.office365.us/SMTP.Send"), acct("smtp", "outbound"),
			`the scope https://outlook.office365.us/SMTP.Send belongs to US Government (GCC High), but the token config signs in to Microsoft's global cloud; use https://outlook.office.com/SMTP.Send offline_access instead`},
		{"GCC High Graph scope in a DoD token config", tc(dod, "user", "https://outlook-dod.office365.us/IMAP.AccessAsUser.All", "https://graph.microsoft.us/mail.read"), acct("imap", "inbound"),
			`the scope https://graph.microsoft.us/mail.read belongs to US Government (GCC High), but the token config signs in to US Government (DoD)`},
		{"China authority, .us scope", tc(cn, "user", "https://outlook.office365.us/IMAP.AccessAsUser.All"), acct("imap", "inbound"),
			`but the token config signs in to Microsoft Azure operated by 21Vianet (China); use https://partner.outlook.cn/IMAP.AccessAsUser.All offline_access instead`},
		{"GCC High Graph token for IMAP", tc(us, "user", "https://graph.microsoft.us/mail.read", "https://outlook.office365.us/IMAP.AccessAsUser.All"), acct("imap", "inbound"),
			`the first one named in the scopes (https://graph.microsoft.us), but imap needs https://outlook.office365.us; use https://outlook.office365.us/IMAP.AccessAsUser.All offline_access instead`},
		{"GCC High POP scope for IMAP", tc(us, "user", "https://outlook.office365.us/POP.AccessAsUser.All", "offline_access"), acct("imap", "inbound"),
			`imap needs the scope https://outlook.office365.us/IMAP.AccessAsUser.All; add https://outlook.office365.us/IMAP.AccessAsUser.All to its scopes`},
		{"GCC High Graph without mail.send", tc(us, "user", "https://graph.microsoft.us/mail.read", "offline_access"), acct("microsoft", "outbound"),
			`microsoft needs the scope https://graph.microsoft.us/mail.send`},
		{"GCC High OpenID only for SMTP", tc(us, "user", "openid", "offline_access"), acct("smtp", "outbound"),
			`smtp needs the scope https://outlook.office365.us/SMTP.Send; add https://outlook.office365.us/SMTP.Send to its scopes`},
		{"GCC High app-only Graph .default for IMAP", tc(us, "client_credentials", "https://graph.microsoft.us/.default"), acct("imap", "inbound"),
			`app-only tokens for imap need the https://outlook.office365.us/.default scope`},
	}
	for _, c := range bad {
		err := oauth.CheckScopes("gov", c.tc, c.a)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v\nwant it to contain %q", c.name, err, c.want)
		}
	}
}
