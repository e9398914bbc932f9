package cmdutil

import (
	"errors"
	"fmt"
	"github.com/mailport/mailport/internal/editdist"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// suggestDistance is how many edits apart a typo and a name may be.
const suggestDistance = 2

// closest returns the candidates nearest to typed (ties kept, in order),
// or nil when none is within suggestDistance. A candidate that typed is a
// prefix of counts as near.
func closest(typed string, candidates []string) []string {
	typed = strings.ToLower(typed)
	best, out := suggestDistance+1, []string(nil)
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		d := editdist.Distance(typed, strings.ToLower(c))
		if typed != "" && strings.HasPrefix(strings.ToLower(c), typed) && d > 1 {
			d = 1
		}
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	return out
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// UnknownCommandError is the usage error for a subcommand name parent does
// not have: one sentence, with the nearest commands when there are any.
func UnknownCommandError(parent *cobra.Command, typed string) error {
	var names []string
	byName := map[string]string{}
	for _, c := range parent.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		for _, n := range append([]string{c.Name()}, c.Aliases...) {
			names = append(names, n)
			byName[n] = c.Name()
		}
		for _, s := range c.SuggestFor {
			if strings.EqualFold(s, typed) {
				names = append(names, c.Name())
			}
		}
	}
	var hits []string
	seen := map[string]bool{}
	for _, n := range closest(typed, names) {
		if c := byName[n]; c != "" && !seen[c] {
			seen[c] = true
			hits = append(hits, c)
		}
	}
	sort.Strings(hits)
	if len(hits) > 0 {
		return FlagErrorf("unknown command %q for %q; did you mean %s?", typed, parent.CommandPath(), orList(hits))
	}
	return FlagErrorf("unknown command %q for %q; see `%s --help`", typed, parent.CommandPath(), parent.CommandPath())
}

// UnknownFlagError is the usage error for a flag cmd does not have (its
// own or inherited), naming the nearest flags when there are any. typed
// is the flag as given, e.g. "--jsno" or "-x".
func UnknownFlagError(cmd *cobra.Command, typed string) error {
	name := strings.TrimLeft(typed, "-")
	name, _, _ = strings.Cut(name, "=")
	var names []string
	visit := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if !strings.HasPrefix(typed, "--") || len(name) < 2 {
		// A single-letter shorthand is too short to guess from.
		return FlagErrorf("unknown flag %s; see `%s --help`", typed, cmd.CommandPath())
	}
	hits := closest(name, names)
	sort.Strings(hits)
	if len(hits) > 0 {
		for i := range hits {
			hits[i] = "--" + hits[i]
		}
		return FlagErrorf("unknown flag %s; did you mean %s?", typed, orList(hits))
	}
	return FlagErrorf("unknown flag %s; see `%s --help`", typed, cmd.CommandPath())
}

// FlagParseError turns pflag's parse errors into one sentence: unknown
// flags get suggestions, refused values say what is allowed.
func FlagParseError(cmd *cobra.Command, err error, plain func(error) string) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		return UnknownFlagError(cmd, rest)
	}
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		// "'x' in -x"
		if letter, _, found := strings.Cut(rest, " in "); found {
			return UnknownFlagError(cmd, "-"+strings.Trim(letter, "'"))
		}
	}
	msg = plain(err)
	if strings.Contains(msg, " is not one of ") {
		// It names the allowed values already.
		return &FlagError{Err: errors.New(msg)}
	}
	return &FlagError{Err: fmt.Errorf("%s; see `%s --help`", msg, cmd.CommandPath())}
}
