package cmd

import (
	"strings"
	"testing"
)

// Enum values are taken in any case and under their usual aliases; the
// config stores the canonical value.
func TestEnumFlagsAreForgiving(t *testing.T) {
	e := newEnv(t)
	e.vars["PW"] = "pw"
	e.mustRun("", "token-config", "add", "ms", "--provider", "Microsoft", "--flow", "Device-Code", "--tenant", "contoso.com", "--client-id", clientID, "--for", "IMAP")
	e.mustRun("", "account", "add", "box", "--type", "IN", "--protocol", "IMAP", "--host", "imap.example.com",
		"--encryption", "TLS", "--auth", "Password", "--login", "me@example.com", "--password-env", "PW", "--on-received", "Hold")
	e.mustRun("", "account", "add", "graph", "--protocol", "graph", "--type", "Inbound", "--auth", "OAuth", "--login", "g@contoso.com", "--token-config", "ms")
	e.mustRun("", "account", "add", "out", "--type", "outbound", "--protocol", "SMTP", "--host", "smtp.example.com",
		"--encryption", "start-tls", "--auth", "basic", "--login", "me@example.com", "--password-env", "PW")
	e.mustRun("", "account", "add", "o365", "--preset", "Microsoft365", "--type", "inbound", "--login", "s@contoso.com", "--token-config", "ms")
	text := e.configText()
	for _, want := range []string{
		"provider: microsoft", "flow: device", "https://outlook.office.com/IMAP.AccessAsUser.All",
		"  box:\n    enabled: true\n    type: inbound\n    protocol: imap\n    host: imap.example.com\n    port: 0\n    encryption: ssl\n    auth: basic\n",
		"  graph:\n    enabled: true\n    type: inbound\n    protocol: microsoft\n",
		"encryption: starttls", "on_received: hold",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "TLS") || strings.Contains(text, "Password") || strings.Contains(text, "protocol: graph") {
		t.Errorf("config keeps a value as typed:\n%s", text)
	}
	// edit too, and `none` under its aliases.
	for _, alias := range []string{"plain", "OFF", "None"} {
		e.mustRun("", "account", "edit", "box", "--encryption", alias, "--property", "allow_plaintext_auth=true")
		if !strings.Contains(e.configText(), "encryption: none") {
			t.Fatalf("--encryption %s stored as:\n%s", alias, e.configText())
		}
	}
	// An unknown value: one sentence naming the allowed ones, exit 2.
	r := e.run("", "account", "edit", "box", "--encryption", "SSH")
	if r.code != 2 || r.err != "error: --encryption: \"SSH\" is not one of ssl, starttls, none\n" {
		t.Fatalf("unknown value: exit %d %q", r.code, r.err)
	}
	r = e.run("", "--secrets", "Vault", "account", "list")
	if r.code != 2 || r.err != "error: --secrets: \"Vault\" is not one of keyring, file\n" {
		t.Fatalf("unknown secret store: exit %d %q", r.code, r.err)
	}
	e.mustRun("", "--secrets", "FILE", "account", "list")
	// MAILPORT_SECRETS forgives the same way.
	e.vars["MAILPORT_SECRETS"] = "Keychain"
	e.mustRun("", "account", "show", "box")
	e.vars["MAILPORT_SECRETS"] = "vault"
	if r = e.run("", "account", "show", "box"); r.code != 2 || !strings.Contains(r.err, `unknown secret store "vault": choose keyring or file`) {
		t.Fatalf("MAILPORT_SECRETS=vault: exit %d %q", r.code, r.err)
	}
}

// Answers typed at the prompts forgive the same way as flags.
func TestPromptAnswersAreForgiving(t *testing.T) {
	e := newEnv(t)
	if r := e.runTTY("Microsoft\n"+clientID+"\ncontoso.com\n", "s", "token-config", "add", "ms365"); r.code != 0 {
		t.Fatalf("token-config add: exit %d %q", r.code, r.err)
	}
	if r := e.runTTY("Inbound\nIMAPS\nimap.example.com\nme@example.com\n", "pw", "account", "add", "box"); r.code != 0 {
		t.Fatalf("account add: exit %d %q", r.code, r.err)
	}
	text := e.configText()
	for _, want := range []string{"provider: microsoft", "type: inbound", "protocol: imap\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	r := e.runTTY("sideways\n", "", "account", "add", "other")
	if r.code != 2 || !strings.Contains(r.err, `error: --type: "sideways" is not one of inbound, outbound`) {
		t.Fatalf("unknown answer: exit %d %q", r.code, r.err)
	}
}
