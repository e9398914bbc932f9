package tokenconfig

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// EditOptions are the inputs of `token-config edit`.
type EditOptions struct {
	F      *cmdutil.Factory
	Name   string
	Fields fields
	// NoSecret removes the stored client secret: the app is a public
	// client (Mobile and desktop platform), which Microsoft refuses a
	// secret from (AADSTS700025).
	NoSecret bool
}

// NewCmdEdit is `mailport token-config edit`.
func NewCmdEdit(f *cmdutil.Factory, runF func(*EditOptions) error) *cobra.Command {
	opts := &EditOptions{F: f}
	cmd := &cobra.Command{
		Use:   "edit NAME [flags]",
		Short: "Change a token config; only the flags given change",
		Example: `  # the client secret was renewed in Entra
  printf '%s' "$NEW_SECRET" | mailport token-config edit ms365 --client-secret-stdin --secret-expires 2027-11-01
  # switch to IMAP scopes
  mailport token-config edit ms365 --for imap
  # the app is a public client (Mobile and desktop): drop the stored secret
  mailport token-config edit ms365 --no-client-secret
  # the certificate was renewed: store the new one (its thumbprint and expiry are updated)
  mailport token-config edit ms365-app --certificate renewed.pem
  # a new JSON key of the Google service account (the old one can then be deleted in Google Cloud)
  mailport token-config edit workspace --key-file sa-new.json`,
		Args: cmdutil.ExactArgs(1, "a token config NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := opts.Fields.check(); err != nil {
				return err
			}
			if opts.NoSecret && opts.Fields.Secret.Given() {
				return cmdutil.FlagErrorf("use either --no-client-secret or a new client secret, not both")
			}
			if cmdutil.LocalFlagsSet(cmd) == 0 {
				return cmdutil.FlagErrorf("nothing to change: give the flags to change, see `mailport token-config edit --help`")
			}
			if runF != nil {
				return runF(opts)
			}
			return editRun(opts)
		},
	}
	opts.Fields.bind(cmd)
	cmd.Flags().BoolVar(&opts.NoSecret, "no-client-secret", false, "remove the stored client secret (a public client app)")
	return cmd
}

func editRun(opts *EditOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	tc, err := Lookup(cfg, opts.Name)
	if err != nil {
		return err
	}
	updated := *tc
	if err := opts.Fields.apply(&updated); err != nil {
		return err
	}
	cred, err := opts.Fields.applyCredential(f.Getenv, f.Now, &updated)
	if err != nil {
		return err
	}
	if opts.NoSecret && updated.Flow == config.FlowClientCredentials && updated.CredentialKind() == config.CredentialSecret {
		return cmdutil.FlagErrorf("token config %s uses the client_credentials flow, which needs its client secret; change --flow first", opts.Name)
	}
	var keyJSON string
	var key *oauth.ServiceAccountKey
	if opts.Fields.KeyFile != "" {
		if opts.NoSecret {
			return cmdutil.FlagErrorf("use either --no-client-secret or --key-file, not both")
		}
		if keyJSON, key, err = readKeyFile(f, opts.Fields.KeyFile); err != nil {
			return err
		}
		if err := applyKey(&opts.Fields, &updated, key); err != nil {
			return err
		}
	}
	if err := cfg.SetTokenConfig(opts.Name, &updated); err != nil {
		return &cmdutil.ConfigError{Err: err}
	}
	if opts.Fields.Secret.Given() {
		sec, _, err := opts.Fields.Secret.Read(f.IO, f.Getenv, "client-secret", "Client secret", true)
		if err != nil {
			return err
		}
		store, err := f.Store()
		if err != nil {
			return err
		}
		if err := store.Set(secret.ClientSecretKey(opts.Name), sec); err != nil {
			return fmt.Errorf("store the %s: %w", secretNote(opts.Name), err)
		}
	}
	if cred.PEM != "" {
		store, err := f.Store()
		if err != nil {
			return err
		}
		if err := store.Set(secret.ClientSecretKey(opts.Name), cred.PEM); err != nil {
			return fmt.Errorf("store the certificate of token config %q: %w", opts.Name, err)
		}
	}
	if key != nil {
		store, err := f.Store()
		if err != nil {
			return err
		}
		if err := store.Set(secret.ClientSecretKey(opts.Name), keyJSON); err != nil {
			return fmt.Errorf("store the service account key of token config %q: %w", opts.Name, err)
		}
	}
	// A service account's key must never be sent as another flow's
	// client secret: leaving the flow forgets it.
	dropKey := tc.Flow == config.FlowServiceAccount && updated.Flow != config.FlowServiceAccount && !opts.Fields.Secret.Given() && cred.PEM == ""
	// A certificate path or a federated token needs nothing stored either.
	if opts.NoSecret || dropKey || cred.Drop {
		store, err := f.Store()
		if err != nil {
			return err
		}
		if err := store.Delete(secret.ClientSecretKey(opts.Name)); err != nil && !((dropKey || cred.Drop) && secret.IsNotFound(err)) {
			return fmt.Errorf("remove the %s: %w", secretNote(opts.Name), err)
		}
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	if opts.Fields.changed("base-url") || opts.Fields.changed("tenant") {
		warnEndpoints(f, &updated)
	}
	src := sourceOf(f, opts.Name)
	if opts.NoSecret && src == secret.SourceEnv {
		fmt.Fprintf(f.IO.ErrOut, "warning: %s is set and still supplies a client secret; unset it too\n", secret.EnvName(secret.EnvClientSecretPrefix, opts.Name))
	}
	if f.JSON {
		d := describe(cfg, opts.Name, &updated, src)
		d.ServiceAccount = serviceAccountOf(f, opts.Name, &updated)
		return cmdutil.PrintJSON(f.IO.Out, d)
	}
	fmt.Fprintf(f.IO.Out, "Updated token config %q\n", opts.Name)
	word := ""
	if cred.PEM != "" {
		if st, err := f.Store(); err == nil {
			word = cmdutil.StoreWord(st.Name())
		}
	}
	if note := credentialNote(&updated, cred, word); note != "" {
		fmt.Fprintln(f.IO.Out, note)
	}
	if w := expiryWarning(opts.Name, &updated, cred, f.Now); w != "" {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	if dropKey {
		fmt.Fprintf(f.IO.Out, "The service account key was removed from the secret store: flow %s does not use it.\n", updated.Flow)
	}
	if key != nil {
		store, err := f.Store()
		if err != nil {
			return err
		}
		keyNote(f, store, &updated, key)
	}
	return nil
}
