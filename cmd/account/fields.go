package account

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
)

// fields are the flags add and edit share.
type fields struct {
	Type        string
	Protocol    string
	Host        string
	Port        int
	Encryption  string
	Auth        string
	Login       string
	TokenConfig string
	Folder      string
	OnReceived  string
	Exec        string
	HoldDir     string
	Properties  []string
	Password    cmdutil.SecretInput

	changed func(string) bool
}

func (fl *fields) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	cmdutil.EnumVar(cmd, f, &fl.Type, "type", "", "inbound or outbound", cmdutil.EnumType)
	cmdutil.EnumVar(cmd, f, &fl.Protocol, "protocol", "", "imap, pop3, microsoft (Graph) or smtp", cmdutil.EnumProtocol)
	f.StringVar(&fl.Host, "host", "", "server host name (not needed for microsoft)")
	f.IntVar(&fl.Port, "port", 0, "server port (0: the protocol's default for the encryption)")
	cmdutil.EnumVar(cmd, f, &fl.Encryption, "encryption", "", "ssl (alias tls), starttls or none (default ssl; starttls for smtp)", cmdutil.EnumEncryption)
	cmdutil.EnumVar(cmd, f, &fl.Auth, "auth", "", "basic (password) or oauth2 (default oauth2 with --token-config)", cmdutil.EnumAuth)
	f.StringVar(&fl.Login, "login", "", "login, usually the mailbox's email address")
	f.StringVar(&fl.TokenConfig, "token-config", "", "token config to authenticate with (auth oauth2)")
	f.StringVar(&fl.Folder, "folder", "", "inbound folder path, e.g. Inbox/Endpoint (default INBOX)")
	cmdutil.EnumVar(cmd, f, &fl.OnReceived, "on-received", "", "what fetch does with mail: hold (into a directory) or exec (run a command)", cmdutil.EnumOnReceived)
	f.StringVar(&fl.Exec, "exec", "", "command run for each message with on-received exec")
	f.StringVar(&fl.HoldDir, "hold-dir", "", "default target directory of mailport fetch")
	f.StringArrayVar(&fl.Properties, "property", nil, "protocol switch `KEY=VALUE` (repeatable; KEY= removes), e.g. pop3.xoauth2.two_line=false")
	f.BoolVar(&fl.Password.Stdin, "password-stdin", false, "read the password (auth basic) from stdin")
	f.StringVar(&fl.Password.EnvVar, "password-env", "", "read the password (auth basic) from the environment variable `VAR`")
	fl.changed = f.Changed
}

// check validates flag values before anything is loaded.
func (fl *fields) check() error {
	for _, e := range []struct {
		flag, v string
		choices []string
	}{
		{"type", fl.Type, config.Types}, {"protocol", fl.Protocol, config.Protocols},
		{"encryption", fl.Encryption, config.Encryptions}, {"auth", fl.Auth, config.AuthTypes},
		{"on-received", fl.OnReceived, config.OnReceived},
	} {
		if fl.changed(e.flag) {
			if err := cmdutil.OneOf(e.flag, e.v, e.choices); err != nil {
				return err
			}
		}
	}
	if fl.changed("port") && (fl.Port < 0 || fl.Port > 65535) {
		return cmdutil.FlagErrorf("--port: %d is out of range; use 0 for the default or 1-65535", fl.Port)
	}
	for _, p := range fl.Properties {
		if k, _, ok := strings.Cut(p, "="); !ok || strings.TrimSpace(k) == "" {
			return cmdutil.FlagErrorf("--property %q: use KEY=VALUE, e.g. pop3.xoauth2.two_line=false", p)
		}
	}
	return nil
}

// apply copies the flags that were given onto a.
func (fl *fields) apply(a *config.Account) {
	set := func(flag string, dst *string, v string) {
		if fl.changed(flag) {
			*dst = v
		}
	}
	set("type", &a.Type, fl.Type)
	set("protocol", &a.Protocol, fl.Protocol)
	set("host", &a.Host, strings.TrimSpace(fl.Host))
	set("encryption", &a.Encryption, fl.Encryption)
	set("auth", &a.Auth, fl.Auth)
	set("login", &a.Login, strings.TrimSpace(fl.Login))
	set("token-config", &a.TokenConfig, fl.TokenConfig)
	set("folder", &a.Folder, fl.Folder)
	set("on-received", &a.OnReceived, fl.OnReceived)
	set("exec", &a.Exec, fl.Exec)
	set("hold-dir", &a.HoldDir, fl.HoldDir)
	if fl.changed("port") {
		a.Port = fl.Port
	}
	for _, p := range fl.Properties {
		k, v, _ := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if v == "" {
			delete(a.Properties, k)
			continue
		}
		if a.Properties == nil {
			a.Properties = map[string]string{}
		}
		a.Properties[k] = v
	}
	if len(a.Properties) == 0 {
		a.Properties = nil
	}
}
