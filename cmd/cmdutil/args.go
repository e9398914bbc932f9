package cmdutil

import (
	"github.com/spf13/cobra"
)

// ExactArgs requires n positional arguments and says what they are.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return FlagErrorf("missing %s; see `%s --help`", what, cmd.CommandPath())
		}
		if len(args) > n {
			return FlagErrorf("too many arguments: %q; %s takes %s", args[n:], cmd.CommandPath(), what)
		}
		return nil
	}
}
