package auth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/cmdtest"
)

func TestAuthenticateFlags(t *testing.T) {
	tests := []struct {
		args []string
		want AuthenticateOptions
	}{
		{[]string{"support"}, AuthenticateOptions{Account: "support", Timeout: 5 * time.Minute}},
		{[]string{"support", "--device"}, AuthenticateOptions{Account: "support", Device: true, Timeout: 5 * time.Minute}},
		{[]string{"support", "--no-browser", "--timeout", "90s"}, AuthenticateOptions{Account: "support", NoBrowser: true, Timeout: 90 * time.Second}},
		{[]string{"--listen", "127.0.0.1:8400", "support", "--timeout=2m"}, AuthenticateOptions{Account: "support", Listen: "127.0.0.1:8400", Timeout: 2 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := cmdtest.Factory()
			var got *AuthenticateOptions
			cmd := NewCmdAuthenticate(f, func(o *AuthenticateOptions) error { got = o; return nil })
			if err := cmdtest.Execute(t, cmd, tt.args...); err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			if got.F != f {
				t.Error("the options do not carry the factory")
			}
			g := *got
			g.F = nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("parsed %+v\nwant   %+v", g, tt.want)
			}
		})
	}
}

func TestStatusAndLogoutArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"support"}, {"support", "outbox", "ci"}} {
		var got *StatusOptions
		cmd := NewCmdStatus(cmdtest.Factory(), func(o *StatusOptions) error { got = o; return nil })
		if err := cmdtest.Execute(t, cmd, args...); err != nil {
			t.Fatalf("status %v: %v", args, err)
		}
		if got == nil || len(got.Accounts) != len(args) || (len(args) > 0 && !reflect.DeepEqual(got.Accounts, args)) {
			t.Errorf("status %v: parsed %+v", args, got)
		}
	}
	var got *LogoutOptions
	cmd := NewCmdLogout(cmdtest.Factory(), func(o *LogoutOptions) error { got = o; return nil })
	if err := cmdtest.Execute(t, cmd, "support"); err != nil || got == nil || got.Account != "support" {
		t.Fatalf("logout support: %v, parsed %+v", err, got)
	}
}

// Usage mistakes are FlagErrors (exit 2) and never reach the run function.
func TestAuthUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(called *bool) *cobra.Command
		args []string
		want string
	}{
		{"authenticate without account", newAuthenticate, nil, "missing an ACCOUNT name; see `authenticate --help`"},
		{"authenticate two accounts", newAuthenticate, []string{"a", "b"}, `too many arguments: ["b"]; authenticate takes an ACCOUNT name`},
		{"authenticate zero timeout", newAuthenticate, []string{"a", "--timeout", "0s"}, "--timeout must be positive, e.g. 5m"},
		{"authenticate negative timeout", newAuthenticate, []string{"a", "--timeout=-1m"}, "--timeout must be positive, e.g. 5m"},
		{"logout without account", newLogout, nil, "missing an ACCOUNT name; see `logout --help`"},
		{"logout two accounts", newLogout, []string{"a", "b"}, `too many arguments: ["b"]; logout takes an ACCOUNT name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			err := cmdtest.Execute(t, tt.cmd(&called), tt.args...)
			var fe *cmdutil.FlagError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a FlagError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q\nwant %q", err.Error(), tt.want)
			}
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("exit code %d, want %d", cmdutil.ExitCode(err), cmdutil.ExitUsage)
			}
			if called {
				t.Error("runF ran despite the usage error")
			}
		})
	}
}

func newAuthenticate(called *bool) *cobra.Command {
	return NewCmdAuthenticate(cmdtest.Factory(), func(*AuthenticateOptions) error { *called = true; return nil })
}

func newLogout(called *bool) *cobra.Command {
	return NewCmdLogout(cmdtest.Factory(), func(*LogoutOptions) error { *called = true; return nil })
}

// A duration pflag cannot parse stops before runF; the root command turns
// it into a FlagError (tested in package cmd).
func TestAuthenticateMalformedTimeoutNeverRuns(t *testing.T) {
	called := false
	err := cmdtest.Execute(t, newAuthenticate(&called), "a", "--timeout", "five minutes")
	if err == nil || !strings.Contains(err.Error(), `invalid argument "five minutes" for "--timeout" flag`) || called {
		t.Fatalf("err %v, runF called %v", err, called)
	}
}
