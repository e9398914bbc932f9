package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodHead = `version: 1
token_configs:
  ms365:
    provider: microsoft
    client_id: 3f0c1a2b-1111-4222-8333-444455556666
    base_url: https://login.microsoftonline.com/contoso.com/
    scopes: [user.read, mail.read]
    inbound: true
    outbound: false
  gmail:
    provider: google
    client_id: 1234-abc.apps.googleusercontent.com
    auth_url: https://accounts.google.com/o/oauth2/v2/auth
    token_url: https://oauth2.googleapis.com/token
accounts:
`

// account builds an account block with one line replaced or added.
func account(lines ...string) string {
	base := map[string]string{
		"type": "inbound", "protocol": "imap", "host": "imap.example.com", "login": "a@example.com", "auth": "basic",
	}
	order := []string{"type", "protocol", "host", "login", "auth"}
	var extra []string
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		if _, ok := base[k]; ok {
			base[k] = v
		} else {
			extra = append(extra, l)
		}
	}
	var b strings.Builder
	b.WriteString("  acct:\n")
	for _, k := range order {
		if base[k] == "-" {
			continue
		}
		b.WriteString("    " + k + ": " + base[k] + "\n")
	}
	for _, l := range extra {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func TestLoadRejectsBadConfigs(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"bad yaml", "version: 1\naccounts: [\n", `config.yaml:2: invalid YAML: did not find expected node content`},
		{"unknown top key", "version: 1\nacounts: {}\n", `config.yaml:2: acounts: unknown field; did you mean accounts? (known fields: version, secrets, token_configs, accounts)`},
		{"version string", "version: one\n", `config.yaml:1: version: "one" is not a whole number`},
		{"version 2", "version: 2\naccounts: {}\n", `config.yaml:1: version: 2 is not supported by this mailport (it reads version 1)`},
		{"version missing", "accounts:\n" + account(), `config.yaml:1: version: missing; add "version: 1" at the top of the file`},
		{"encryption tls", goodHead + account("encryption: tls"), `config.yaml:22: accounts.acct.encryption: "tls" is not one of ssl, starttls, none`},
		{"unknown account key", goodHead + account("hostname: x"), `config.yaml:22: accounts.acct.hostname: unknown field; did you mean host? (known fields: enabled, type, protocol, host, port, encryption, auth, login, token_config, folder, on_received, exec, hold_dir, properties)`},
		{"port text", goodHead + account("port: abc"), `config.yaml:22: accounts.acct.port: "abc" is not a whole number`},
		{"port range", goodHead + account("port: 70000"), `config.yaml:22: accounts.acct.port: 70000 is out of range; use 0 for the default port or 1-65535`},
		{"port negative", goodHead + account("port: -1"), `config.yaml:22: accounts.acct.port: -1 is out of range; use 0 for the default port or 1-65535`},
		{"enabled yes", goodHead + account("enabled: yes"), `config.yaml:22: accounts.acct.enabled: "yes" must be true or false`},
		{"type", goodHead + account("type: incoming"), `config.yaml:17: accounts.acct.type: "incoming" is not one of inbound, outbound`},
		{"protocol", goodHead + account("protocol: exchange"), `config.yaml:18: accounts.acct.protocol: "exchange" is not one of imap, pop3, microsoft, smtp`},
		{"auth", goodHead + account("auth: password"), `config.yaml:21: accounts.acct.auth: "password" is not one of basic, oauth2`},
		{"inbound smtp", goodHead + account("protocol: smtp"), `config.yaml:18: accounts.acct.protocol: smtp sends mail; an inbound account uses imap, pop3 or microsoft`},
		{"outbound imap", goodHead + account("type: outbound"), `config.yaml:18: accounts.acct.protocol: imap receives mail; an outbound account uses smtp or microsoft`},
		{"host missing", goodHead + account("host: -"), `config.yaml:16: accounts.acct.host: missing; set the imap server's host name`},
		{"host and protocol missing", goodHead + account("host: -", "protocol: -"), `config.yaml:16: accounts.acct.host: missing; set the mail server's host name`},
		{"login missing", goodHead + account("login: -"), `config.yaml:16: accounts.acct.login: missing; set the mailbox's login (usually its email address)`},
		{"oauth2 no token config", goodHead + account("auth: oauth2"), `config.yaml:16: accounts.acct.token_config: missing; auth: oauth2 needs a token config (see mailport token-config list)`},
		{"token config unknown", goodHead + account("auth: oauth2", "token_config: m365"), `config.yaml:22: accounts.acct.token_config: "m365" does not exist (known: gmail, ms365)`},
		{"microsoft basic", goodHead + account("protocol: microsoft", "host: -"), `config.yaml:20: accounts.acct.auth: protocol microsoft (Graph) needs auth: oauth2`},
		{"outbound token config", goodHead + account("type: outbound", "protocol: smtp", "auth: oauth2", "token_config: ms365"), `config.yaml:22: accounts.acct.token_config: "ms365" does not support outbound mail; set outbound: true on it or pick another`},
		{"graph with google", goodHead + account("protocol: microsoft", "auth: oauth2", "token_config: gmail"), `config.yaml:22: accounts.acct.token_config: "gmail" is a google token config; protocol microsoft (Graph) needs a microsoft one`},
		{"basic with token config", goodHead + account("token_config: ms365"), `config.yaml:22: accounts.acct.token_config: is set but auth is basic; set auth: oauth2 or remove token_config`},
		{"exec without command", goodHead + account("on_received: exec"), `config.yaml:16: accounts.acct.exec: missing; on_received: exec needs the command to run for each message`},
		{"on_received", goodHead + account("on_received: keep"), `config.yaml:22: accounts.acct.on_received: "keep" is not one of hold, exec`},
		{"pop3 folder", goodHead + account("protocol: pop3", "folder: Archive"), `config.yaml:22: accounts.acct.folder: "Archive": POP3 only reaches the inbox; use imap or microsoft for other folders`},
		{"outbound folder", goodHead + account("type: outbound", "protocol: smtp", "folder: INBOX"), `config.yaml:22: accounts.acct.folder: only applies to inbound accounts`},
		{"bool property", goodHead + account("properties: {allow_plaintext_auth: yes}"), `config.yaml:22: accounts.acct.properties.allow_plaintext_auth: "yes" must be "true" or "false"`},
		{"properties list", goodHead + account("properties: [a, b]"), `config.yaml:22: accounts.acct.properties: must be a mapping, not a list`},
		{"bad account name", goodHead + strings.Replace(account(), "acct:", "my acct:", 1), `config.yaml:16: accounts.my acct: the name may only contain letters, digits, '.', '_' and '-'`},
		{"client id user name", strings.Replace(goodHead, "3f0c1a2b-1111-4222-8333-444455556666", "admin@contoso.com", 1), `config.yaml:5: token_configs.ms365.client_id: "admin@contoso.com" is not an Entra application (client) id: it looks like a user name; copy the "Application (client) ID" GUID from the app's overview page`},
		{"client id secret", strings.Replace(goodHead, "3f0c1a2b-1111-4222-8333-444455556666", "Xy8Q~abcdefghijklmnopqrstuvwxyz0123456", 1), `config.yaml:5: token_configs.ms365.client_id: "Xy8Q~abcdefghijklmnopqrstuvwxyz0123456" is not an Entra application (client) id: it looks like a client secret value; copy the "Application (client) ID" GUID from the app's overview page`},
		{"provider", strings.Replace(goodHead, "provider: google", "provider: gmail", 1), `config.yaml:11: token_configs.gmail.provider: "gmail" is not one of microsoft, google, generic`},
		{"flow", strings.Replace(goodHead, "    inbound: true\n", "    inbound: true\n    flow: browser\n", 1), `config.yaml:9: token_configs.ms365.flow: "browser" is not one of user, device, client_credentials, service_account`},
		{"service account at microsoft", strings.Replace(goodHead, "    inbound: true\n", "    inbound: true\n    flow: service_account\n", 1), `config.yaml:9: token_configs.ms365.flow: service_account is Google's flow and Microsoft has none; for app-only access without a secret use flow client_credentials with a certificate (--flow client_credentials --certificate FILE)`},
		{"secret_expires", strings.Replace(goodHead, "    inbound: true\n", "    inbound: true\n    secret_expires: 01/05/2027\n", 1), `config.yaml:9: token_configs.ms365.secret_expires: "01/05/2027" is not a date like 2027-05-01`},
		{"neither direction", strings.Replace(goodHead, "    inbound: true\n", "    inbound: false\n", 1), `config.yaml:3: token_configs.ms365: supports neither inbound nor outbound mail; set inbound: true and/or outbound: true`},
		{"base url", strings.Replace(goodHead, "https://login.microsoftonline.com/contoso.com/", "login.microsoftonline.com", 1), `config.yaml:6: token_configs.ms365.base_url: "login.microsoftonline.com" is not an http(s) URL`},
		{"redirect remote", strings.Replace(goodHead, "    inbound: true\n", "    inbound: true\n    redirect_url: http://phixflowhost.com/phixflow/receiveTokenAuthentication.htm\n", 1), `config.yaml:9: token_configs.ms365.redirect_url: "http://phixflowhost.com/phixflow/receiveTokenAuthentication.htm" must point at this machine (localhost or 127.0.0.1) so mailport can receive the redirect; register that URL in the app too`},
		{"generic no token url", "version: 1\ntoken_configs:\n  x:\n    provider: generic\n    client_id: abc\n    auth_url: https://idp.example.com/auth\n", `config.yaml:3: token_configs.x.token_url: missing; a generic provider needs its token endpoint URL`},
		{"scopes mapping", strings.Replace(goodHead, "scopes: [user.read, mail.read]", "scopes: {a: b}", 1), `config.yaml:7: token_configs.ms365.scopes: must be a list of strings, not a mapping`},
		{"duplicate account", goodHead + account() + account(), `config.yaml:22: accounts.acct: defined twice (first at line 16)`},
		{"duplicate field", goodHead + account("folder: a", "folder: b"), `config.yaml:23: accounts.acct.folder: defined twice (first at line 22)`},
		{"duplicate property", goodHead + account("properties: {tls_insecure: \"true\", tls_insecure: \"false\"}"), `config.yaml:22: accounts.acct.properties.tls_insecure: defined twice (first at line 22)`},
		{"misspelt field", goodHead + account("foldr: Inbox"), `config.yaml:22: accounts.acct.foldr: unknown field; did you mean folder? (known fields: enabled, type, protocol, host, port, encryption, auth, login, token_config, folder, on_received, exec, hold_dir, properties)`},
		{"tab indent", goodHead + "  acct:\n\ttype: inbound\n", `config.yaml:17: a tab indents this line; YAML indents with spaces`},
		{"tab indent after spaces", goodHead + "  acct:\n    type: inbound\n\tprotocol: imap\n", `config.yaml:18: a tab indents this line; YAML indents with spaces`},
		{"host with space", goodHead + account("host: imap example.com"), `config.yaml:19: accounts.acct.host: "imap example.com" is not a host name or IP address`},
		{"host URL", goodHead + account("host: imap://x.example.com"), `config.yaml:19: accounts.acct.host: "imap://x.example.com" is a URL, not a host name; set host: x.example.com (--host x.example.com)`},
		{"host with port", goodHead + account("host: x.example.com:993"), `config.yaml:19: accounts.acct.host: "x.example.com:993" includes a port; set host: x.example.com and port: 993 (--host x.example.com --port 993)`},
		{"secrets store", "version: 1\nsecrets: vault\n", `config.yaml:2: secrets: "vault" is not one of keyring, file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load: got %v, want Errors containing %q\n%s", err, tt.want, tt.yaml)
			}
			found := false
			for _, e := range errs {
				if e.Error() == tt.want {
					found = true
				}
			}
			if !found {
				t.Fatalf("errors:\n%v\nwant one exactly:\n%s\nconfig:\n%s", err, tt.want, tt.yaml)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.yaml {
				t.Fatal("Load changed the file")
			}
		})
	}
}

func TestLoadReportsAllProblemsAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(goodHead+account("encryption: tls", "port: abc", "auth: oauth2")), 0o600)
	_, err := Load(path)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

func TestLoadGoodConfigAppliesDefaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(goodHead+account("auth: -", "protocol: pop3")), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Accounts["acct"]
	if !a.Enabled || a.Encryption != SSL || a.Auth != AuthBasic || a.OnReceived != OnReceivedHold || a.EffectivePort() != 995 {
		t.Fatalf("defaults not applied: %+v port %d", a, a.EffectivePort())
	}
	if c.TokenConfigs["gmail"].Flow != FlowUser || !c.TokenConfigs["gmail"].Inbound || !c.TokenConfigs["gmail"].Outbound {
		t.Fatalf("token config defaults: %+v", c.TokenConfigs["gmail"])
	}
}

func TestMissingFileIsEmptyConfig(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil || len(c.Accounts) != 0 || c.Version != Version {
		t.Fatalf("got %v %v", c, err)
	}
}

func TestDefaultPorts(t *testing.T) {
	for _, tt := range []struct {
		proto, enc string
		want       int
	}{
		{IMAP, SSL, 993}, {IMAP, StartTLS, 143}, {IMAP, None, 143},
		{POP3, SSL, 995}, {POP3, StartTLS, 110},
		{SMTP, SSL, 465}, {SMTP, StartTLS, 587}, {SMTP, None, 25},
		{Microsoft, SSL, 443},
	} {
		if got := DefaultPort(tt.proto, tt.enc); got != tt.want {
			t.Errorf("DefaultPort(%s, %s) = %d, want %d", tt.proto, tt.enc, got, tt.want)
		}
	}
}

const handWritten = `# Mail setup for Contoso — owned by the IT desk.
version: 1

token_configs:
  # the Entra app "mailport", secret renewed every 180 days
  ms365:
    provider: microsoft
    client_id: 3f0c1a2b-1111-4222-8333-444455556666 # Application (client) ID
    base_url: https://login.microsoftonline.com/contoso.com/
    scopes: [user.read, mail.read, offline_access]

accounts:
  # Jane's support mailbox; do not change the folder without asking her
  support:
    type: inbound
    protocol: microsoft
    login: support@contoso.com
    token_config: ms365
    folder: Inbox/Endpoint # the endpoint flow reads here
`

func TestSaveKeepsCommentsAndOrder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	os.WriteFile(path, []byte(handWritten), 0o644)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Accounts["support"].Folder = "Inbox/Other"
	c.Accounts["sales"] = &Account{Enabled: true, Type: Inbound, Protocol: IMAP, Host: "imap.example.com", Encryption: SSL, Auth: AuthBasic, Login: "sales@example.com"}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(path)
	s := string(out)
	for _, want := range []string{
		"# Mail setup for Contoso — owned by the IT desk.",
		`# the Entra app "mailport", secret renewed every 180 days`,
		"# Application (client) ID",
		"# Jane's support mailbox; do not change the folder without asking her",
		"folder: Inbox/Other # the endpoint flow reads here",
		"sales:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("saved file lost %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "token_configs:") > strings.Index(s, "accounts:") || strings.Index(s, "support:") > strings.Index(s, "sales:") {
		t.Errorf("key order changed:\n%s", s)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	// And it loads back to the same values.
	c2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Accounts["support"].Folder != "Inbox/Other" || c2.Accounts["sales"].Host != "imap.example.com" {
		t.Fatalf("round trip lost values: %+v", c2.Accounts)
	}
}

func TestPresets(t *testing.T) {
	tc := TokenConfigPreset(ProviderMicrosoft, "contoso.com")
	if tc.BaseURL != "https://login.microsoftonline.com/contoso.com/" || strings.Join(tc.Scopes, " ") != "user.read mail.read mail.send mail.read.shared mail.send.shared openid email offline_access" {
		t.Errorf("microsoft preset: %+v", tc)
	}
	g := TokenConfigPreset(ProviderGoogle, "")
	if !strings.HasPrefix(g.AuthURL, "https://accounts.google.com/o/oauth2/v2/auth") || !strings.Contains(g.AuthURL, "access_type=offline") || g.TokenURL != "https://oauth2.googleapis.com/token" || g.Scopes[0] != "https://mail.google.com/" {
		t.Errorf("google preset: %+v", g)
	}
	for _, tt := range []struct {
		preset, typ, proto, wantProto, wantHost, wantEnc string
	}{
		{PresetOffice365, Inbound, "", Microsoft, "outlook.office365.com", SSL},
		{PresetOffice365, Inbound, IMAP, IMAP, "outlook.office365.com", SSL},
		{PresetOffice365, Inbound, POP3, POP3, "outlook.office365.com", SSL},
		{PresetOffice365, Outbound, SMTP, SMTP, "smtp.office365.com", StartTLS},
		{PresetGmail, Inbound, "", IMAP, "imap.gmail.com", SSL},
		{PresetGmail, Outbound, "", SMTP, "smtp.gmail.com", StartTLS},
	} {
		a := &Account{Type: tt.typ, Protocol: tt.proto}
		if err := ApplyPreset(a, tt.preset); err != nil {
			t.Fatal(err)
		}
		if a.Protocol != tt.wantProto || a.Host != tt.wantHost || a.Encryption != tt.wantEnc || a.Auth != AuthOAuth2 || a.Port != 0 {
			t.Errorf("%s %s %s: got %+v", tt.preset, tt.typ, tt.proto, a)
		}
	}
}

// A graph_url of Microsoft's Graph without its version gets /v1.0, and a
// relative hold_dir is the config file's directory's, when a file is
// loaded; the file itself is not changed.
func TestLoadNormalisesGraphURLAndHoldDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	text := "version: 1\ntoken_configs:\n  ms:\n    provider: microsoft\n    client_id: 3f0c1a2b-1111-4222-8333-444455556666\n    base_url: https://login.microsoftonline.com/contoso.com/\n" +
		"accounts:\n  g:\n    type: inbound\n    protocol: microsoft\n    login: a@contoso.com\n    token_config: ms\n    hold_dir: in/g\n    properties:\n      graph_url: https://graph.microsoft.com\n" +
		"  p:\n    type: inbound\n    protocol: microsoft\n    login: b@contoso.com\n    token_config: ms\n    hold_dir: /abs/p\n    properties:\n      graph_url: http://127.0.0.1:8080\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Accounts["g"].Property("graph_url", ""); got != "https://graph.microsoft.com/v1.0" {
		t.Errorf("graph_url = %q, want https://graph.microsoft.com/v1.0", got)
	}
	if got := c.Accounts["p"].Property("graph_url", ""); got != "http://127.0.0.1:8080" {
		t.Errorf("a test server's graph_url = %q, want it kept", got)
	}
	if got := c.Accounts["g"].HoldDir; got != filepath.Join(dir, "in", "g") {
		t.Errorf("hold_dir = %q, want %q", got, filepath.Join(dir, "in", "g"))
	}
	if got := c.Accounts["p"].HoldDir; got != "/abs/p" {
		t.Errorf("absolute hold_dir = %q", got)
	}
	if after, _ := os.ReadFile(path); string(after) != text {
		t.Error("Load changed the file")
	}
	for in, want := range map[string]string{
		"https://graph.microsoft.com/":     "https://graph.microsoft.com/v1.0",
		"https://graph.microsoft.us":       "https://graph.microsoft.us/v1.0",
		"https://graph.microsoft.com/beta": "https://graph.microsoft.com/beta",
		"https://graph.microsoft.com/v1.0": "https://graph.microsoft.com/v1.0",
		"https://proxy.example.com":        "https://proxy.example.com",
		"https://GRAPH.microsoft.com":      "https://GRAPH.microsoft.com/v1.0",
	} {
		if got := NormalizeGraphURL(in); got != want {
			t.Errorf("NormalizeGraphURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClosest(t *testing.T) {
	fields := []string{"enabled", "type", "protocol", "host", "port", "folder", "hold_dir", "properties"}
	for in, want := range map[string]string{"foldr": "folder", "hostname": "host", "prot": "port", "xyzzy": "", "holddir": "hold_dir", "tls_ca": ""} {
		if got := Closest(in, fields); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Closest("tls_ca", PropertyNames()); got != "tls_ca_file" {
		t.Errorf("Closest(tls_ca) = %q", got)
	}
}

// A property key mailport does not read is a warning, not an error: the
// file loads (it worked before) and Warnings names the key, its line and
// the closest known key.
func TestUnknownPropertyIsAWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(goodHead+account("properties: {tls_ca: /ca.pem}")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "config.yaml:22: accounts.acct.properties.tls_ca: unknown property; did you mean tls_ca_file? (known: allow_plaintext_auth, google.tokeninfo_url, graph_url, pop3.xoauth2.two_line, smtp.helo_name, tls_ca_file, tls_insecure)"
	if w := c.Warnings(); len(w) != 1 || w[0].Error() != want {
		t.Fatalf("warnings %v, want %s", w, want)
	}
}
