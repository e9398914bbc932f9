package account

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// EditOptions are the inputs of `account edit`.
type EditOptions struct {
	F      *cmdutil.Factory
	Name   string
	Fields fields
}

// NewCmdEdit is `mailport account edit`.
func NewCmdEdit(f *cmdutil.Factory, runF func(*EditOptions) error) *cobra.Command {
	opts := &EditOptions{F: f}
	cmd := &cobra.Command{
		Use:   "edit NAME [flags]",
		Short: "Change an account; only the flags given change",
		Example: `  mailport account edit support --folder Inbox/Endpoint
  mailport account edit pop-in --property pop3.xoauth2.two_line=false
  printf '%s' "$NEW_PASSWORD" | mailport account edit ci-inbox --password-stdin`,
		Args: cmdutil.ExactArgs(1, "an account NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := opts.Fields.check(); err != nil {
				return err
			}
			if cmdutil.LocalFlagsSet(cmd) == 0 {
				return cmdutil.FlagErrorf("nothing to change: give the flags to change, see `mailport account edit --help`")
			}
			if runF != nil {
				return runF(opts)
			}
			return editRun(opts)
		},
	}
	opts.Fields.bind(cmd)
	return cmd
}

func editRun(opts *EditOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	a, err := Lookup(cfg, opts.Name)
	if err != nil {
		return err
	}
	updated := *a
	updated.Properties = map[string]string{}
	for k, v := range a.Properties {
		updated.Properties[k] = v
	}
	opts.Fields.apply(&updated)
	if err := cfg.SetAccount(opts.Name, &updated); err != nil {
		return &cmdutil.ConfigError{Err: err}
	}
	if opts.Fields.Password.Given() {
		if updated.Auth != config.AuthBasic {
			return cmdutil.FlagErrorf("--password-stdin/--password-env only apply to auth basic; this account uses %s", updated.Auth)
		}
		pw, _, err := opts.Fields.Password.Read(f.IO, f.Getenv, "password", "Password", true)
		if err != nil {
			return err
		}
		store, err := f.Store()
		if err != nil {
			return err
		}
		if err := store.Set(secret.PasswordKey(opts.Name), pw); err != nil {
			return fmt.Errorf("store the password of account %q: %w", opts.Name, err)
		}
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	warnMissingFolder(context.Background(), f, opts.Name, &updated, opts.Fields.Folder)
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, describe(f, cfg, opts.Name, &updated))
	}
	fmt.Fprintf(f.IO.Out, "Updated account %q\n", opts.Name)
	return nil
}
