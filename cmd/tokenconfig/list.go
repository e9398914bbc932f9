package tokenconfig

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
)

// ListOptions are the inputs of `token-config list`.
type ListOptions struct{ F *cmdutil.Factory }

// NewCmdList is `mailport token-config list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{F: f}
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List token configs",
		Example: `  mailport token-config list
  mailport token-config list --json`,
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
	for _, name := range cmdutil.SortedNames(cfg.TokenConfigs) {
		d := describe(cfg, name, cfg.TokenConfigs[name], sourceOf(f, name))
		list = append(list, d)
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, list)
	}
	if len(list) == 0 && f.IO.IsStdoutTTY() {
		f.IO.ErrOut.Write([]byte("No token configs yet. Add one with `mailport token-config add NAME --provider P --client-id ID`.\n"))
		return nil
	}
	t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "NAME", "PROVIDER", "FLOW", "CLIENT ID", "DIRECTION", "SECRET", "USED BY")
	for _, d := range list {
		t.Row(d.Name, d.Provider, d.Flow, d.ClientID, direction(d.Inbound, d.Outbound), d.ClientSecret, strings.Join(d.UsedBy, ","))
	}
	return t.Render()
}

func direction(in, out bool) string {
	switch {
	case in && out:
		return config.Inbound + "+" + config.Outbound
	case in:
		return config.Inbound
	case out:
		return config.Outbound
	}
	return "-"
}
