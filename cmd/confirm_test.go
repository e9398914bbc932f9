package cmd

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/secret"
)

// account remove and token-config remove ask on a terminal, and refuse
// without --yes where they cannot ask.
func TestRemoveAsksOrNeedsYes(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.vars["PW"] = "pw"
	e.mustRun("", "account", "add", "box", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--auth", "basic", "--login", "me@example.com", "--password-env", "PW")
	if err := e.store.Set(secret.TokenKey("support"), `{"access_token":"x"}`); err != nil {
		t.Fatal(err)
	}
	before := e.configText()
	kept := func(what string) {
		t.Helper()
		if e.configText() != before {
			t.Fatalf("%s changed the config:\n%s", what, e.configText())
		}
		if v, err := e.store.Get(secret.PasswordKey("box")); err != nil || v != "pw" {
			t.Fatalf("%s: password of box %q, %v", what, v, err)
		}
		if _, err := e.store.Get(secret.TokenKey("support")); err != nil {
			t.Fatalf("%s: token of support: %v", what, err)
		}
		if _, err := e.store.Get(secret.ClientSecretKey("ms365")); err != nil {
			t.Fatalf("%s: client secret of ms365: %v", what, err)
		}
	}

	// No terminal: one sentence naming --yes, exit 2, nothing asked.
	r := e.run("y\n", "account", "remove", "support")
	if r.code != 2 || r.err != "error: refusing to remove account \"support\" without confirmation: pass --yes (stdin is not a terminal or --no-input is set)\n" {
		t.Fatalf("remove without a terminal: exit %d %q", r.code, r.err)
	}
	kept("remove without a terminal")
	// --no-input on a terminal: the same, and no question.
	r = e.runTTY("y\n", "", "--no-input", "account", "remove", "support")
	if r.code != 2 || strings.Contains(r.err, "?") || !strings.Contains(r.err, "pass --yes") {
		t.Fatalf("remove --no-input: exit %d %q", r.code, r.err)
	}
	kept("remove --no-input")
	r = e.run("", "account", "delete", "box")
	if r.code != 2 || !strings.Contains(r.err, `refusing to remove account "box" without confirmation: pass --yes`) {
		t.Fatalf("delete without a terminal: exit %d %q", r.code, r.err)
	}
	// A token config in use is refused before anything is asked.
	r = e.runTTY("y\n", "", "token-config", "remove", "ms365")
	if r.code != 2 || strings.Contains(r.err, "?") || !strings.Contains(r.err, "is used by account support") {
		t.Fatalf("remove a used token config: exit %d %q", r.code, r.err)
	}

	// On a terminal: the question names what goes; no (or just Enter) keeps it.
	for _, answer := range []string{"n\n", "\n", "nope\n", ""} {
		r = e.runTTY(answer, "", "account", "remove", "support")
		if r.code != 1 || r.out != "" || r.err != "? Remove account \"support\" (its token is deleted too)? [y/N] Account \"support\" is kept.\n" {
			t.Fatalf("answer %q: exit %d stdout %q stderr %q", answer, r.code, r.out, r.err)
		}
		kept("answer " + answer)
	}
	r = e.runTTY("no\n", "", "account", "rm", "box")
	if r.code != 1 || !strings.HasPrefix(r.err, "? Remove account \"box\" (its password is deleted too)? [y/N] ") {
		t.Fatalf("basic account question: exit %d %q", r.code, r.err)
	}
	kept("answer no for box")

	// yes removes the account and its secrets.
	r = e.runTTY("Y\n", "", "account", "remove", "support")
	if r.code != 0 || r.out != "Removed account \"support\" and its secrets\n" {
		t.Fatalf("answer Y: exit %d %q %q", r.code, r.out, r.err)
	}
	if strings.Contains(e.configText(), "support:") {
		t.Fatalf("support still configured:\n%s", e.configText())
	}
	if _, err := e.store.Get(secret.TokenKey("support")); !secret.IsNotFound(err) {
		t.Fatalf("token of support after remove: %v", err)
	}
	// --yes and -y skip the question, on a terminal or not.
	e.mustRun("", "account", "remove", "box", "-y")
	r = e.runTTY("n\n", "", "token-config", "remove", "ms365")
	if r.code != 1 || r.err != "? Remove token config \"ms365\" (its client secret is deleted too)? [y/N] Token config \"ms365\" is kept.\n" {
		t.Fatalf("token-config answer n: exit %d %q", r.code, r.err)
	}
	r = e.run("", "token-config", "remove", "ms365")
	if r.code != 2 || r.err != "error: refusing to remove token config \"ms365\" without confirmation: pass --yes (stdin is not a terminal or --no-input is set)\n" {
		t.Fatalf("token-config remove without a terminal: exit %d %q", r.code, r.err)
	}
	if r = e.runTTY("", "", "token-config", "remove", "ms365", "--yes"); r.code != 0 || strings.Contains(r.err, "?") {
		t.Fatalf("token-config remove --yes on a terminal: exit %d %q", r.code, r.err)
	}
	if _, err := e.store.Get(secret.ClientSecretKey("ms365")); !secret.IsNotFound(err) {
		t.Fatalf("client secret after remove: %v", err)
	}
	if text := e.configText(); strings.Contains(text, "ms365") || strings.Contains(text, "box:") {
		t.Fatalf("left behind:\n%s", text)
	}
}
