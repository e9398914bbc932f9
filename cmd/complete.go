package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
)

// addCompletions teaches the shell completion the names in the config:
// the commands that take an account complete account names (inbound ones
// for fetch, outbound ones for send), those that take a token config
// complete token config names. Flags with a fixed set of values complete
// them where they are defined (cmdutil.EnumVar).
func addCompletions(root *cobra.Command, f *cmdutil.Factory) {
	args := map[string]cmdutil.CompleteFunc{
		"fetch":               cmdutil.AccountNames(f, config.Inbound, 1),
		"folders":             cmdutil.AccountNames(f, config.Inbound, 1),
		"send":                cmdutil.AccountNames(f, config.Outbound, 1),
		"test":                cmdutil.AccountNames(f, "", 1),
		"authenticate":        cmdutil.AccountNames(f, "", 1),
		"status":              cmdutil.AccountNames(f, "", 0),
		"logout":              cmdutil.AccountNames(f, "", 1),
		"token":               cmdutil.OAuth2AccountNames(f, 1),
		"account show":        cmdutil.AccountNames(f, "", 1),
		"account edit":        cmdutil.AccountNames(f, "", 1),
		"account remove":      cmdutil.AccountNames(f, "", 1),
		"account enable":      cmdutil.AccountNames(f, "", 0),
		"account disable":     cmdutil.AccountNames(f, "", 0),
		"token-config show":   cmdutil.TokenConfigNames(f, 1),
		"token-config edit":   cmdutil.TokenConfigNames(f, 1),
		"token-config remove": cmdutil.TokenConfigNames(f, 1),
	}
	flags := map[string]cmdutil.CompleteFunc{
		"account add --token-config":  cmdutil.TokenConfigNames(f, 0),
		"account edit --token-config": cmdutil.TokenConfigNames(f, 0),
	}
	for path, fn := range args {
		c := find(root, path)
		if c.ValidArgsFunction == nil {
			c.ValidArgsFunction = fn
		}
	}
	for path, fn := range flags {
		i := strings.LastIndex(path, " --")
		cmdutil.RegisterFlagCompletion(find(root, path[:i]), path[i+3:], fn)
	}
}

// find returns the command at path ("account show"); a path that names
// no command is a programming mistake the command tree tests catch.
func find(root *cobra.Command, path string) *cobra.Command {
	c, rest, err := root.Find(strings.Fields(path))
	if err != nil || len(rest) > 0 || c == root {
		panic("completion: no command " + path)
	}
	return c
}
