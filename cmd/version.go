package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
)

// newCmdVersion is `mailport version`: which build this is, from the
// release's stamped values or what Go recorded at build time.
func newCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from, and the Go version and platform",
		Long: `Print which build of mailport this is: the release version, the commit it was built from
("-dirty" when the source tree had uncommitted changes), when it was built (or, for a build
from source, when that commit was made), and the Go version and platform.

A release carries these values stamped in; a binary from "go install" or "go build" takes
them from what Go records: the module version, and the VCS revision, time and modified flag.`,
		Example: "  mailport version\n  mailport version --json",
		Args:    cmdutil.ExactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := cmdutil.CurrentBuild()
			if f.JSON {
				return cmdutil.PrintJSON(f.IO.Out, b)
			}
			fmt.Fprintln(f.IO.Out, b.String())
			return nil
		},
	}
}
