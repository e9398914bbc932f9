package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

func TestFetchRefusesBeforeConnecting(t *testing.T) {
	e := newEnv(t)
	// Port 1: any attempt to connect would fail with a network error.
	e.mustRun("pw", "account", "add", "imapbox", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1", "--login", "a@example.com", "--password-stdin")
	e.mustRun("pw", "account", "add", "popbox", "--type", "inbound", "--protocol", "pop3", "--host", "127.0.0.1", "--port", "1", "--login", "a@example.com", "--password-stdin", "--hold-dir", filepath.Join(e.dir, "hold"))
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1", "--login", "a@example.com", "--password-stdin")
	e.mustRun("pw", "account", "add", "off", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1", "--login", "a@example.com", "--password-stdin", "--disabled")
	to := filepath.Join(e.dir, "in")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "outbox", "--to", to}, "error: account outbox is an outbound account; fetch needs an inbound one (imap, pop3 or microsoft)\n"},
		{[]string{"fetch", "off", "--to", to}, "error: account off is disabled; enable it with `mailport account enable off`\n"},
		{[]string{"fetch", "nope", "--to", to}, "error: no account named \"nope\" (known: imapbox, off, outbox, popbox)\n"},
		{[]string{"fetch", "imapbox", "--to", to, "--delete", "--move-to", "Archive"}, "error: use either --delete or --move-to, not both\n"},
		{[]string{"fetch", "popbox", "--mark-seen"}, "error: --mark-seen needs IMAP or Microsoft Graph; account popbox uses POP3, which has no folders, flags or dates\n"},
		{[]string{"fetch", "popbox", "--move-to", "Archive"}, "error: --move-to needs IMAP or Microsoft Graph; account popbox uses POP3, which has no folders, flags or dates\n"},
		{[]string{"fetch", "imapbox"}, "error: no target directory for account imapbox: pass --to DIR or set the account's hold_dir with `mailport account edit imapbox --hold-dir DIR`\n"},
		{[]string{"fetch", "imapbox", "--to", to, "--format", "mbox"}, "error: --format: \"mbox\" is not one of eml, maildir\n"},
		{[]string{"fetch", "imapbox", "--to", to, "--since", "yesterday"}, "error: --since: \"yesterday\" is not a date like 2026-11-25 or 2026-11-25T10:15:00Z\n"},
		{[]string{"fetch", "imapbox", "--all"}, "error: give either an ACCOUNT or --all, not both\n"},
		{[]string{"fetch", "imapbox", "--to", to, "--max-size", "lots"}, "error: --max-size: \"lots\" is not a size like 512K, 10M or 1G\n"},
		{[]string{"fetch", "popbox", "--folder", "INBOX", "--folder", "Archive"}, "error: several folders or a folder pattern need IMAP or Microsoft Graph; account popbox uses POP3, which has only its inbox\n"},
		{[]string{"fetch", "popbox", "--folder", "*"}, "error: several folders or a folder pattern need IMAP or Microsoft Graph; account popbox uses POP3, which has only its inbox\n"},
		{[]string{"fetch", "imapbox", "--to", to, "--folder", ""}, "error: --folder needs a folder path or pattern, e.g. Inbox/Endpoint or 'Inbox/*'\n"},
		{[]string{"fetch"}, ""},
	} {
		r := e.run("", tt.args...)
		if r.code != 2 || strings.Count(r.err, "\n") != 1 || r.out != "" {
			t.Errorf("%v: exit %d stdout %q stderr %q, want exit 2 and one line", tt.args, r.code, r.out, r.err)
		}
		if tt.want != "" && r.err != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.args, r.err, tt.want)
		}
	}
	if _, err := os.Stat(to); !os.IsNotExist(err) {
		t.Fatal("a refused fetch created the target directory")
	}
}

