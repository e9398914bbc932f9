package cmd

import (
	"strings"
	"testing"
)

// Mistyped commands and flags get one sentence with the nearest names,
// exit 2; the aliases users reach for work.
func TestMistypesSuggestAndExitTwo(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"account", "lsit"}, "error: unknown command \"lsit\" for \"mailport account\"; did you mean list?\n"},
		{[]string{"account", "shwo", "support"}, "error: unknown command \"shwo\" for \"mailport account\"; did you mean show?\n"},
		{[]string{"token-config", "lsit"}, "error: unknown command \"lsit\" for \"mailport token-config\"; did you mean list?\n"},
		{[]string{"tc", "remvoe", "x"}, "error: unknown command \"remvoe\" for \"mailport token-config\"; did you mean remove?\n"},
		{[]string{"config", "vaildate"}, "error: unknown command \"vaildate\" for \"mailport config\"; did you mean validate?\n"},
		{[]string{"fecth", "support"}, "error: unknown command \"fecth\" for \"mailport\"; did you mean fetch?\n"},
		{[]string{"stauts"}, "error: unknown command \"stauts\" for \"mailport\"; did you mean status?\n"},
		{[]string{"frobnicate"}, "error: unknown command \"frobnicate\" for \"mailport\"; see `mailport --help`\n"},
		{[]string{"account", "list", "--jsno"}, "error: unknown flag --jsno; did you mean --json?\n"},
		{[]string{"status", "--jsno"}, "error: unknown flag --jsno; did you mean --json?\n"},
		{[]string{"fetch", "support", "--limt", "3"}, "error: unknown flag --limt; did you mean --limit?\n"},
		{[]string{"account", "add", "x", "--encyption=ssl"}, "error: unknown flag --encyption; did you mean --encryption?\n"},
		{[]string{"fetch", "support", "--zzzzzz"}, "error: unknown flag --zzzzzz; see `mailport fetch --help`\n"},
		{[]string{"fetch", "support", "-Z"}, "error: unknown flag -Z; see `mailport fetch --help`\n"},
	}
	for _, tt := range tests {
		r := e.run("", tt.args...)
		if r.code != 2 || r.err != tt.want || r.out != "" {
			t.Errorf("mailport %s: exit %d stdout %q\n got %q\nwant %q", strings.Join(tt.args, " "), r.code, r.out, r.err, tt.want)
		}
	}
	for _, args := range [][]string{{"account", "ls"}, {"token-config", "ls"}, {"tc", "list"}} {
		if r := e.mustRun("", args...); !strings.Contains(r.out, "ms365") && !strings.Contains(r.out, "support") {
			t.Errorf("mailport %s: %q", strings.Join(args, " "), r.out)
		}
	}
}

// delete and rm are remove, for accounts and token configs.
func TestRemoveAliases(t *testing.T) {
	for _, alias := range []string{"delete", "rm"} {
		e := newEnv(t)
		e.setupMicrosoft()
		e.mustRun("", "account", alias, "support", "--yes")
		e.mustRun("", "token-config", alias, "ms365", "--yes")
		if text := e.configText(); strings.Contains(text, "support") || strings.Contains(text, "ms365") {
			t.Fatalf("%s left:\n%s", alias, text)
		}
	}
}
