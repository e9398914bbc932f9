package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// AddOptions are the inputs of `account add`.
type AddOptions struct {
	F        *cmdutil.Factory
	Name     string
	Fields   fields
	Preset   string
	Disabled bool
	Force    bool

	// Email runs discovery for the address and fills the fields no flag
	// gave; Probe checks the servers found live; Yes accepts a server
	// outside the address's domain without asking.
	Email string
	Probe bool
	Yes   bool
	Ctx   context.Context
}

// NewCmdAdd is `mailport account add`.
func NewCmdAdd(f *cmdutil.Factory, runF func(*AddOptions) error) *cobra.Command {
	opts := &AddOptions{F: f}
	cmd := &cobra.Command{
		Use:   "add NAME {--email ADDRESS | --type T --login L} [flags]",
		Short: "Add a mail account",
		Long: `Add an inbound (imap, pop3, microsoft) or outbound (smtp, microsoft) account.

With --email ADDRESS, mailport finds the servers as mail clients do (the provider by MX,
the domain's autoconfig file, Thunderbird's ISP database, RFC 6186 SRV records; see
docs/discovery.md) and fills every field no flag gives: flags win. --type defaults to
inbound, the login to the address. It prints each field with the source it came from.
A Microsoft 365 or Google domain gets the office365 or gmail preset; without
--token-config, add stops and prints the token-config command to run, tenant filled in.
Where discovery cannot decide (nothing found; both IMAP and POP3 offered and no
--protocol) it asks on a terminal, and under --no-input fails naming the flags that
settle it. A server outside the address's domain is shown with a warning and needs a
confirmation, or --yes.

Presets fill host, protocol, encryption and auth:
  office365  protocol microsoft (Graph) on outlook.office365.com, ssl, oauth2; with --protocol imap or
             pop3 the host stays outlook.office365.com; outbound smtp uses smtp.office365.com, starttls.
             With a --token-config of a national cloud, that cloud's hosts (e.g. outlook.office365.us,
             smtp.office365.us for US Government)
  gmail      imap.gmail.com (pop.gmail.com for pop3), smtp.gmail.com starttls, oauth2
  outlook    Outlook.com personal accounts: outlook.office365.com, smtp-mail.outlook.com, oauth2

A password (auth basic) is read from stdin (--password-stdin), a named environment variable
(--password-env VAR) or a hidden prompt, and kept in the secret store. CI jobs may instead set
MAILPORT_PASSWORD_<ACCOUNT> at run time; with --no-input and none of these, add fails naming
what is missing.

--host is a host name or IP address (no scheme, no :port; use --port). The office365, gmail
and outlook presets need an email address as --login. A relative --hold-dir is stored absolute
(the working directory's), so a fetch from cron finds it.`,
		Example: `  # from the address alone: servers, ports and encryption discovered
  mailport account add support --email support@example.org --protocol imap --password-env SUPPORT_PW

  # the outbound side, each server checked live first
  mailport account add support-out --email support@example.org --type outbound --probe \
      --password-env SUPPORT_PW

  # a Microsoft 365 address: the office365 preset, with an existing token config
  mailport account add work --email work@contoso.com --token-config ms365

  # a Microsoft 365 inbound account read through Microsoft Graph
  mailport account add support --preset office365 --type inbound \
      --login support@contoso.com --token-config ms365 --folder Inbox/Endpoint

  # Gmail over IMAP with OAuth2
  mailport account add sales --preset gmail --type inbound --login sales@example.com --token-config gmail

  # any IMAP server with a password from the environment
  mailport account add ci-inbox --type inbound --protocol imap --host mail.example.com \
      --auth basic --login ci@example.com --password-env CI_MAIL_PASSWORD`,
		Args: cmdutil.ExactArgs(1, "an account NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Ctx = cmd.Context()
			if err := opts.Fields.check(); err != nil {
				return err
			}
			if opts.Probe && opts.Email == "" {
				return cmdutil.FlagErrorf("--probe checks the servers --email discovers: pass --email ADDRESS")
			}
			if opts.Yes && opts.Email == "" {
				return cmdutil.FlagErrorf("--yes accepts a server --email discovers outside the address's domain: pass --email ADDRESS, or leave --yes out")
			}
			if cmd.Flags().Changed("preset") {
				if err := cmdutil.OneOf("preset", opts.Preset, config.Presets); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return addRun(opts)
		},
	}
	opts.Fields.bind(cmd)
	cmdutil.EnumVar(cmd, cmd.Flags(), &opts.Preset, "preset", "", "fill host, protocol, encryption and auth: office365, gmail or outlook", cmdutil.EnumPreset)
	cmd.Flags().BoolVar(&opts.Disabled, "disabled", false, "add the account disabled")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace an existing account of that name")
	cmd.Flags().StringVar(&opts.Email, "email", "", "discover the servers of `ADDRESS` and fill every field no flag gives (see docs/discovery.md)")
	cmd.Flags().BoolVar(&opts.Probe, "probe", false, "with --email: check each server found live (TLS, greeting, capabilities) and prefer a verified one")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "with --email: accept a discovered server outside the address's domain without asking")
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
	if _, exists := cfg.Accounts[opts.Name]; exists && !opts.Force {
		return cmdutil.ConfigErrorf("account %q already exists; use --force to replace it or `mailport account edit %s` to change it", opts.Name, opts.Name)
	}
	fl := &opts.Fields
	var setup *emailSetup
	if opts.Email != "" {
		ctx := opts.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if setup, err = discoverFields(ctx, opts, cfg); err != nil {
			return err
		}
	}
	if err := promptMissing(f, fl, opts.Preset, cfg); err != nil {
		return err
	}
	a := &config.Account{Enabled: !opts.Disabled}
	fl.apply(a)
	if opts.Preset != "" {
		hostGiven := a.Host != ""
		if err := config.ApplyPreset(a, opts.Preset); err != nil {
			return cmdutil.FlagErrorf("--preset: %v", err)
		}
		if tc := cfg.TokenConfigs[a.TokenConfig]; opts.Preset == config.PresetOffice365 && !hostGiven && tc != nil && tc.Provider == config.ProviderMicrosoft {
			// The preset's hosts are the global cloud's; a national
			// cloud's token is refused there.
			a.Host = oauth.CloudOf(tc).Host(a.Protocol)
		}
	}
	var missing []string
	if a.Type == "" {
		missing = append(missing, "--type")
	}
	if a.Protocol == "" {
		missing = append(missing, "--protocol (or --preset)")
	}
	if a.Host == "" && a.Protocol != config.Microsoft {
		missing = append(missing, "--host (or --preset)")
	}
	if a.Login == "" {
		missing = append(missing, "--login")
	}
	if f.NoInput && needsPassword(a) && !fl.Password.Given() && f.Getenv(secret.EnvName(secret.EnvPasswordPrefix, opts.Name)) == "" {
		missing = append(missing, "a password (--password-stdin or --password-env VAR)")
	}
	if len(missing) > 0 {
		return cmdutil.FlagErrorf("missing %s: pass them as flags, or run on a terminal without --no-input to be asked", strings.Join(missing, ", "))
	}
	if needsAddress[opts.Preset] != "" && a.Login != "" && !strings.Contains(a.Login, "@") {
		return cmdutil.FlagErrorf("--login %q: the %s preset signs in with an email address, e.g. %s@%s", a.Login, opts.Preset, a.Login, needsAddress[opts.Preset])
	}
	a.ApplyDefaults()
	_, had := cfg.Accounts[opts.Name]
	// Validate with the new entry before touching any store; on an error
	// below nothing is saved.
	if err := cfg.SetAccount(opts.Name, a); err != nil {
		return &cmdutil.ConfigError{Err: err}
	}
	if a.Auth != config.AuthBasic && fl.Password.Given() {
		return cmdutil.FlagErrorf("--password-stdin/--password-env only apply to auth basic; this account uses %s", a.Auth)
	}
	var password string
	var gotPassword bool
	if a.Auth == config.AuthBasic {
		password, gotPassword, err = fl.Password.Read(f.IO, f.Getenv, "password", fmt.Sprintf("Password for %s", a.Login), false)
		if err != nil {
			return err
		}
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	if gotPassword {
		if err := store.Set(secret.PasswordKey(opts.Name), password); err != nil {
			return fmt.Errorf("store the password of account %q: %w", opts.Name, err)
		}
	}
	if had {
		// A replaced account starts from scratch: its old token belongs to the old settings.
		deleteSecrets(store, opts.Name, !gotPassword)
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	if tc := cfg.TokenConfigs[a.TokenConfig]; a.Auth == config.AuthOAuth2 && tc != nil {
		// Caught again (as an error) by authenticate; said now so the admin can fix it in one go.
		if err := oauth.CheckScopes(a.TokenConfig, tc, a); err != nil {
			fmt.Fprintln(f.IO.ErrOut, "warning: "+err.Error())
		}
	}
	warnMissingFolder(context.Background(), f, opts.Name, a, a.Folder)
	if f.JSON {
		d := describe(f, cfg, opts.Name, a)
		if setup != nil {
			setup.finish(a, opts.Preset)
			d.Discovery = setup.description()
		}
		return cmdutil.PrintJSON(f.IO.Out, d)
	}
	if setup != nil {
		setup.finish(a, opts.Preset)
		setup.print(f.IO.Out)
	}
	verb := "Added"
	if had {
		verb = "Replaced"
	}
	srv := serverOf(cfg, a)
	fmt.Fprintf(f.IO.Out, "%s %s account %q: %s on %s (%s, %s)\n", verb, a.Type, opts.Name, a.Protocol, srv.Addr(), srv.Encryption, a.Auth)
	switch {
	case a.Auth == config.AuthOAuth2:
		fmt.Fprintf(f.IO.Out, "Next: mailport authenticate %s\n", opts.Name)
	case gotPassword:
		fmt.Fprintf(f.IO.Out, "Password stored in the %s. Next: mailport test %s\n", cmdutil.StoreWord(store.Name()), opts.Name)
	default:
		fmt.Fprintf(f.IO.Out, "No password stored: set %s at run time or run `mailport account edit %s --password-stdin`\n", secret.EnvName(secret.EnvPasswordPrefix, opts.Name), opts.Name)
	}
	return nil
}

// needsAddress are the presets whose servers sign in with an email
// address, with an example domain.
var needsAddress = map[string]string{config.PresetOffice365: "contoso.com", config.PresetGmail: "gmail.com", config.PresetOutlook: "outlook.com"}

// needsPassword reports whether an account being added will use auth
// basic (given, or the default without a token config).
func needsPassword(a *config.Account) bool {
	b := *a
	b.ApplyDefaults()
	return b.Auth == config.AuthBasic
}

// deleteSecrets forgets what an account owns; errors are ignored because
// the config change already happened and a stale secret is harmless.
func deleteSecrets(store secret.Store, name string, password bool) {
	store.Delete(secret.TokenKey(name))
	if password {
		store.Delete(secret.PasswordKey(name))
	}
}

// promptMissing asks for required fields on a terminal.
func promptMissing(f *cmdutil.Factory, fl *fields, preset string, cfg *config.Config) error {
	if !f.IO.CanPrompt() {
		return nil
	}
	given := map[string]bool{}
	ask := func(flag string, dst *string, q, def string, choices []string) error {
		if fl.changed(flag) {
			return nil
		}
		v, err := f.IO.Prompt(q, def)
		if err != nil {
			return err
		}
		*dst = strings.TrimSpace(v)
		if choices != nil {
			if err := cmdutil.OneOfCanonical(flag, dst, choices); err != nil {
				return err
			}
		}
		given[flag] = *dst != ""
		return nil
	}
	if err := ask("type", &fl.Type, "Type (inbound, outbound)", config.Inbound, config.Types); err != nil {
		return err
	}
	if preset == "" {
		def := config.IMAP
		if fl.Type == config.Outbound {
			def = config.SMTP
		}
		if err := ask("protocol", &fl.Protocol, "Protocol (imap, pop3, microsoft, smtp)", def, config.Protocols); err != nil {
			return err
		}
		if fl.Protocol != config.Microsoft {
			if err := ask("host", &fl.Host, "Host", "", nil); err != nil {
				return err
			}
		}
	}
	if err := ask("login", &fl.Login, "Login (email address)", "", nil); err != nil {
		return err
	}
	if !fl.changed("auth") && !fl.changed("token-config") && len(cfg.TokenConfigs) > 0 && (preset != "" || fl.Protocol == config.Microsoft) {
		if err := ask("token-config", &fl.TokenConfig, "Token config ("+strings.Join(cmdutil.SortedNames(cfg.TokenConfigs), ", ")+")", "", nil); err != nil {
			return err
		}
	}
	prev := fl.changed
	fl.changed = func(name string) bool { return given[name] || prev(name) }
	return nil
}
