package account

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
)

// ListOptions are the inputs of `account list`.
type ListOptions struct{ F *cmdutil.Factory }

// NewCmdList is `mailport account list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{F: f}
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List accounts",
		Example: `  mailport account list
  mailport account list --json | jq -r '.[] | select(.enabled) | .name'`,
		Args: cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return listRun(opts)
		},
	}
}

func listRun(opts *ListOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if _, err := f.Store(); err != nil {
		return err
	}
	list := []Description{}
	for _, name := range cmdutil.SortedNames(cfg.Accounts) {
		list = append(list, describe(f, cfg, name, cfg.Accounts[name]))
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, list)
	}
	if len(list) == 0 && f.IO.IsStdoutTTY() {
		fmt.Fprintln(f.IO.ErrOut, "No accounts yet. Add one with `mailport account add NAME`.")
		return nil
	}
	t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "NAME", "ENABLED", "TYPE", "PROTOCOL", "SERVER", "AUTH", "LOGIN", "TOKEN CONFIG")
	for _, d := range list {
		t.Row(d.Name, yesNo(d.Enabled), d.Type, d.Protocol, serverOf(cfg, cfg.Accounts[d.Name]).Addr(), d.Auth, d.Login, d.TokenConfig)
	}
	return t.Render()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
