package cmd

import (
	"strconv"

	"github.com/spf13/cobra"
)

type cobraCommand = cobra.Command

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
