package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTokenConfigAddNationalCloudScopes: the scopes token-config add writes
// follow the cloud of --base-url, the flow and --for, as show --json and
// the file on disk say.
func TestTokenConfigAddNationalCloudScopes(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"GCC High IMAP", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/", "--for", "imap"},
			[]string{"https://outlook.office365.us/IMAP.AccessAsUser.All", "offline_access"}},
		{"GCC High SMTP, device flow", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/", "--for", "smtp", "--flow", "device"},
			[]string{"https://outlook.office365.us/SMTP.Send", "offline_access"}},
		{"GCC High Graph by default", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/"},
			[]string{"https://graph.microsoft.us/user.read", "https://graph.microsoft.us/mail.read", "https://graph.microsoft.us/mail.send", "https://graph.microsoft.us/mail.read.shared", "https://graph.microsoft.us/mail.send.shared", "openid", "email", "offline_access"}},
		{"GCC High app-only POP", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/", "--flow", "client_credentials", "--for", "pop3"},
			[]string{"https://outlook.office365.us/.default"}},
		{"GCC High app-only Graph", []string{"--base-url", "https://login.microsoftonline.us/contoso.us/", "--flow", "client_credentials", "--for", "graph"},
			[]string{"https://graph.microsoft.us/.default"}},
		{"China IMAP", []string{"--base-url", "https://login.chinacloudapi.cn/contoso.partner.onmschina.cn/", "--for", "imap"},
			[]string{"https://partner.outlook.cn/IMAP.AccessAsUser.All", "offline_access"}},
		{"global IMAP unchanged", []string{"--tenant", "fabrikam.example", "--for", "imap"},
			[]string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"}},
		{"global Graph unchanged", []string{"--tenant", "fabrikam.example"},
			[]string{"user.read", "mail.read", "mail.send", "mail.read.shared", "mail.send.shared", "openid", "email", "offline_access"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.run("", append([]string{"token-config", "add", "gov", "--provider", "microsoft", "--client-id", clientID, "--no-input"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			if strings.Contains(r.err, "error") {
				t.Errorf("stderr: %s", r.err)
			}
			r = e.mustRun("", "token-config", "show", "gov", "--json")
			var d struct {
				Scopes []string `json:"scopes"`
			}
			if err := json.Unmarshal([]byte(r.out), &d); err != nil {
				t.Fatalf("show --json: %v\n%s", err, r.out)
			}
			if strings.Join(d.Scopes, " ") != strings.Join(tt.want, " ") {
				t.Errorf("scopes %q, want %q", d.Scopes, tt.want)
			}
			if !strings.Contains(e.configText(), tt.want[0]) {
				t.Errorf("config file lacks %s:\n%s", tt.want[0], e.configText())
			}
		})
	}
}

// TestNationalCloudAccountAndScopeCheck: --preset office365 picks the
// cloud's hosts, and authenticate refuses scopes of another cloud before
// any browser opens, naming both clouds and the scopes to use.
func TestNationalCloudAccountAndScopeCheck(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "gov", "--provider", "microsoft", "--base-url", "https://login.microsoftonline.us/contoso.us/", "--client-id", clientID, "--for", "imap", "--no-input")
	e.mustRun("", "token-config", "add", "gov-smtp", "--provider", "microsoft", "--base-url", "https://login.microsoftonline.us/contoso.us/", "--client-id", clientID, "--for", "smtp", "--no-input")
	for _, tt := range []struct {
		name string
		args []string
		host string
	}{
		{"imap", []string{"--protocol", "imap", "--type", "inbound", "--token-config", "gov"}, "outlook.office365.us"},
		{"smtp", []string{"--protocol", "smtp", "--type", "outbound", "--token-config", "gov-smtp"}, "smtp.office365.us"},
		{"host flag wins", []string{"--protocol", "imap", "--type", "inbound", "--token-config", "gov", "--host", "imap.contoso.us"}, "imap.contoso.us"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.mustRun("", append([]string{"account", "add", "box-" + strings.ReplaceAll(tt.name, " ", "-"), "--preset", "office365", "--login", "a@contoso.us", "--json"}, tt.args...)...)
			var d map[string]any
			if err := json.Unmarshal([]byte(r.out), &d); err != nil {
				t.Fatalf("%v\n%s", err, r.out)
			}
			if d["host"] != tt.host {
				t.Errorf("host %v, want %s", d["host"], tt.host)
			}
			if r.err != "" {
				t.Errorf("stderr: %s", r.err)
			}
		})
	}

	// Global Exchange scopes on the .us authority.
	e.mustRun("", "token-config", "edit", "gov", "--scopes", "https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
	const want = `token config gov cannot serve an account of protocol imap: the scope https://outlook.office.com/IMAP.AccessAsUser.All belongs to Microsoft's global cloud, but the token config signs in to US Government (GCC High); use https://outlook.office365.us/IMAP.AccessAsUser.All offline_access instead (mailport token-config edit gov --scopes "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access")`
	var opened []string
	e.open = func(u string) error { opened = append(opened, u); return nil }
	r := e.run("", "authenticate", "box-imap")
	if r.code != 2 || r.err != "error: "+want+"\n" {
		t.Fatalf("authenticate: exit %d\nstderr: %s\nwant exit 2 (a configuration error) and: %s", r.code, r.err, want)
	}
	if len(opened) > 0 || strings.Contains(r.out, "oauth2/v2.0/authorize") {
		t.Errorf("sign-in started: browser %v, stdout %s", opened, r.out)
	}
	// The command it names fixes it.
	e.mustRun("", "token-config", "edit", "gov", "--scopes", "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access")
	if r := e.run("", "config", "validate"); r.code != 0 {
		t.Errorf("config validate: %d %s", r.code, r.err)
	}
}
