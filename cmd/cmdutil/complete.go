package cmdutil

import (
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/pkg/config"
)

// A CompleteFunc is cobra's completion callback for arguments and flags.
type CompleteFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeConfig loads the config for completion. A missing, unreadable
// or invalid config completes nothing: completion never prints errors.
func completeConfig(f *Factory) *config.Config {
	cfg, err := f.Config()
	if err != nil || cfg == nil {
		return nil
	}
	return cfg
}

// AccountNames completes account names from the config (--config and
// MAILPORT_CONFIG respected), each described by its type, protocol and
// login. typ limits them to inbound or outbound accounts ("" for all).
// max is how many ACCOUNT arguments the command takes (0: any number);
// names already given are not offered again.
func AccountNames(f *Factory, typ string, max int) CompleteFunc {
	return accountNames(f, func(a *config.Account) bool { return typ == "" || a.Type == typ }, max)
}

// OAuth2AccountNames completes the names of the accounts that sign in
// with OAuth2 (those `mailport token` serves), as AccountNames does.
func OAuth2AccountNames(f *Factory, max int) CompleteFunc {
	return accountNames(f, func(a *config.Account) bool { return a.Auth == config.AuthOAuth2 }, max)
}

// accountNames completes the names of the accounts keep accepts.
func accountNames(f *Factory, keep func(*config.Account) bool, max int) CompleteFunc {
	return configNames(f, max, func(cfg *config.Config) map[string]*config.Account { return cfg.Accounts },
		func(a *config.Account) (string, bool) {
			desc := strings.TrimSpace(strings.Join([]string{a.Type, a.Protocol, a.Login}, " "))
			if !a.Enabled {
				desc += " (disabled)"
			}
			return desc, keep(a)
		})
}

// TokenConfigNames completes token config names from the config, each
// described by its provider and flow. max is as for AccountNames.
func TokenConfigNames(f *Factory, max int) CompleteFunc {
	return configNames(f, max, func(cfg *config.Config) map[string]*config.TokenConfig { return cfg.TokenConfigs },
		func(tc *config.TokenConfig) (string, bool) {
			return strings.TrimSpace(tc.Provider + " " + tc.Flow), true
		})
}

// configNames completes the names of the config's entries (accounts or
// token configs, as entries picks) that describe accepts, each with its
// description; names already given, and every name once max arguments
// are given, are not offered.
func configNames[T any](f *Factory, max int, entries func(*config.Config) map[string]*T, describe func(*T) (desc string, ok bool)) CompleteFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg := completeConfig(f)
		if cfg == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		m := entries(cfg)
		var out []string
		for _, name := range SortedNames(m) {
			e := m[name]
			if e == nil || given(args, name) || !strings.HasPrefix(name, toComplete) {
				continue
			}
			if desc, ok := describe(e); ok {
				out = append(out, name+"\t"+oneLine(desc))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// RegisterFlagCompletion registers fn for cmd's flag name.
func RegisterFlagCompletion(cmd *cobra.Command, name string, fn CompleteFunc) {
	if err := cmd.RegisterFlagCompletionFunc(name, fn); err != nil {
		// Only a programming mistake (an unknown or doubly registered
		// flag) gets here; the command tree tests build every command.
		panic("completion for --" + name + " of " + cmd.CommandPath() + ": " + err.Error())
	}
}

// oneLine keeps a description from breaking the shell's line protocol
// (one candidate per line, a tab before the description).
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func given(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}
