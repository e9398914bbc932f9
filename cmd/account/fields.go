package account

import (
	"path/filepath"
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
	f.StringVar(&fl.Host, "host", "", "server host name or IP address, no scheme or port (not needed for microsoft)")
	f.IntVar(&fl.Port, "port", 0, "server port (0: the protocol's default for the encryption)")
	cmdutil.EnumVar(cmd, f, &fl.Encryption, "encryption", "", "ssl (alias tls), starttls or none (default ssl; starttls for smtp)", cmdutil.EnumEncryption)
	cmdutil.EnumVar(cmd, f, &fl.Auth, "auth", "", "basic (password) or oauth2 (default oauth2 with --token-config)", cmdutil.EnumAuth)
	f.StringVar(&fl.Login, "login", "", "login, usually the mailbox's email address")
	f.StringVar(&fl.TokenConfig, "token-config", "", "token config to authenticate with (auth oauth2)")
	f.StringVar(&fl.Folder, "folder", "", "inbound folder path, e.g. Inbox/Endpoint (default INBOX)")
	cmdutil.EnumVar(cmd, f, &fl.OnReceived, "on-received", "", "what fetch does with mail: hold (into a directory) or exec (run a command)", cmdutil.EnumOnReceived)
	f.StringVar(&fl.Exec, "exec", "", "command run for each message with on-received exec")
	f.StringVar(&fl.HoldDir, "hold-dir", "", "default target directory of mailport fetch (stored absolute: a relative DIR is the working directory's)")
	f.StringArrayVar(&fl.Properties, "property", nil, "protocol switch `KEY=VALUE` (repeatable; KEY= removes), e.g. pop3.xoauth2.two_line=false; unknown keys are refused")
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
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return cmdutil.FlagErrorf("--property %q: use KEY=VALUE, e.g. pop3.xoauth2.two_line=false", p)
		}
		// KEY= (remove) is never refused: it clears a key an older file holds.
		if msg := config.UnknownProperty(strings.TrimSpace(k)); msg != "" && v != "" {
			return cmdutil.FlagErrorf("--property %s: %s", p, msg)
		}
	}
	if h := strings.TrimSpace(fl.Host); fl.changed("host") && h != "" {
		switch hp := config.CheckHost(h); {
		case hp == nil:
		case hp.Kind == "port":
			return cmdutil.FlagErrorf("--host %q includes a port: pass --host %s --port %s", h, hp.Host, hp.Port)
		case hp.Kind == "url" && hp.Host != "" && hp.Port != "":
			return cmdutil.FlagErrorf("--host %q is a URL, not a host name: pass --host %s --port %s", h, hp.Host, hp.Port)
		case hp.Kind == "url" && hp.Host != "":
			return cmdutil.FlagErrorf("--host %q is a URL, not a host name: pass --host %s", h, hp.Host)
		default:
			return cmdutil.FlagErrorf("--host %q is not a host name or IP address", h)
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
	set("hold-dir", &a.HoldDir, absDir(fl.HoldDir))
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

// absDir makes a --hold-dir absolute against the working directory, as
// the shell it was typed in means it, so a fetch from cron (which runs
// elsewhere) writes to the same place.
func absDir(dir string) string {
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
