// Package cmdtest runs one Cobra command in isolation for flag-parsing
// tests: the command is built with a capturing runF (the cli/cli pattern),
// so only its flags and arguments are exercised.
package cmdtest

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/iostreams"
)

// Execute runs cmd on args as Cobra would, without a root command, and
// returns what RunE returned.
func Execute(t testing.TB, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.Execute()
}

// Factory is a factory with buffer streams and an empty environment.
func Factory() *cmdutil.Factory {
	ios, _, _, _ := iostreams.Test()
	return &cmdutil.Factory{IO: ios, Getenv: func(string) string { return "" }}
}
