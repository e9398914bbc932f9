package account

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
)

// EnableOptions are the inputs of `account enable` and `account disable`.
type EnableOptions struct {
	F      *cmdutil.Factory
	Names  []string
	Enable bool
}

// NewCmdEnable is `mailport account enable` (enable true) or `disable`.
func NewCmdEnable(f *cmdutil.Factory, runF func(*EnableOptions) error, enable bool) *cobra.Command {
	opts := &EnableOptions{F: f, Enable: enable}
	verb := "disable"
	short := "Disable accounts: fetch --all, send and test skip them"
	if enable {
		verb = "enable"
		short = "Enable accounts"
	}
	return &cobra.Command{
		Use:     verb + " NAME...",
		Short:   short,
		Example: "  mailport account " + verb + " support sales",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("missing account NAME; see `%s --help`", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return enableRun(opts)
		},
	}
}

func enableRun(opts *EnableOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	for _, n := range opts.Names {
		if _, err := Lookup(cfg, n); err != nil {
			return err
		}
	}
	for _, n := range opts.Names {
		cfg.Accounts[n].Enabled = opts.Enable
	}
	if err := cfg.Save(); err != nil {
		return err
	}
	state := "disabled"
	if opts.Enable {
		state = "enabled"
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, map[string]any{state: opts.Names})
	}
	for _, n := range opts.Names {
		fmt.Fprintf(f.IO.Out, "Account %q %s\n", n, state)
	}
	return nil
}
