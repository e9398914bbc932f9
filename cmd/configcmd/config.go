// Package configcmd holds `mailport config path` and `config validate`.
package configcmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
)

// Validation is the documented JSON shape of `config validate`.
type Validation struct {
	Path         string    `json:"path"`
	Valid        bool      `json:"valid"`
	TokenConfigs *int      `json:"token_configs,omitempty"` // valid files only
	Accounts     *int      `json:"accounts,omitempty"`
	Problems     []Problem `json:"problems,omitempty"`
	// SecretStore is "keyring", "file (plain)" or "file (encrypted, age
	// scrypt)" (secret.File.Describe), SecretsFile the file's path.
	SecretStore string `json:"secret_store,omitempty"`
	SecretsFile string `json:"secrets_file,omitempty"`
}

// Problem is one problem of an invalid config file.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// NewCmdConfig is `mailport config`.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Locate and check the configuration file",
		Example: `  mailport config path
  mailport config validate`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "path",
		Short:   "Print the config file's path",
		Example: "  mailport config path\n  MAILPORT_CONFIG=./ci.yaml mailport config path",
		Args:    cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.ConfigPath()
			if err != nil {
				return err
			}
			if f.JSON {
				return cmdutil.PrintJSON(f.IO.Out, map[string]string{"path": p})
			}
			fmt.Fprintln(f.IO.Out, p)
			return nil
		},
	}, &cobra.Command{
		Use:   "validate",
		Short: "Check the config file: every field, reference and combination",
		Long:  "Check the config file and report every problem at once, each with its file, line and field. Exit 0 when valid, 2 otherwise (a missing file included). With --json the result, problems included, is also printed as JSON.",
		Example: `  mailport config validate
  mailport --config ./ci.yaml config validate`,
		Args: cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.RequireConfigFile(); err != nil {
				return err
			}
			cfg, err := f.ConfigStrict()
			var problems config.Errors
			if err != nil && f.JSON && errors.As(err, &problems) {
				// Scripts get the problems as data too; stderr and the
				// exit code stay as without --json.
				path, _ := f.ConfigPath()
				list := make([]Problem, len(problems))
				for i, p := range problems {
					list[i] = Problem{File: p.File, Line: p.Line, Field: p.Field, Message: p.Msg}
				}
				if perr := cmdutil.PrintJSON(f.IO.Out, Validation{Path: path, Valid: false, Problems: list}); perr != nil {
					return perr
				}
				return err
			}
			if err != nil {
				return err
			}
			kind, secretsFile, err := f.StoreDescription()
			if err != nil {
				return err
			}
			if f.JSON {
				return cmdutil.PrintJSON(f.IO.Out, Validation{Path: cfg.Path, Valid: true, TokenConfigs: ptr(len(cfg.TokenConfigs)), Accounts: ptr(len(cfg.Accounts)),
					SecretStore: kind, SecretsFile: secretsFile})
			}
			fmt.Fprintf(f.IO.Out, "%s is valid: %s, %s\n", cfg.Path, plural.Of(len(cfg.TokenConfigs), "token config", "token configs"), plural.Of(len(cfg.Accounts), "account", "accounts"))
			if secretsFile != "" {
				fmt.Fprintf(f.IO.Out, "secret store: %s at %s\n", kind, secretsFile)
			}
			return nil
		},
	})
	return cmd
}

func ptr[T any](v T) *T { return &v }
