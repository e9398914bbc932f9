package cmd

import (
	"strings"
	"testing"
)

// The text form of `account show` and `token-config show`: one "key:
// value" per line, the values in one column, the secrets' whereabouts
// (never their values).
func TestShowTextAligned(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	for _, args := range [][]string{{"account", "show", "support"}, {"token-config", "show", "ms365"}} {
		r := e.mustRun("", args...)
		if strings.Contains(r.out, secretValue) {
			t.Fatalf("%v shows the secret", args)
		}
		col := -1
		for _, line := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%v: line %q is not key: value", args, line)
			}
			at := len(k) + 1 + len(v) - len(strings.TrimLeft(v, " "))
			if col < 0 {
				col = at
			}
			if at != col || v == strings.TrimLeft(v, " ") {
				t.Errorf("%v: value of %q starts at column %d, want %d:\n%s", args, k, at, col, r.out)
			}
		}
		if !strings.Contains(r.out, "client secret:") {
			t.Errorf("%v does not say where the client secret is:\n%s", args, r.out)
		}
	}
}
