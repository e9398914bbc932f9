// Package configcmd holds `mailport config path` and `config validate`.
package configcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
)

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
		Long:  "Check the config file and report every problem at once, each with its file, line and field. Exit 0 when valid, 2 otherwise.",
		Example: `  mailport config validate
  mailport --config ./ci.yaml config validate`,
		Args: cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			if f.JSON {
				return cmdutil.PrintJSON(f.IO.Out, map[string]any{"path": cfg.Path, "valid": true, "token_configs": len(cfg.TokenConfigs), "accounts": len(cfg.Accounts)})
			}
			fmt.Fprintf(f.IO.Out, "%s is valid: %d token configs, %d accounts\n", cfg.Path, len(cfg.TokenConfigs), len(cfg.Accounts))
			return nil
		},
	})
	return cmd
}
