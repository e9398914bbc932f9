package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

const clientID = "3f0c1a2b-0000-4000-8000-123456789abc"

// env is one user's world: a config file, a secret store and environment.
type env struct {
	t      *testing.T
	dir    string
	config string
	store  *secret.Memory
	vars   map[string]string
	open   func(string) error // the browser
	// stderrTTY makes stderr a terminal (progress bars are drawn).
	stderrTTY bool
	// wrapStore, when set, stands between the commands and store (tests
	// of a failing secret store).
	wrapStore func(secret.Store) secret.Store
	// stdoutTTY makes stdout a terminal (tables get a header).
	stdoutTTY bool
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	return &env{t: t, dir: dir, config: filepath.Join(dir, "config.yaml"), store: secret.NewMemory(), vars: map[string]string{}}
}

type result struct {
	out, err string
	code     int
}

// run runs mailport with args and stdin, as a non-terminal caller.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(false, e.stdoutTTY, e.stderrTTY)
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(k string) string { return e.vars[k] },
		Now:         time.Now,
		OpenBrowser: e.open,
		OpenStore: func(backend, configPath string) (secret.Store, error) {
			if backend != "keyring" && backend != "file" {
				return secret.Open(backend, configPath, ios.ErrOut)
			}
			if e.wrapStore != nil {
				return e.wrapStore(e.store), nil
			}
			return e.store, nil
		},
	}
	code := Run(f, append([]string{"--config", e.config}, args...))
	return result{out.String(), errOut.String(), code}
}

func (e *env) mustRun(stdin string, args ...string) result {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("mailport %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.err)
	}
	return r
}

func (e *env) configText() string {
	b, err := os.ReadFile(e.config)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return string(b)
}

const secretValue = "Xy8Q~s3cr3t-client-value-never-on-disk"

func (e *env) setupMicrosoft() {
	e.mustRun(secretValue, "token-config", "add", "ms365", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--client-secret-stdin")
	e.mustRun("", "account", "add", "support", "--preset", "office365", "--type", "inbound", "--login", "support@contoso.com", "--token-config", "ms365")
}

func TestScriptedSetupNoPromptNoSecretOnArgv(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	if v, err := e.store.Get(secret.ClientSecretKey("ms365")); err != nil || v != secretValue {
		t.Fatalf("client secret in store = %q, %v", v, err)
	}
	text := e.configText()
	if strings.Contains(text, secretValue) || strings.Contains(text, "s3cr3t") {
		t.Fatalf("config file contains the secret:\n%s", text)
	}
	fi, _ := os.Stat(e.config)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v", fi.Mode().Perm())
	}
	r := e.mustRun("", "account", "show", "support", "--json")
	var d map[string]any
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("show --json: %v\n%s", err, r.out)
	}
	want := map[string]any{"host": "outlook.office365.com", "protocol": "microsoft", "port": 443.0, "port_default": true, "encryption": "ssl", "auth": "oauth2", "folder": "INBOX"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("show --json %s = %v, want %v", k, d[k], v)
		}
	}
	secrets := d["secrets"].(map[string]any)
	if secrets["client_secret"] != "memory" || secrets["token"] != "not set" {
		t.Errorf("secrets = %v", secrets)
	}
	if strings.Contains(r.out, secretValue) {
		t.Fatal("show printed the secret")
	}
	// The environment override wins and is reported.
	e.vars["MAILPORT_CLIENT_SECRET_MS365"] = "from-env"
	r = e.mustRun("", "token-config", "show", "ms365", "--json")
	if !strings.Contains(r.out, `"client_secret": "environment"`) || strings.Contains(r.out, "from-env") {
		t.Fatalf("token-config show with env override:\n%s", r.out)
	}
}

