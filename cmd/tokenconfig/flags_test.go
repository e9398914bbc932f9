package tokenconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/cmdtest"
	"github.com/mailport/mailport/pkg/config"
)

// given lists the fields flags the user gave, as add and edit see them.
func given(fl *fields) []string {
	var out []string
	for _, name := range []string{"provider", "tenant", "client-id", "base-url", "auth-url", "token-url", "device-url", "redirect-url",
		"flow", "scopes", "for", "identity-claim", "inbound", "outbound", "secret-expires", "client-secret-stdin", "client-secret-env"} {
		if fl.changed(name) {
			out = append(out, name)
		}
	}
	return out
}

func TestAddFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *AddOptions)
	}{
		{"microsoft preset", []string{"ms365", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", "3f0c1a2b-0000-4000-8000-123456789abc", "--client-secret-stdin"},
			func(t *testing.T, o *AddOptions) {
				fl := o.Fields
				if o.Name != "ms365" || fl.Provider != "microsoft" || fl.Tenant != "contoso.com" || fl.ClientID != "3f0c1a2b-0000-4000-8000-123456789abc" || !fl.Secret.Stdin || o.Force {
					t.Errorf("parsed %+v", o)
				}
				// Inbound and outbound default to true without being "given".
				if !fl.Inbound || !fl.Outbound {
					t.Errorf("inbound %v outbound %v, want both true by default", fl.Inbound, fl.Outbound)
				}
				if got := given(&o.Fields); !reflect.DeepEqual(got, []string{"provider", "tenant", "client-id", "client-secret-stdin"}) {
					t.Errorf("given flags %v", got)
				}
			}},
		{"inbound false", []string{"out", "--provider", "google", "--client-id", "x", "--inbound=false"},
			func(t *testing.T, o *AddOptions) {
				if o.Fields.Inbound || !o.Fields.Outbound || !o.Fields.changed("inbound") || o.Fields.changed("outbound") {
					t.Errorf("inbound %v (given %v) outbound %v (given %v)", o.Fields.Inbound, o.Fields.changed("inbound"), o.Fields.Outbound, o.Fields.changed("outbound"))
				}
			}},
		{"scopes with commas and spaces", []string{"g", "--provider", "generic", "--scopes", "openid, email,offline_access  mail"},
			func(t *testing.T, o *AddOptions) {
				tc := &config.TokenConfig{}
				if err := o.Fields.apply(tc); err != nil {
					t.Fatal(err)
				}
				if want := []string{"openid", "email", "offline_access", "mail"}; !reflect.DeepEqual(tc.Scopes, want) {
					t.Errorf("scopes %q, want %q", tc.Scopes, want)
				}
			}},
		{"for imap", []string{"imap", "--provider", "microsoft", "--tenant", "contoso.com", "--for", "imap"},
			func(t *testing.T, o *AddOptions) {
				tc := config.TokenConfigPreset("microsoft", "contoso.com")
				if err := o.Fields.apply(tc); err != nil {
					t.Fatal(err)
				}
				if o.Fields.For != "imap" || !strings.Contains(strings.Join(tc.Scopes, " "), "https://outlook.office.com/IMAP.AccessAsUser.All") {
					t.Errorf("--for imap: For %q, scopes %q", o.Fields.For, tc.Scopes)
				}
			}},
		{"flow, env secret, force", []string{"app", "--provider", "microsoft", "--flow", "client_credentials", "--client-secret-env", "APP_SECRET", "--force"},
			func(t *testing.T, o *AddOptions) {
				if o.Fields.Flow != "client_credentials" || o.Fields.Secret.EnvVar != "APP_SECRET" || o.Fields.Secret.Stdin || !o.Force {
					t.Errorf("parsed %+v", o)
				}
			}},
		{"urls, claim, expiry", []string{"gen", "--provider", "generic", "--auth-url", "https://idp/auth", "--token-url", "https://idp/token", "--device-url", "https://idp/device",
			"--redirect-url", "http://localhost:8400/cb", "--identity-claim", "email", "--secret-expires", "2027-05-01"},
			func(t *testing.T, o *AddOptions) {
				tc := &config.TokenConfig{}
				if err := o.Fields.apply(tc); err != nil {
					t.Fatal(err)
				}
				want := config.TokenConfig{AuthURL: "https://idp/auth", TokenURL: "https://idp/token", DeviceURL: "https://idp/device", RedirectURL: "http://localhost:8400/cb",
					IdentityClaim: "email", SecretExpires: "2027-05-01", Provider: "generic"}
				if !reflect.DeepEqual(*tc, want) {
					t.Errorf("applied\n %+v\nwant\n %+v", *tc, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *AddOptions
			cmd := NewCmdAdd(cmdtest.Factory(), func(o *AddOptions) error { got = o; return nil })
			if err := cmdtest.Execute(t, cmd, tt.args...); err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			if got == nil {
				t.Fatal("runF was not called")
			}
			tt.check(t, got)
		})
	}
}

func TestEditFlagsOnlyGivenOnesChange(t *testing.T) {
	before := config.TokenConfig{Provider: "microsoft", Flow: "user", ClientID: "3f0c1a2b-0000-4000-8000-123456789abc",
		BaseURL: "https://login.microsoftonline.com/contoso.com/", Scopes: []string{"openid"}, IdentityClaim: "upn",
		Inbound: true, Outbound: true, SecretExpires: "2027-05-01", RedirectURL: "http://localhost:8400/cb"}
	tests := []struct {
		args  []string
		given []string
		want  func(tc *config.TokenConfig)
	}{
		{[]string{"--scopes", "a,b"}, []string{"scopes"}, func(tc *config.TokenConfig) { tc.Scopes = []string{"a", "b"} }},
		{[]string{"--outbound=false"}, []string{"outbound"}, func(tc *config.TokenConfig) { tc.Outbound = false }},
		{[]string{"--secret-expires", "2028-01-31", "--flow", "device"}, []string{"flow", "secret-expires"},
			func(tc *config.TokenConfig) { tc.SecretExpires, tc.Flow = "2028-01-31", "device" }},
		{[]string{"--tenant", "fabrikam.com"}, []string{"tenant"}, func(tc *config.TokenConfig) { tc.BaseURL = "https://login.microsoftonline.com/fabrikam.com/" }},
		// An empty value given on purpose clears the field.
		{[]string{"--redirect-url", ""}, []string{"redirect-url"}, func(tc *config.TokenConfig) { tc.RedirectURL = "" }},
		// Only the secret: the config itself does not change.
		{[]string{"--client-secret-stdin"}, []string{"client-secret-stdin"}, func(*config.TokenConfig) {}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *EditOptions
			cmd := NewCmdEdit(cmdtest.Factory(), func(o *EditOptions) error { got = o; return nil })
			if err := cmdtest.Execute(t, cmd, append([]string{"ms365"}, tt.args...)...); err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Name != "ms365" || got.NoSecret {
				t.Fatalf("parsed %+v", got)
			}
			if g := given(&got.Fields); !reflect.DeepEqual(g, tt.given) {
				t.Errorf("given flags %v, want %v", g, tt.given)
			}
			tc := before
			tc.Scopes = append([]string(nil), before.Scopes...)
			if err := got.Fields.apply(&tc); err != nil {
				t.Fatal(err)
			}
			want := before
			want.Scopes = append([]string(nil), before.Scopes...)
			tt.want(&want)
			if !reflect.DeepEqual(tc, want) {
				t.Errorf("after edit\n %+v\nwant\n %+v", tc, want)
			}
		})
	}
	t.Run("no-client-secret", func(t *testing.T) {
		var got *EditOptions
		cmd := NewCmdEdit(cmdtest.Factory(), func(o *EditOptions) error { got = o; return nil })
		if err := cmdtest.Execute(t, cmd, "ms365", "--no-client-secret"); err != nil || got == nil || !got.NoSecret || got.Fields.Secret.Given() {
			t.Fatalf("err %v, parsed %+v", err, got)
		}
	})
}

// Usage mistakes are FlagErrors (exit 2 with the command's usage) and
// never reach the run function. Values outside --provider, --flow and
// --for are refused while flags are parsed; package cmd tests those words.
func TestAddAndEditUsageErrors(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		want string
	}{
		{"add", nil, "missing a token config NAME; see `add --help`"},
		{"add", []string{"a", "b"}, `too many arguments: ["b"]; add takes a token config NAME`},
		{"add", []string{"a", "--for", "imap", "--scopes", "x"}, "use either --for or --scopes, not both"},
		{"add", []string{"a", "--tenant", "t", "--base-url", "https://x/"}, "use either --tenant or --base-url, not both"},
		{"add", []string{"a", "--tenant", " "}, "--tenant is empty; give a domain such as contoso.com or a tenant id"},
		{"add", []string{"a", "--secret-expires", "May 2027"}, `--secret-expires: "May 2027" is not a date like 2027-05-01`},
		{"edit", nil, "missing a token config NAME; see `edit --help`"},
		{"edit", []string{"ms365"}, "nothing to change: give the flags to change, see `mailport token-config edit --help`"},
		{"edit", []string{"ms365", "--no-client-secret", "--client-secret-env", "S"}, "use either --no-client-secret or a new client secret, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			called := false
			var cmd *cobra.Command
			if tt.cmd == "add" {
				cmd = NewCmdAdd(cmdtest.Factory(), func(*AddOptions) error { called = true; return nil })
			} else {
				cmd = NewCmdEdit(cmdtest.Factory(), func(*EditOptions) error { called = true; return nil })
			}
			err := cmdtest.Execute(t, cmd, tt.args...)
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

// A value pflag cannot parse stops before runF; the root command turns it
// into a FlagError (tested in package cmd).
func TestAddMalformedBoolNeverRuns(t *testing.T) {
	called := false
	cmd := NewCmdAdd(cmdtest.Factory(), func(*AddOptions) error { called = true; return nil })
	err := cmdtest.Execute(t, cmd, "a", "--inbound=maybe")
	if err == nil || !strings.Contains(err.Error(), `invalid argument "maybe" for "--inbound" flag`) || called {
		t.Fatalf("err %v, runF called %v", err, called)
	}
}

func TestCredentialFlagCombinations(t *testing.T) {
	base := []string{"app", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", "3f0c1a2b-0000-4000-8000-123456789abc"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--certificate", "a.pem", "--certificate-path", "/b.pem"}, "use either --certificate (stored) or --certificate-path (read at every run), not both"},
		{[]string{"--certificate", "a.pem", "--federated-token", "github"}, "use either a certificate or a federated token, not both"},
		{[]string{"--federated-token-file", "/t", "--client-secret-stdin"}, "a certificate or a federated token replaces the client secret: drop --client-secret-stdin / --client-secret-env"},
		{[]string{"--certificate-path", "/b.pem", "--certificate-password-env", "PW"}, "--certificate-password-env goes with --certificate FILE (a PKCS#12 file)"},
		{[]string{"--federated-token-file", "/t", "--federated-token", "github"}, "use either --federated-token-file or --federated-token, not both"},
		{[]string{"--certificate", "a.pem", "--assertion-alg", "ES256"}, `--assertion-alg: "ES256" is not one of RS256, PS256`},
		{[]string{"--federated-token", "gitlab"}, `--federated-token: "gitlab" is not one of github`},
		{[]string{"--certificate", ""}, "--certificate and --certificate-path need a FILE"},
		{[]string{"--key-file", "sa.json", "--certificate", "a.pem"}, "a Google service account signs in with its --key-file: give no certificate or federated token with it"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := NewCmdAdd(cmdtest.Factory(), func(*AddOptions) error { t.Fatal("ran despite bad flags"); return nil })
			err := cmdtest.Execute(t, cmd, append(append([]string(nil), base...), tt.args...)...)
			var fe *cmdutil.FlagError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}