func TestFetchPOP3HoldDirExecJSONDryRunAndStatus(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	for i := 1; i <= 3; i++ {
		srv.AddMessage([]byte(fmt.Sprintf("From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.com>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= %d\r\nDate: Thu, 26 Nov 2026 10:15:00 +0100\r\n\r\n.line %d\r\n", i, i)))
	}
	e := newEnv(t)
	hold := filepath.Join(e.dir, "hold")
	log := filepath.Join(e.dir, "exec.log")
	host, port, _ := strings.Cut(srv.Addr(), ":")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true", "--hold-dir", hold,
		"--on-received", "exec", "--exec", `echo "$MAILPORT_MESSAGE_ID $(basename "$1")" >> `+log)

	r := e.mustRun("", "fetch", "box", "--dry-run")
	if !strings.Contains(r.out, "would fetch 3 messages") || strings.Count(r.out, "would fetch ") != 4 {
		t.Fatalf("dry run: %q", r.out)
	}
	if _, err := os.Stat(hold); !os.IsNotExist(err) {
		t.Fatal("--dry-run created the directory")
	}

	r = e.mustRun("", "fetch", "box", "--delete", "--json")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 4 {
		t.Fatalf("--json lines: %q", r.out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"type": "message", "account": "box", "folder": "INBOX", "from": "Jürgen <j@example.com>", "subject": "Grüße 1",
		"date": "2026-11-26T10:15:00+01:00", "status": "fetched", "action": "deleted"} {
		if rec[k] != v {
			t.Errorf("record %s = %v, want %v", k, rec[k], v)
		}
	}
	file, _ := rec["file"].(string)
	if b, err := os.ReadFile(filepath.Join(hold, file)); err != nil || !strings.HasSuffix(string(b), "\r\n.line 1\r\n") {
		t.Fatalf("file %q: %v %q", file, err, b)
	}
	var sum map[string]any
	json.Unmarshal([]byte(lines[3]), &sum)
	if sum["type"] != "summary" || sum["fetched"] != 3.0 || sum["failed"] != 0.0 || sum["dir"] != hold {
		t.Fatalf("summary %s", lines[3])
	}
	if len(srv.UIDs()) != 0 {
		t.Fatalf("left on the server: %v", srv.UIDs())
	}
	if b, _ := os.ReadFile(log); strings.Count(string(b), ".eml\n") != 3 {
		t.Fatalf("the account's exec ran for: %q", b)
	}

	r = e.mustRun("", "status", "box")
	if !strings.Contains(r.err, "box: last fetch ") || !strings.Contains(r.err, ": 3 messages into "+hold+", 0 failed") {
		t.Fatalf("status: %q %q", r.out, r.err)
	}
	r = e.mustRun("", "status", "--json")
	if !strings.Contains(r.out, `"last_fetch": {`) || !strings.Contains(r.out, `"messages": 3`) {
		t.Fatalf("status --json: %s", r.out)
	}
}

func TestFetchAllGraphAndPOP3AndReauthExitsThree(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	for i := 0; i < 12; i++ {
		g.AddMessage("support@contoso.com", "Inbox", []byte(fmt.Sprintf("Subject: g%d\r\n\r\nbody\r\n", i)))
	}
	pop := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	pop.AddMessage([]byte("Subject: p\r\n\r\nbody\r\n"))

	e := newEnv(t)
	e.open = browser(t)
	all := filepath.Join(e.dir, "all")
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL, "--hold-dir", filepath.Join(e.dir, "g"))
	host, port, _ := strings.Cut(pop.Addr(), ":")
	e.mustRun("pw", "account", "add", "legacy", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	e.mustRun("", "authenticate", "support", "--timeout", "20s")

	r := e.mustRun("", "fetch", "--all", "--to", all)
	if !strings.Contains(r.out, "legacy: fetched 1 message (") || !strings.Contains(r.out, "support: fetched 12 messages (") {
		t.Fatalf("--all: %q %q", r.out, r.err)
	}
	ents, _ := os.ReadDir(all)
	if len(ents) != 13+2 { // messages, the state and the lock
		t.Fatalf("%d entries in %s", len(ents), all)
	}
	r = e.mustRun("", "fetch", "support", "--to", all)
	if r.out != "fetched 0 messages (0 bytes) into "+all+", 0 failed\n" {
		t.Fatalf("second run: %q", r.out)
	}

	prov.RevokeUser("support@contoso.com")
	prov.ExpireAccessTokens()
	e.expireStoredToken("support")
	r = e.run("", "fetch", "support")
	if r.code != 3 || !strings.Contains(r.err, "mailport authenticate support") {
		t.Fatalf("revoked: exit %d %q %q", r.code, r.out, r.err)
	}
	r = e.mustRun("", "status", "support")
	if !strings.Contains(r.err, "error: ") {
		t.Fatalf("status does not show the failed fetch: %q", r.err)
	}
}