func TestTokenConfigPresets(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "g", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com")
	r := e.mustRun("", "token-config", "show", "g", "--json")
	var d map[string]any
	json.Unmarshal([]byte(r.out), &d)
	if !strings.Contains(d["auth_url"].(string), "access_type=offline") || d["token_url"] != "https://oauth2.googleapis.com/token" {
		t.Errorf("google preset: %s", r.out)
	}
	e.mustRun("", "token-config", "add", "imap", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--for", "imap")
	r = e.mustRun("", "token-config", "show", "imap", "--json")
	if !strings.Contains(r.out, "https://outlook.office.com/IMAP.AccessAsUser.All") {
		t.Errorf("--for imap scopes: %s", r.out)
	}
}

func TestBadInputExitsTwoAndChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"unknown flag", "", []string{"account", "add", "x", "--hots", "h"}, "error: unknown flag --hots; did you mean --host?\n"},
		{"bad encryption flag", "", []string{"account", "add", "x", "--type", "inbound", "--encryption", "ssh"}, "error: --encryption: \"ssh\" is not one of ssl, starttls, none\n"},
		{"bad type flag", "", []string{"account", "add", "x", "--type", "sideways"}, "error: --type: \"sideways\" is not one of inbound, outbound\n"},
		{"bad port", "", []string{"account", "add", "x", "--port", "99999"}, "error: --port: 99999 is out of range; use 0 for the default or 1-65535\n"},
		{"port not a number", "", []string{"account", "add", "x", "--port", "abc"}, "error: --port: \"abc\" is not a whole number; see `mailport account add --help`\n"},
		{"port too large", "", []string{"account", "add", "x", "--port", "99999999999999999999"}, "error: --port: \"99999999999999999999\" is too large; see `mailport account add --help`\n"},
		{"bool not a bool", "", []string{"token-config", "add", "t2", "--inbound=maybe"}, "error: --inbound: \"maybe\" is not true or false; see `mailport token-config add --help`\n"},
		{"duration not a duration", "", []string{"authenticate", "support", "--timeout", "5"}, "error: --timeout: \"5\" is not a duration like 30s, 5m or 1h; see `mailport authenticate --help`\n"},
		{"missing fields listed", "", []string{"account", "add", "x", "--type", "inbound"}, "error: missing --protocol (or --preset), --host (or --preset), --login: pass them as flags, or run on a terminal without --no-input to be asked\n"},
		{"missing name", "", []string{"account", "add"}, "error: missing an account NAME; see `mailport account add --help`\n"},
		{"bad name", "", []string{"account", "add", "my box", "--preset", "gmail", "--type", "inbound", "--login", "a@b.c", "--token-config", "ms365"}, "error: invalid name \"my box\": use letters, digits, '.', '_' and '-'\n"},
		{"unknown preset", "", []string{"account", "add", "x", "--preset", "yahoo"}, "error: --preset: \"yahoo\" is not one of office365, gmail, outlook\n"},
		{"unknown token config", "", []string{"account", "add", "x", "--preset", "gmail", "--type", "inbound", "--login", "a@b.c", "--token-config", "nope"}, "error: accounts.x.token_config: \"nope\" does not exist (known: ms365)\n"},
		{"oauth2 without token config", "", []string{"account", "add", "x", "--preset", "gmail", "--type", "inbound", "--login", "a@b.c"}, "error: accounts.x.token_config: missing; auth: oauth2 needs a token config (see mailport token-config list)\n"},
		{"inbound smtp", "", []string{"account", "add", "x", "--type", "inbound", "--protocol", "smtp", "--host", "h", "--login", "l"}, "error: accounts.x.protocol: smtp sends mail; an inbound account uses imap, pop3 or microsoft\n"},
		{"graph basic", "", []string{"account", "add", "x", "--type", "inbound", "--protocol", "microsoft", "--auth", "basic", "--login", "l"}, "error: accounts.x.auth: protocol microsoft (Graph) needs auth: oauth2\n"},
		{"password for oauth2", "pw", []string{"account", "add", "x", "--preset", "gmail", "--type", "inbound", "--login", "a@b.c", "--token-config", "ms365", "--password-stdin"}, "error: --password-stdin/--password-env only apply to auth basic; this account uses oauth2\n"},
		{"duplicate account", "", []string{"account", "add", "support", "--preset", "office365", "--type", "inbound", "--login", "a@b.c", "--token-config", "ms365"}, "error: account \"support\" already exists; use --force to replace it or `mailport account edit support` to change it\n"},
		{"duplicate token config", "", []string{"token-config", "add", "ms365", "--provider", "google", "--client-id", "x"}, "error: token config \"ms365\" already exists; use --force to replace it or `mailport token-config edit ms365` to change it\n"},
		{"client id is a user", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", "admin@contoso.com"}, "error: token_configs.t2.client_id: \"admin@contoso.com\" is not an Entra application (client) id: it looks like a user name; copy the \"Application (client) ID\" GUID from the app's overview page\n"},
		{"client id is a secret", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", "Xy8Q~abcdefghijklmnopqrstuvwxyz0123456"}, "error: token_configs.t2.client_id: \"Xy8Q~abcdefghijklmnopqrstuvwxyz0123456\" is not an Entra application (client) id: it looks like a client secret value; copy the \"Application (client) ID\" GUID from the app's overview page\n"},
		{"bad provider", "", []string{"token-config", "add", "t2", "--provider", "okta"}, "error: --provider: \"okta\" is not one of microsoft, google, generic\n"},
		{"tenant and base url", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "a", "--base-url", "https://x/"}, "error: use either --tenant or --base-url, not both\n"},
		{"for and scopes", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--for", "imap", "--scopes", "a"}, "error: use either --for or --scopes, not both\n"},
		{"bad for", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--for", "exchange"}, "error: --for: \"exchange\" is not one of imap, pop3, smtp, graph\n"},
		{"bad date", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--secret-expires", "1/5/2027"}, "error: --secret-expires: \"1/5/2027\" is not a date like 2027-05-01\n"},
		{"missing provider and id", "", []string{"token-config", "add", "t2"}, "error: missing --provider, --client-id: pass them, or run on a terminal without --no-input to be asked\n"},
		{"missing tenant", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--client-id", clientID}, "error: missing --tenant (or --base-url): pass it, or run on a terminal without --no-input to be asked\n"},
		{"empty stdin secret", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--client-secret-stdin"}, "error: --client-secret-stdin was given but stdin was empty\n"},
		{"unset secret env", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--client-secret-env", "NOPE"}, "error: --client-secret-env NOPE: the environment variable NOPE is empty or not set\n"},
		{"remote redirect", "", []string{"token-config", "add", "t2", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--redirect-url", "http://phixflowhost.com/phixflow/receiveTokenAuthentication.htm"}, "error: token_configs.t2.redirect_url: \"http://phixflowhost.com/phixflow/receiveTokenAuthentication.htm\" must point at this machine (localhost or 127.0.0.1) so mailport can receive the redirect; register that URL in the app too\n"},
		{"remove used token config", "", []string{"token-config", "remove", "ms365"}, "error: token config \"ms365\" is used by account support; remove it or point it at another token config first\n"},
		{"show unknown account", "", []string{"account", "show", "nope"}, "error: no account named \"nope\" (known: support)\n"},
		{"edit nothing", "", []string{"account", "edit", "support"}, "error: nothing to change: give the flags to change, see `mailport account edit --help`\n"},
		{"edit makes it invalid", "", []string{"account", "edit", "support", "--auth", "basic"}, "error: the configuration has problems:\n  accounts.support.auth: protocol microsoft (Graph) needs auth: oauth2\n  accounts.support.token_config: is set but auth is basic; set auth: oauth2 or remove token_config\n"},
		{"bad property", "", []string{"account", "edit", "support", "--property", "novalue"}, "error: --property \"novalue\": use KEY=VALUE, e.g. pop3.xoauth2.two_line=false\n"},
		{"bad bool property", "", []string{"account", "edit", "support", "--property", "allow_plaintext_auth=yes"}, "error: accounts.support.properties.allow_plaintext_auth: \"yes\" must be \"true\" or \"false\"\n"},
		{"unknown subcommand", "", []string{"account", "ad"}, "error: unknown command \"ad\" for \"mailport account\"; did you mean add?\n"},
		{"unknown subcommand, nothing near", "", []string{"account", "frobnicate"}, "error: unknown command \"frobnicate\" for \"mailport account\"; see `mailport account --help`\n"},
		{"unknown secrets backend", "", []string{"--secrets", "vault", "account", "remove", "support"}, "error: --secrets: \"vault\" is not one of keyring, file\n"},
		{"completion shell", "", []string{"completion", "tcsh"}, "error: unknown shell \"tcsh\": use bash, zsh, fish or powershell\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.setupMicrosoft()
			before := e.configText()
			storeBefore, _ := e.store.Get(secret.ClientSecretKey("ms365"))
			r := e.run(tt.stdin, tt.args...)
			if r.code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", r.code, r.err)
			}
			if r.err != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", r.err, tt.want)
			}
			if r.out != "" {
				t.Errorf("stdout not empty: %q", r.out)
			}
			if after := e.configText(); after != before {
				t.Errorf("config changed:\n%s", after)
			}
			if v, _ := e.store.Get(secret.ClientSecretKey("ms365")); v != storeBefore {
				t.Error("secret store changed")
			}
			entries, _ := os.ReadDir(e.dir)
			if len(entries) != 1 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

func TestInvalidConfigFileIsExitTwoWithEveryProblem(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(e.config, []byte("version: 1\naccounts:\n  a:\n    type: inbound\n    protocol: imap\n    host: h\n    login: l\n    encryption: tls\n    port: x\n"), 0o600)
	r := e.run("", "account", "list")
	want := "error: the configuration has problems:\n  config.yaml:8: accounts.a.encryption: \"tls\" is not one of ssl, starttls, none\n  config.yaml:9: accounts.a.port: \"x\" is not a whole number\n"
	if r.code != 2 || r.err != want {
		t.Fatalf("exit %d stderr:\n%s\nwant:\n%s", r.code, r.err, want)
	}
	r = e.run("", "config", "validate")
	if r.code != 2 || r.err != want {
		t.Fatalf("validate: exit %d stderr:\n%s", r.code, r.err)
	}
}

func TestEditChangesOnlyGivenFlags(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("", "account", "edit", "support", "--folder", "Inbox/Endpoint", "--property", "graph_url=http://127.0.0.1:1/v1.0")
	r := e.mustRun("", "account", "show", "support", "--json")
	var d map[string]any
	json.Unmarshal([]byte(r.out), &d)
	if d["folder"] != "Inbox/Endpoint" || d["login"] != "support@contoso.com" || d["protocol"] != "microsoft" {
		t.Fatalf("after edit: %s", r.out)
	}
	if d["properties"].(map[string]any)["graph_url"] != "http://127.0.0.1:1/v1.0" {
		t.Fatalf("property: %s", r.out)
	}
	e.mustRun("", "account", "edit", "support", "--property", "graph_url=")
	if strings.Contains(e.configText(), "graph_url") {
		t.Fatal("KEY= did not remove the property")
	}
	e.mustRun("", "account", "disable", "support")
	if r := e.mustRun("", "account", "list"); !strings.Contains(r.out, "support\tno\tinbound") {
		t.Fatalf("list after disable: %q", r.out)
	}
}

func TestRemoveDeletesOwnedSecrets(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("pw", "account", "add", "ci", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin")
	e.store.Set(secret.TokenKey("support"), `{"access_token":"x"}`)
	if v, _ := e.store.Get(secret.PasswordKey("ci")); v != "pw" {
		t.Fatalf("password not stored: %q", v)
	}
	e.mustRun("", "account", "remove", "ci", "--yes")
	e.mustRun("", "account", "remove", "support", "--yes")
	e.mustRun("", "token-config", "remove", "ms365", "--yes")
	for _, k := range []string{secret.PasswordKey("ci"), secret.TokenKey("support"), secret.ClientSecretKey("ms365")} {
		if _, err := e.store.Get(k); !secret.IsNotFound(err) {
			t.Errorf("%s still stored", k)
		}
	}
	if text := e.configText(); strings.Contains(text, "support:") || strings.Contains(text, "ms365:") {
		t.Fatalf("config still has them:\n%s", text)
	}
}

func TestListJSONShapeAndPipedTable(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	r := e.mustRun("", "token-config", "list")
	if r.out != "ms365\tmicrosoft\tuser\t"+clientID+"\tinbound+outbound\tmemory\tsupport\n" {
		t.Fatalf("piped list: %q", r.out)
	}
	r = e.mustRun("", "account", "list", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 1 || list[0]["name"] != "support" {
		t.Fatalf("list --json: %v %s", err, r.out)
	}
}

func TestVersionAndHelpHaveExamples(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("", "version")
	if !strings.HasPrefix(r.out, "mailport ") {
		t.Fatalf("version: %q", r.out)
	}
	root := NewCmdRoot(cmdutil.NewFactory())
	var walk func(c interface {
		Commands() []*cobraCommand
	})
	_ = walk
	var missing []string
	for _, c := range allCommands(root) {
		if c.Example == "" && !c.Hidden && c.Name() != "help" {
			missing = append(missing, c.CommandPath())
		}
	}
	if len(missing) > 0 {
		t.Fatalf("commands without an example in --help: %v", missing)
	}
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetArgs([]string{"account", "add", "--help"})
	root.Execute()
	if !strings.Contains(buf.String(), "Examples:") || !strings.Contains(buf.String(), "--preset office365") {
		t.Fatalf("account add --help:\n%s", buf.String())
	}
}

func TestUnknownCommandAndBackendExitTwo(t *testing.T) {
	e := newEnv(t)
	r := e.run("", "frob")
	if r.code != 2 || r.err != "error: unknown command \"frob\" for \"mailport\"; see `mailport --help`\n" {
		t.Fatalf("unknown command: %d %q", r.code, r.err)
	}
	e.setupMicrosoft()
	r = e.run("", "--secrets", "bogus", "account", "show", "support")
	if r.code != 2 || r.out != "" {
		t.Fatalf("unknown backend: %d %q %q", r.code, r.out, r.err)
	}
}

func TestClientCredentialsWithoutSecretWarnsForCI(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("", "token-config", "add", "app", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--flow", "client_credentials", "--for", "imap")
	if !strings.Contains(r.err, "warning: no client secret stored; client credentials need one: set MAILPORT_CLIENT_SECRET_APP at run time") {
		t.Fatalf("stderr %q", r.err)
	}
	if !strings.Contains(e.configText(), "https://outlook.office365.com/.default") {
		t.Fatalf("app-only scopes not chosen:\n%s", e.configText())
	}
}
