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
}
