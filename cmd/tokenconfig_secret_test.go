package cmd

import (
	"encoding/json"
	"testing"

	"github.com/mailport/mailport/pkg/secret"
)

// A public client app (Mobile and desktop platform) must not send a
// secret (AADSTS700025): edit --no-client-secret removes the stored one.
func TestTokenConfigEditNoClientSecret(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	before := e.configText()
	r := e.mustRun("", "token-config", "edit", "ms365", "--no-client-secret", "--json")
	if _, err := e.store.Get(secret.ClientSecretKey("ms365")); !secret.IsNotFound(err) {
		t.Fatalf("client secret still stored (err %v)", err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if d["client_secret"] != "not set" {
		t.Errorf("client_secret = %v, want \"not set\"", d["client_secret"])
	}
	if r.err != "" {
		t.Errorf("stderr: %q", r.err)
	}
	if after := e.configText(); after != before {
		t.Errorf("the config changed:\n%s", after)
	}

	// A secret from the environment still wins: say so.
	e.vars[secret.EnvName(secret.EnvClientSecretPrefix, "ms365")] = "from-env"
	r = e.mustRun("", "token-config", "edit", "ms365", "--no-client-secret")
	if want := "warning: MAILPORT_CLIENT_SECRET_MS365 is set and still supplies a client secret; unset it too\n"; r.err != want {
		t.Errorf("stderr %q, want %q", r.err, want)
	}
}

func TestTokenConfigEditNoClientSecretRefusals(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"with a new secret", "s", []string{"token-config", "edit", "ms365", "--no-client-secret", "--client-secret-stdin"},
			"error: use either --no-client-secret or a new client secret, not both\n"},
		{"client credentials", "", []string{"token-config", "edit", "ms365", "--no-client-secret", "--flow", "client_credentials"},
			"error: token config ms365 uses the client_credentials flow, which needs its client secret; change --flow first\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.setupMicrosoft()
			before := e.configText()
			r := e.run(tt.stdin, tt.args...)
			if r.code != 2 || r.err != tt.want {
				t.Fatalf("exit %d stderr %q, want 2 and %q", r.code, r.err, tt.want)
			}
			if v, err := e.store.Get(secret.ClientSecretKey("ms365")); err != nil || v != secretValue {
				t.Errorf("stored secret changed: %q %v", v, err)
			}
			if e.configText() != before {
				t.Error("config changed")
			}
		})
	}
}
