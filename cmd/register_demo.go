package cmd

import (
	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/cmd/demo"
)

func init() {
	extraCommands = append(extraCommands, func(f *cmdutil.Factory) *cobra.Command {
		return demo.NewCmdDemo(f, Run, nil)
	})
	demo.SetCommandLookup(func(name string) bool {
		root := NewCmdRoot(cmdutil.NewFactory())
		for _, c := range root.Commands() {
			if c.Name() == name {
				return true
			}
		}
		return false
	})
}
