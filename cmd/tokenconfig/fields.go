package tokenconfig

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// fields are the flags add and edit share.
type fields struct {
	Provider      string
	Tenant        string
	ClientID      string
	BaseURL       string
	AuthURL       string
	TokenURL      string
	DeviceURL     string
	RedirectURL   string
	Flow          string
	Scopes        string
	For           string
	IdentityClaim string
	Inbound       bool
	Outbound      bool
	SecretExpires string
	Secret        cmdutil.SecretInput
	Cred          credFields
	// KeyFile is a Google service account's JSON key ("-": stdin).
	KeyFile string

	changed func(name string) bool
}

func (fl *fields) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	cmdutil.EnumVar(cmd, f, &fl.Provider, "provider", "", "identity provider: microsoft, google or generic", cmdutil.EnumProvider)
	f.StringVar(&fl.Tenant, "tenant", "", "Microsoft tenant (domain such as contoso.com, tenant id, or organizations/common); sets --base-url")
	f.StringVar(&fl.ClientID, "client-id", "", "application (client) id from the provider's console")
	f.StringVar(&fl.BaseURL, "base-url", "", "Microsoft authority URL, e.g. https://login.microsoftonline.com/contoso.com/")
	f.StringVar(&fl.AuthURL, "auth-url", "", "authorization endpoint URL (google, generic)")
	f.StringVar(&fl.TokenURL, "token-url", "", "token endpoint URL (google, generic)")
	f.StringVar(&fl.DeviceURL, "device-url", "", "device authorization endpoint URL (generic, device flow)")
	f.StringVar(&fl.RedirectURL, "redirect-url", "", "fixed loopback redirect URL registered for a Web app, e.g. http://localhost:8400/receiveTokenAuthentication.htm")
	cmdutil.EnumVar(cmd, f, &fl.Flow, "flow", "", "OAuth2 flow: user (browser), device, client_credentials (app-only) or service_account (Google, with --key-file)", cmdutil.EnumFlow)
	f.StringVar(&fl.Scopes, "scopes", "", "space- or comma-separated scopes (default: the provider's)")
	cmdutil.EnumVar(cmd, f, &fl.For, "for", "", "pick Microsoft scopes for one protocol: imap, pop3, smtp or graph", cmdutil.EnumFor)
	f.StringVar(&fl.IdentityClaim, "identity-claim", "", "token claim naming the signed-in user (default per provider)")
	f.BoolVar(&fl.Inbound, "inbound", true, "usable by inbound accounts")
	f.BoolVar(&fl.Outbound, "outbound", true, "usable by outbound accounts")
	f.StringVar(&fl.SecretExpires, "secret-expires", "", "date the client secret expires (YYYY-MM-DD); status and test warn 30 days ahead")
	f.BoolVar(&fl.Secret.Stdin, "client-secret-stdin", false, "read the client secret from stdin")
	f.StringVar(&fl.Secret.EnvVar, "client-secret-env", "", "read the client secret from the environment variable `VAR`")
	fl.Cred.bind(cmd)
	f.StringVar(&fl.KeyFile, "key-file", "", "Google service account JSON key `FILE` (- for stdin), kept in the secret store; implies --flow service_account")
	fl.changed = f.Changed
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}

// check validates flag values and combinations before anything is loaded.
func (fl *fields) check() error {
	if fl.changed("provider") {
		if err := cmdutil.OneOf("provider", fl.Provider, config.Providers); err != nil {
			return err
		}
	}
	if fl.changed("flow") {
		if err := cmdutil.OneOf("flow", fl.Flow, config.Flows); err != nil {
			return err
		}
	}
	if fl.changed("key-file") {
		switch {
		case fl.KeyFile == "":
			return cmdutil.FlagErrorf("--key-file is empty; give the service account's JSON key file, or - for stdin")
		case fl.changed("flow") && fl.Flow != config.FlowServiceAccount:
			return cmdutil.FlagErrorf("--key-file is the key of a Google service account: use it with --flow service_account (or leave --flow out)")
		case fl.Secret.Given():
			return cmdutil.FlagErrorf("a service account signs in with its key: use --key-file without a client secret")
		}
	}
	if fl.changed("for") {
		if err := cmdutil.OneOf("for", fl.For, []string{"imap", "pop3", "smtp", "graph"}); err != nil {
			return err
		}
		if fl.changed("scopes") {
			return cmdutil.FlagErrorf("use either --for or --scopes, not both")
		}
	}
	if fl.changed("tenant") && fl.changed("base-url") {
		return cmdutil.FlagErrorf("use either --tenant or --base-url, not both")
	}
	if fl.changed("tenant") && strings.TrimSpace(fl.Tenant) == "" {
		return cmdutil.FlagErrorf("--tenant is empty; give a domain such as contoso.com or a tenant id")
	}
	if fl.changed("secret-expires") && fl.SecretExpires != "" {
		if _, err := time.Parse(config.DateLayout, fl.SecretExpires); err != nil {
			return cmdutil.FlagErrorf("--secret-expires: %q is not a date like 2027-05-01", fl.SecretExpires)
		}
	}
	return fl.checkCredential()
}

// apply copies the flags that were given onto tc.
func (fl *fields) apply(tc *config.TokenConfig) error {
	set := func(flag string, dst *string, v string) {
		if fl.changed(flag) {
			*dst = v
		}
	}
	set("provider", &tc.Provider, fl.Provider)
	set("client-id", &tc.ClientID, strings.TrimSpace(fl.ClientID))
	set("base-url", &tc.BaseURL, fl.BaseURL)
	set("auth-url", &tc.AuthURL, fl.AuthURL)
	set("token-url", &tc.TokenURL, fl.TokenURL)
	set("device-url", &tc.DeviceURL, fl.DeviceURL)
	set("redirect-url", &tc.RedirectURL, fl.RedirectURL)
	set("flow", &tc.Flow, fl.Flow)
	set("identity-claim", &tc.IdentityClaim, fl.IdentityClaim)
	set("secret-expires", &tc.SecretExpires, fl.SecretExpires)
	if fl.changed("tenant") {
		tc.BaseURL = config.MicrosoftBaseURL(fl.Tenant)
	}
	if fl.changed("scopes") {
		tc.Scopes = splitList(fl.Scopes)
	}
	if fl.changed("for") {
		if tc.Provider != config.ProviderMicrosoft {
			return cmdutil.FlagErrorf("--for picks Microsoft scopes; for provider %s set --scopes", tc.Provider)
		}
		tc.Scopes = oauth.DefaultScopesFor(tc, protocolFor(fl.For))
	}
	if fl.changed("inbound") {
		tc.Inbound = fl.Inbound
	}
	if fl.changed("outbound") {
		tc.Outbound = fl.Outbound
	}
	return nil
}

// protocolFor maps --for to an account protocol name.
func protocolFor(s string) string {
	if s == "graph" {
		return config.Microsoft
	}
	return s
}

func secretNote(name string) string {
	return fmt.Sprintf("client secret of token config %q", name)
}
