package tokenconfig

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// AddOptions are the inputs of `token-config add`.
type AddOptions struct {
	F      *cmdutil.Factory
	Name   string
	Fields fields
	Force  bool
}

// NewCmdAdd is `mailport token-config add`. runF replaces the run function in tests.
func NewCmdAdd(f *cmdutil.Factory, runF func(*AddOptions) error) *cobra.Command {
	opts := &AddOptions{F: f}
	cmd := &cobra.Command{
		Use:   "add NAME --provider P --client-id ID [flags]",
		Short: "Add an OAuth2 client registration",
		Long: `Add a token config. Presets fill the endpoints and scopes:

  microsoft  --tenant T gives base_url https://login.microsoftonline.com/T/ and the scopes
             user.read mail.read mail.send mail.read.shared mail.send.shared openid email offline_access
             (Microsoft Graph). For IMAP, POP3 or SMTP use --for imap|pop3|smtp: a token serves one
             resource, and those protocols need https://outlook.office.com/... scopes.
             A national cloud's authority as --base-url (https://login.microsoftonline.us/T/ for
             US Government, https://login.chinacloudapi.cn/T/ for China) gives that cloud's
             scopes, e.g. https://outlook.office365.us/IMAP.AccessAsUser.All.
  google     auth URL https://accounts.google.com/o/oauth2/v2/auth (access_type=offline, prompt=consent),
             token URL https://oauth2.googleapis.com/token, scope https://mail.google.com/.
  generic    give --auth-url and --token-url (and --device-url for the device flow).

The client secret is read from stdin (--client-secret-stdin), from a named environment variable
(--client-secret-env VAR) or from a hidden prompt on a terminal, and kept in the secret store.
Public clients (desktop apps with PKCE) need no secret.

Instead of a secret, a Microsoft app can prove itself with a certificate or a federated token,
neither of which expires the way a secret does (see docs/providers/microsoft.md):

  --certificate FILE        PEM with the certificate and its RSA key, or PKCS#12 (.pfx/.p12) with
                            --certificate-password-env VAR; kept in the secret store, the file may
                            be deleted. Every token request carries a fresh signed assertion
                            (RS256, or PS256 with --assertion-alg PS256).
  --certificate-path FILE   the same from a PEM file read at every run (a mounted Kubernetes secret).
  --federated-token-file F  workload identity federation: the token in F (a Kubernetes projected
                            service-account token) is sent as the assertion, re-read on every request;
                            without a file, AZURE_FEDERATED_TOKEN_FILE names it at run time.
  --federated-token github  GitHub Actions' OIDC token (the job needs permissions: id-token: write),
                            for --federated-audience (default api://AzureADTokenExchange).

A federated token config uses the client_credentials flow unless --flow says otherwise; nothing is
stored for it. status and test warn 30 days before a certificate expires; an expired one is refused.

A Google service account with domain-wide delegation (--flow service_account --key-file FILE)
needs no client id, secret or browser: the JSON key is checked and kept whole in the secret store,
client_id becomes the service account's email, and each account's token is obtained for the
account's login. Grant the service account's client ID the scope https://mail.google.com/ in the
Google Admin console (Security → Access and data control → API controls → Domain-wide delegation).`,
		Example: `  # Microsoft 365 through Microsoft Graph, with mailport's default scopes; the secret comes from stdin
  printf '%s' "$SECRET" | mailport token-config add ms365 --provider microsoft \
      --tenant contoso.com --client-id 3f0c1a2b-0000-4000-8000-123456789abc --client-secret-stdin

  # Microsoft 365 for IMAP with a Web app registration's fixed redirect
  mailport token-config add ms365-imap --provider microsoft --tenant contoso.com \
      --client-id 3f0c1a2b-0000-4000-8000-123456789abc --for imap \
      --redirect-url http://localhost:8400/receiveTokenAuthentication.htm --client-secret-env MS_SECRET

  # Google
  mailport token-config add gmail --provider google --client-id 1234-abc.apps.googleusercontent.com \
      --client-secret-env GOOGLE_SECRET

  # app-only IMAP with a certificate from a .pfx whose password is in $PFX_PASSWORD; the .pfx may go
  mailport token-config add ms365-app --provider microsoft --tenant contoso.com \
      --client-id 3f0c1a2b-0000-4000-8000-123456789abc --flow client_credentials --for imap \
      --certificate mail-app.pfx --certificate-password-env PFX_PASSWORD

  # a Kubernetes CronJob: the mounted certificate, read at every run
  mailport token-config add ms365-app --provider microsoft --tenant contoso.com \
      --client-id 3f0c1a2b-0000-4000-8000-123456789abc --flow client_credentials --for imap \
      --certificate-path /var/run/secrets/mail/tls.pem

  # workload identity federation with the pod's projected service-account token
  mailport token-config add ms365-app --provider microsoft --tenant contoso.com \
      --client-id 3f0c1a2b-0000-4000-8000-123456789abc --for imap \
      --federated-token-file /var/run/secrets/azure/tokens/azure-identity-token

  # GitHub Actions (permissions: id-token: write), Microsoft Graph
  mailport token-config add ms365-gh --provider microsoft --tenant contoso.com \
      --client-id 3f0c1a2b-0000-4000-8000-123456789abc --for graph --federated-token github

  # Google Workspace: one service account with domain-wide delegation serves every mailbox;
  # the key is kept in the secret store, so sa.json may be deleted afterwards
  mailport token-config add workspace --provider google --flow service_account --key-file sa.json
  # the key from a CI secret, on stdin
  printf '%s' "$GOOGLE_SA_KEY" | mailport token-config add workspace --provider google --key-file -`,
		Args: cmdutil.ExactArgs(1, "a token config NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := opts.Fields.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return addRun(opts)
		},
	}
	opts.Fields.bind(cmd)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing token config of that name")
	return cmd
}

