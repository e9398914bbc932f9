// Package tokencmd is `mailport token`: mailport as other programs' OAuth2
// credential helper. It prints an account's current access token (or the
// SASL string built from it) and nothing else on stdout.
package tokencmd

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
)

// SASL mechanisms --sasl prints the initial response of.
const (
	SASLXOAUTH2     = "xoauth2"
	SASLOAuthBearer = "oauthbearer"
)

// enumSASL are the values of --sasl.
var enumSASL = cmdutil.Enum{
	Values:  []string{SASLXOAUTH2, SASLOAuthBearer},
	Aliases: map[string]string{"xoauth": SASLXOAUTH2, "bearer": SASLOAuthBearer},
	Descriptions: map[string]string{
		SASLXOAUTH2:     "Google's and Microsoft's XOAUTH2",
		SASLOAuthBearer: "RFC 7628 OAUTHBEARER",
	},
}

// Skew is how long a printed token stays valid at least: the program that
// asked may hold it for a whole session, so mailport refreshes a token
// that has less left than this.
const Skew = 5 * time.Minute

// Options are the inputs of `mailport token`.
type Options struct {
	F       *cmdutil.Factory
	Account string
	// SASL is "" (the bare token), "xoauth2" or "oauthbearer".
	SASL string
}

// Result is the --json form.
type Result struct {
	Account     string    `json:"account"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	Expiry      time.Time `json:"expiry,omitzero"`
	Scopes      []string  `json:"scopes"`
	Login       string    `json:"login"`
	User        string    `json:"user,omitempty"`
}

// NewCmdToken is `mailport token`.
func NewCmdToken(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "token ACCOUNT",
		Short: "Print an account's OAuth2 access token, for other mail programs",
		Long: `Print a current OAuth2 access token of ACCOUNT and a newline on stdout, nothing else, so
that other programs can use mailport as their OAuth2 credential helper. The token is refreshed
when it has less than 5 minutes left, and a rotated refresh token is stored as for any other
command. Errors go to stderr; the token never goes to --trace, -v or any log.

--sasl prints the base64 SASL initial response instead (XOAUTH2 by default, or --sasl=oauthbearer)
for programs that want that string rather than the token. --json prints the token with its
expiry, scopes, token type, the account's login and the signed-in user.

Only OAuth2 accounts have a token: for an account with a password, mailport token refuses
(exit 2) and never prints the password. Without a stored token it exits 3: run
mailport authenticate ACCOUNT first. docs/integrations.md has complete setups.`,
		Example: `  # mbsync (~/.mbsyncrc)
  PassCmd "mailport token work"
  AuthMechs XOAUTH2

  # msmtp (~/.msmtprc)
  auth xoauth2
  passwordeval "mailport token work-out"

  # neomutt
  set imap_authenticators = "xoauth2"
  set imap_oauth_refresh_command = "mailport token work"

  # aerc (accounts.conf)
  source          = imaps+xoauth2://me%40contoso.com@outlook.office365.com:993
  source-cred-cmd = mailport token work

  # curl against Microsoft Graph
  curl -H "Authorization: Bearer $(mailport token graphacct)" https://graph.microsoft.com/v1.0/me/messages

  # the SASL string, for a program that sends it as is
  mailport token work --sasl
  mailport token work --sasl=oauthbearer`,
		Args: func(cmd *cobra.Command, args []string) error {
			args, _ = saslWord(cmd, opts, args)
			return cmdutil.ExactArgs(1, "an ACCOUNT name")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			args, opts.SASL = saslWord(cmd, opts, args)
			opts.Account = args[0]
			if opts.SASL != "" && f.JSON {
				return cmdutil.FlagErrorf("--sasl and --json cannot be combined: --json already prints the token, and --sasl prints only the SASL string")
			}
			if runF != nil {
				return runF(opts)
			}
			return tokenRun(cmd, opts)
		},
	}
	cmdutil.EnumVar(cmd, cmd.Flags(), &opts.SASL, "sasl", "", "print the base64 SASL initial response instead of the token: xoauth2 (the default of a bare --sasl) or oauthbearer", enumSASL)
	cmd.Flags().Lookup("sasl").NoOptDefVal = SASLXOAUTH2
	return cmd
}

// saslWord takes the mechanism of "--sasl oauthbearer ACCOUNT" (or
// "ACCOUNT --sasl oauthbearer") out of args: --sasl's value is optional,
// so the parser leaves a word after it among the arguments.
func saslWord(cmd *cobra.Command, opts *Options, args []string) ([]string, string) {
	if len(args) != 2 || !cmd.Flags().Changed("sasl") || opts.SASL != SASLXOAUTH2 {
		return args, opts.SASL
	}
	for i, a := range args {
		if mech, err := enumSASL.Normalize(a); err == nil {
			return []string{args[1-i]}, mech
		}
	}
	return args, opts.SASL
}

func tokenRun(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	acct, err := account.Lookup(cfg, opts.Account)
	if err != nil {
		return err
	}
	if acct.Auth != config.AuthOAuth2 {
		return cmdutil.ConfigErrorf("account %s signs in with a password, and mailport token prints only OAuth2 access tokens, never passwords: give the program the password from its own setting or a password manager, or switch the account to OAuth2 with `mailport account edit %s --auth oauth2 --token-config NAME`", opts.Account, opts.Account)
	}
	m, err := f.OAuth()
	if err != nil {
		return err
	}
	ts, err := m.TokenSource(opts.Account)
	if err != nil {
		return cmdutil.ConfigErrorf("account %s: %w", opts.Account, err)
	}
	ts.Skew = Skew
	tok, err := ts.Token(cmd.Context())
	if err != nil {
		if oauth.IsAuthRequired(err) {
			return err
		}
		return fmt.Errorf("get the access token of account %s: %w", opts.Account, err)
	}
	out := f.IO.Out
	switch {
	case f.JSON:
		return cmdutil.PrintJSON(out, result(opts.Account, acct, tok))
	case opts.SASL == SASLXOAUTH2:
		_, err = fmt.Fprintln(out, base64.StdEncoding.EncodeToString(mail.XOAUTH2Payload(acct.Login, tok.AccessToken)))
	case opts.SASL == SASLOAuthBearer:
		host, port := acct.Host, acct.EffectivePort()
		if acct.Protocol == config.Microsoft {
			host, port = "", 0 // Graph takes the token in a header, not in SASL
		}
		_, err = fmt.Fprintln(out, base64.StdEncoding.EncodeToString(mail.OAuthBearerPayload(acct.Login, host, port, tok.AccessToken)))
	default:
		_, err = fmt.Fprintln(out, tok.AccessToken)
	}
	if err != nil {
		return fmt.Errorf("print the token of account %s: %w", opts.Account, err)
	}
	return nil
}

// result is the --json object of a token.
func result(name string, acct *config.Account, tok *oauth.Token) Result {
	r := Result{
		Account:     name,
		AccessToken: tok.AccessToken,
		TokenType:   tok.TokenType,
		Expiry:      tok.Expiry,
		Scopes:      tok.Scopes,
		Login:       acct.Login,
		User:        tok.User,
	}
	if r.TokenType == "" {
		r.TokenType = "Bearer"
	}
	if r.Scopes == nil {
		r.Scopes = []string{}
	}
	if r.User == "" && tok.Claims != nil {
		r.User = tok.Claims.User()
	}
	return r
}
