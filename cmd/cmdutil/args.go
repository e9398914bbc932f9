package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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

// LocalFlagsSet counts the command's own flags the user set (global flags
// such as --config do not count).
func LocalFlagsSet(cmd *cobra.Command) int {
	n := 0
	local := cmd.LocalFlags()
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if local.Lookup(f.Name) != nil {
			n++
		}
	})
	return n
}

// OneOf checks a flag's value against its choices.
func OneOf(flag, v string, choices []string) error {
	for _, c := range choices {
		if v == c {
			return nil
		}
	}
	return FlagErrorf("--%s: %q is not one of %s", flag, v, strings.Join(choices, ", "))
}
