package realtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

const saEmail = "mailport-ci@acme-mail.iam.gserviceaccount.com"

// fetched runs `mailport fetch ACCOUNT --to DIR --json` and returns the
// bytes of each message written, in the order fetched.
func fetched(t *testing.T, c *cli, account, dir string) [][]byte {
	t.Helper()
	r := c.mustRun("", "--json", "fetch", account, "--to", dir)
	var out [][]byte
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var rec struct {
			Type, Status, File string
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("fetch --json printed %q: %v", line, err)
		}
		if rec.Type != "message" {
			continue
		}
		if rec.Status != "fetched" {
			t.Fatalf("fetch %s: %s", account, line)
		}
		b, err := os.ReadFile(filepath.Join(dir, rec.File))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestServiceAccountFetchAndSendForTwoMailboxes: one Google service account
// with domain-wide delegation serves two mailboxes of the domain on the
// real Dovecot and Postfix. The token config holds only the JSON key (the
// file is deleted after add); each account's token comes from a JWT-bearer
// grant for its login, which Dovecot's oauth2 passdb checks at the fake's
// introspection endpoint. `mailport fetch` writes each mailbox's messages
// to disk byte for byte over IMAP and POP3, and `mailport send` goes
// through Postfix with SMTP XOAUTH2. No client secret, stored token or
// refresh token exists anywhere.
func TestServiceAccountFetchAndSendForTwoMailboxes(t *testing.T) {
	b := bed.Get(t)
	key, sa := oauthtest.NewServiceAccountKey(saEmail, "118000000000000000042", "https://oauth2.googleapis.com/token")
	sa.Domains, sa.Delegated = []string{"example.test"}, []string{oauth.ScopeGoogleMail}
	prov.AddServiceAccount(sa)
	// Dovecot accepts Gmail-scoped tokens for this test (the Outlook
	// audience is put back after it).
	prov.RequireIntrospection("", oauth.ScopeGoogleMail)
	t.Cleanup(func() { prov.RequireIntrospection(outlookAudience, imapScope) })
	grantsBefore := len(prov.ServiceAccountGrants())
	refreshesBefore, introspectionsBefore := prov.Count("token:refresh_token"), prov.Count("introspect")

	c := newCLI(t)
	keyFile := filepath.Join(c.dir, "sa.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	c.mustRun("", "token-config", "add", "workspace", "--provider", "google", "--flow", "service_account", "--key-file", keyFile,
		"--token-url", prov.GoogleTokenURL())
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	accounts := []struct {
		name, typ, proto, login string
		port                    int
		enc                     string
	}{
		{"erin-imap", "inbound", "imap", erin, b.IMAPSPort, "ssl"},
		{"frank-pop3", "inbound", "pop3", frank, b.POP3Port, "starttls"},
		{"erin-out", "outbound", "smtp", erin, b.SubmissionPort, "starttls"},
	}
	for _, a := range accounts {
		c.mustRun("", "account", "add", a.name, "--type", a.typ, "--protocol", a.proto, "--host", b.Host, "--port", strconv.Itoa(a.port),
			"--encryption", a.enc, "--auth", "oauth2", "--token-config", "workspace", "--login", a.login, "--property", "tls_ca_file="+b.CAFile)
	}

	// Mail waiting in each mailbox.
	want := map[string][][]byte{}
	for _, u := range []string{erin, frank} {
		for i := 1; i <= 2; i++ {
			msg := roundTripMessage("for "+u+" #"+strconv.Itoa(i), "<sa-"+strconv.Itoa(i)+"-"+randomID()+"@example.test>", u)
			if _, err := b.Deliver(u, strings.NewReader(string(msg))); err != nil {
				t.Fatal(err)
			}
			want[u] = append(want[u], msg)
		}
	}
	check := func(account, user string, got [][]byte, sent [][]byte) {
		t.Helper()
		if len(got) != len(sent) {
			t.Fatalf("fetch %s wrote %d messages, want %d", account, len(got), len(sent))
		}
		for i := range sent {
			if string(got[i]) != string(sent[i]) {
				t.Errorf("fetch %s: message %d on disk is not the one in %s's mailbox:\n%s\nwant %s", account, i, user, abbrev(got[i]), abbrev(sent[i]))
			}
		}
	}
	erinDir, frankDir := filepath.Join(c.dir, "erin"), filepath.Join(c.dir, "frank")
	check("erin-imap", erin, fetched(t, c, "erin-imap", erinDir), want[erin])
	check("frank-pop3", frank, fetched(t, c, "frank-pop3", frankDir), want[frank])

	// Erin sends to Frank through Postfix with the service account's token.
	id := "<sa-send-" + randomID() + "@example.test>"
	raw := roundTripMessage("sent by a service account", id, frank)
	rawFile := filepath.Join(c.dir, "out.eml")
	if err := os.WriteFile(rawFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.mustRun("", "send", "erin-out", "--raw", rawFile)
	if w := "Sent " + id + " to " + frank + "\n"; r.out != w {
		t.Errorf("send printed %q, want %q", r.out, w)
	}
	if _, err := b.WaitForMessage(frank, "", id, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	got := fetched(t, c, "frank-pop3", frankDir)
	if len(got) != 1 {
		t.Fatalf("the second fetch of frank-pop3 wrote %d messages, want only the one sent", len(got))
	}
	delivered(t, "sent through Postfix, fetched over POP3", got[0], raw)

	// What the token endpoint received: one JWT-bearer grant per run and
	// mailbox, signed by the service account, for the account's login.
	grants := prov.ServiceAccountGrants()[grantsBefore:]
	subs := map[string]int{}
	for _, g := range grants {
		t.Logf("the token endpoint received: %s", g)
		if strings.Join(g.Fields, ",") != "assertion,grant_type" || g.Answer != "" {
			t.Errorf("grant %s: want only assertion and grant_type, answered with a token", g)
		}
		if g.Claims["iss"] != saEmail || g.Claims["aud"] != prov.GoogleTokenURL() || g.Claims["scope"] != oauth.ScopeGoogleMail {
			t.Errorf("grant claims %v", g.Claims)
		}
		sub, _ := g.Claims["sub"].(string)
		subs[sub]++
	}
	if subs[erin] != 2 || subs[frank] != 2 || len(subs) != 2 {
		t.Errorf("grants per mailbox %v, want 2 for %s (fetch, send) and 2 for %s (two fetches)", subs, erin, frank)
	}
	if n := prov.Count("introspect") - introspectionsBefore; n < 4 {
		t.Errorf("Dovecot asked the introspection endpoint %d times, want at least 4 (IMAP, POP3 twice, SMTP)", n)
	}
	if n := prov.Count("token:refresh_token"); n != refreshesBefore {
		t.Errorf("%d refresh-token grants were made, want none", n-refreshesBefore)
	}
	for _, a := range accounts {
		if _, err := c.store.Get(secret.TokenKey(a.name)); !secret.IsNotFound(err) {
			t.Errorf("a token is stored for %s (err %v); service-account tokens live in memory", a.name, err)
		}
	}
	if v, err := c.store.Get(secret.ClientSecretKey("workspace")); err != nil || !strings.Contains(v, `"type": "service_account"`) {
		t.Errorf("the store does not hold the key file under the token config (err %v)", err)
	}
}
