package cmd

import (
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// runTTY runs mailport as on a terminal: answers are read from stdin, the
// hidden secret from readPassword.
func (e *env) runTTY(stdin, hidden string, args ...string) result {
	e.t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(true, true, true)
	ios.SetReadPassword(func() ([]byte, error) { return []byte(hidden), nil })
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO: ios, Getenv: func(k string) string { return e.vars[k] }, Now: time.Now,
		OpenStore: func(string, string) (secret.Store, error) { return e.store, nil },
	}
	code := Run(f, append([]string{"--config", e.config}, args...))
	return result{out.String(), errOut.String(), code}
}

func TestPromptsForMissingFieldsOnATerminal(t *testing.T) {
	e := newEnv(t)
	r := e.runTTY("microsoft\n"+clientID+"\ncontoso.com\n", "the-hidden-secret", "token-config", "add", "ms365")
	if r.code != 0 {
		t.Fatalf("token-config add on a terminal: %d %q", r.code, r.err)
	}
	for _, q := range []string{"? Provider (microsoft, google, generic) (microsoft): ", "? Client (application) id: ", "? Tenant", "? Client secret"} {
		if !strings.Contains(r.err, q) {
			t.Errorf("no prompt %q in %q", q, r.err)
		}
	}
	if strings.Contains(r.err+r.out, "the-hidden-secret") {
		t.Fatal("the secret was echoed")
	}
	if v, _ := e.store.Get(secret.ClientSecretKey("ms365")); v != "the-hidden-secret" {
		t.Fatalf("secret stored %q", v)
	}
	r = e.runTTY("inbound\nimap\nimap.example.com\nme@example.com\n", "pw", "account", "add", "box")
	if r.code != 0 || !strings.Contains(r.out, `Added inbound account "box": imap on imap.example.com:993`) {
		t.Fatalf("account add on a terminal: %d %q %q", r.code, r.out, r.err)
	}
	if v, _ := e.store.Get(secret.PasswordKey("box")); v != "pw" {
		t.Fatalf("password stored %q", v)
	}
	// --no-input on a terminal: no prompt, one error listing what is missing.
	r = e.runTTY("", "", "--no-input", "account", "add", "other")
	if r.code != 2 || strings.Contains(r.err, "?") || !strings.Contains(r.err, "missing --type, --protocol (or --preset), --host (or --preset), --login") {
		t.Fatalf("--no-input: %d %q", r.code, r.err)
	}
}