func addRun(opts *AddOptions) error {
	f := opts.F
	if !config.ValidName(opts.Name) {
		return cmdutil.FlagErrorf("invalid name %q: use letters, digits, '.', '_' and '-'", opts.Name)
	}
	cfg, err := f.ConfigForAdd()
	if err != nil {
		return err
	}
	if _, exists := cfg.TokenConfigs[opts.Name]; exists && !opts.Force {
		return cmdutil.ConfigErrorf("token config %q already exists; use --force to replace it or `mailport token-config edit %s` to change it", opts.Name, opts.Name)
	}
	fl := &opts.Fields
	if err := promptMissing(f, fl); err != nil {
		return err
	}
	var missing []string
	if fl.Provider == "" {
		missing = append(missing, "--provider")
	}
	serviceAccount := fl.KeyFile != "" || fl.Flow == config.FlowServiceAccount
	if fl.ClientID == "" && !serviceAccount {
		missing = append(missing, "--client-id")
	}
	// (Other providers have no service accounts: validation says so.)
	if serviceAccount && fl.KeyFile == "" && fl.Provider == config.ProviderGoogle {
		missing = append(missing, "--key-file")
	}
	if fl.Provider == config.ProviderMicrosoft && !fl.changed("tenant") && !fl.changed("base-url") && fl.Tenant == "" && !(fl.changed("auth-url") && fl.changed("token-url")) {
		missing = append(missing, "--tenant (or --base-url)")
	}
	if fl.Provider == config.ProviderGeneric {
		if fl.TokenURL == "" {
			missing = append(missing, "--token-url")
		}
	}
	if len(missing) > 0 {
		return cmdutil.FlagErrorf("missing %s: pass %s, or run on a terminal without --no-input to be asked", strings.Join(missing, ", "), plural.Word(len(missing), "it", "them"))
	}
	tc := config.TokenConfigPreset(fl.Provider, fl.Tenant)
	if fl.credentialKind() == config.CredentialFederated {
		tc.Flow = config.FlowClientCredentials // a federated token stands for no user; --flow wins
	}
	if err := fl.apply(tc); err != nil {
		return err
	}
	cred, err := fl.applyCredential(f.Getenv, f.Now, tc)
	if err != nil {
		return err
	}
	var keyJSON string
	var key *oauth.ServiceAccountKey
	if fl.KeyFile != "" {
		if keyJSON, key, err = readKeyFile(f, fl.KeyFile); err != nil {
			return err
		}
		if err := applyKey(fl, tc, key); err != nil {
			return err
		}
	}
	if tc.Flow == "" {
		tc.Flow = config.FlowUser
	}
	if tc.Provider == config.ProviderMicrosoft && !fl.changed("scopes") && !fl.changed("for") {
		// Graph's scopes, as the cloud of base_url and the flow want them.
		tc.Scopes = oauth.DefaultScopesFor(tc, config.Microsoft)
	}
	_, had := cfg.TokenConfigs[opts.Name]
	// Validate with the new entry before touching any store; on an error
	// below nothing is saved.
	if err := cfg.SetTokenConfig(opts.Name, tc); err != nil {
		return &cmdutil.ConfigError{Err: err}
	}
	sec, got := keyJSON, key != nil
	if key == nil && tc.CredentialKind() == config.CredentialSecret {
		if sec, got, err = fl.Secret.Read(f.IO, f.Getenv, "client-secret", "Client secret (the secret's Value, not its ID; empty for a public client)", false); err != nil {
			return err
		}
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	if cred.PEM != "" {
		if err := store.Set(secret.ClientSecretKey(opts.Name), cred.PEM); err != nil {
			return fmt.Errorf("store the certificate of token config %q: %w", opts.Name, err)
		}
	} else if got {
		if err := store.Set(secret.ClientSecretKey(opts.Name), sec); err != nil {
			return fmt.Errorf("store the %s: %w", secretNote(opts.Name), err)
		}
	} else if had || cred.Drop {
		// A replaced token config must not keep the old client's secret.
		if err := store.Delete(secret.ClientSecretKey(opts.Name)); err != nil && !secret.IsNotFound(err) {
			return fmt.Errorf("remove the old %s: %w", secretNote(opts.Name), err)
		}
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	warnEndpoints(f, tc)
	if w := expiryWarning(opts.Name, tc, cred, f.Now); w != "" {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	if f.JSON {
		d := describe(cfg, opts.Name, tc, sourceOf(f, opts.Name))
		d.ServiceAccount = serviceAccountOf(f, opts.Name, tc)
		return cmdutil.PrintJSON(f.IO.Out, d)
	}
	verb := "Added"
	if had {
		verb = "Replaced"
	}
	fmt.Fprintf(f.IO.Out, "%s token config %q (%s, %s flow) in %s\n", verb, opts.Name, tc.Provider, tc.Flow, cfg.Path)
	note := credentialNote(tc, cred, cmdutil.StoreWord(store.Name()))
	switch {
	case key != nil:
		keyNote(f, store, tc, key)
	case note != "":
		fmt.Fprintln(f.IO.Out, note)
	case got:
		fmt.Fprintf(f.IO.Out, "Client secret stored in the %s.\n", cmdutil.StoreWord(store.Name()))
	case tc.Flow == config.FlowClientCredentials:
		fmt.Fprintf(f.IO.ErrOut, "warning: no client secret stored; client credentials need one: set %s at run time or run `mailport token-config edit %s --client-secret-stdin`\n",
			secret.EnvName(secret.EnvClientSecretPrefix, opts.Name), opts.Name)
	}
	return nil
}

// warnEndpoints says, when the token config is saved, what authenticate
// would warn about only after a sign-in that such a setting makes fail (a
// tenant of common, or a placeholder).
func warnEndpoints(f *cmdutil.Factory, tc *config.TokenConfig) {
	if _, warnings, err := oauth.ResolveEndpoints(tc); err == nil {
		for _, w := range warnings {
			fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
		}
	}
}

// promptMissing asks for required fields on a terminal.
func promptMissing(f *cmdutil.Factory, fl *fields) error {
	if !f.IO.CanPrompt() {
		return nil
	}
	ask := func(flag string, dst *string, q, def string) error {
		if *dst != "" || fl.changed(flag) {
			return nil
		}
		v, err := f.IO.Prompt(q, def)
		if err != nil {
			return err
		}
		*dst = strings.TrimSpace(v)
		return nil
	}
	if err := ask("provider", &fl.Provider, "Provider (microsoft, google, generic)", "microsoft"); err != nil {
		return err
	}
	if err := cmdutil.OneOfCanonical("provider", &fl.Provider, config.Providers); err != nil {
		return err
	}
	if fl.KeyFile == "" {
		if err := ask("client-id", &fl.ClientID, "Client (application) id", ""); err != nil {
			return err
		}
	}
	if fl.Provider == config.ProviderMicrosoft && !fl.changed("base-url") {
		if err := ask("tenant", &fl.Tenant, "Tenant (your domain, e.g. contoso.com, or the tenant id)", ""); err != nil {
			return err
		}
		if fl.Tenant != "" {
			fl.BaseURL = config.MicrosoftBaseURL(fl.Tenant)
		}
	}
	if fl.Provider == config.ProviderGeneric {
		if err := ask("auth-url", &fl.AuthURL, "Authorization URL", ""); err != nil {
			return err
		}
		if err := ask("token-url", &fl.TokenURL, "Token URL", ""); err != nil {
			return err
		}
	}
	// Prompted values count as given.
	prev := fl.changed
	fl.changed = func(name string) bool {
		switch name {
		case "provider":
			return fl.Provider != ""
		case "client-id":
			return fl.ClientID != ""
		case "auth-url":
			return fl.AuthURL != "" || prev(name)
		case "token-url":
			return fl.TokenURL != "" || prev(name)
		}
		return prev(name)
	}
	return nil
}
