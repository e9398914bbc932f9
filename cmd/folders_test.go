package cmd

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// graphFolderEnv is an env with a Graph account "support" whose mailbox
// holds Inbox/Endpoint (2 messages, 1 read), Inbox/Notes and
// Projects/2026, authenticated.
func graphFolderEnv(t *testing.T) (*env, *graphtest.Server) {
	t.Helper()
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	for _, p := range []string{"Inbox/Endpoint", "Inbox/Notes", "Projects/2026"} {
		g.AddFolder("support@contoso.com", p)
	}
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: a\r\n\r\nbody\r\n"))
	g.AddMessageWith("support@contoso.com", "Inbox/Endpoint", graphtest.Message{Raw: []byte("Subject: b\r\n\r\nbody\r\n"), IsRead: true})
	g.AddMessage("support@contoso.com", "Inbox/Endpoint", []byte("Subject: c\r\n\r\nbody\r\n"))

	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL, "--hold-dir", filepath.Join(e.dir, "g"))
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	return e, g
}

func TestFoldersGraphTableTSVAndJSON(t *testing.T) {
	e, _ := graphFolderEnv(t)

	r := e.mustRun("", "folders", "support")
	want := "Inbox\t1\t1\tInbox\n" +
		"Inbox/Endpoint\t2\t1\t\n" +
		"Inbox/Notes\t0\t0\t\n" +
		"Archive\t0\t0\tArchive\n" +
		"Conversation History\t0\t0\t\n" +
		"Deleted Items\t0\t0\tTrash\n" +
		"Drafts\t0\t0\tDrafts\n" +
		"Junk Email\t0\t0\tJunk\n" +
		"Outbox\t0\t0\t\n" +
		"Projects\t0\t0\t\n" +
		"Projects/2026\t0\t0\t\n" +
		"Sent Items\t0\t0\tSent\n"
	if r.out != want {
		t.Errorf("piped output:\n%s\nwant:\n%s", r.out, want)
	}

	e.stdoutTTY = true
	r = e.mustRun("", "folders", "support")
	e.stdoutTTY = false
	t.Logf("on a terminal:\n%s", r.out)
	lines := strings.Split(r.out, "\n")
	if !strings.HasPrefix(lines[0], "PATH") || !strings.Contains(lines[0], "MESSAGES  UNREAD  USE") ||
		!strings.HasPrefix(lines[2], "Inbox/Endpoint        2         1") {
		t.Errorf("terminal table:\n%s", r.out)
	}

	r = e.mustRun("", "folders", "support", "--json")
	var res struct {
		Account, Protocol string
		Folders           []map[string]any
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	if res.Account != "support" || res.Protocol != "microsoft" || len(res.Folders) != 12 {
		t.Fatalf("--json: %+v", res)
	}
	if f := res.Folders[1]; f["path"] != "Inbox/Endpoint" || f["messages"] != 2.0 || f["unread"] != 1.0 || f["use"] != "" || f["selectable"] != true {
		t.Errorf("--json folder: %v", f)
	}
}

func TestFoldersDidYouMeanInFetchAndTest(t *testing.T) {
	e, _ := graphFolderEnv(t)

	r := e.run("", "fetch", "support", "--folder", "Inbox/Nope")
	t.Logf("fetch:\n%s", r.err)
	if r.code != 1 || !strings.Contains(r.err, `folder "Inbox/Nope" not found: no "Nope"; did you mean "Inbox/Notes"?`) {
		t.Errorf("fetch: exit %d\n%s", r.code, r.err)
	}
	r = e.run("", "fetch", "support", "--folder", "projects/2062")
	if r.code != 1 || !strings.Contains(r.err, `did you mean "Projects/2026"?`) {
		t.Errorf("fetch: exit %d\n%s", r.code, r.err)
	}
	// Nothing near: no suggestion at all.
	r = e.run("", "fetch", "support", "--folder", "Inbox/Quarterly reports")
	if r.code != 1 || strings.Contains(r.err, "did you mean") || !strings.Contains(r.err, `not found: no "Quarterly reports"`) {
		t.Errorf("fetch: exit %d\n%s", r.code, r.err)
	}

	r = e.mustRun("", "account", "edit", "support", "--folder", "Inbox/Endpont")
	if r.out != "Updated account \"support\"\n" || r.err != `warning: account support: folder "Inbox/Endpont" not found: no "Endpont"; did you mean "Inbox/Endpoint"? `+
		"(the account is saved; change it with `mailport account edit support --folder PATH`, see `mailport folders support`)\n" {
		t.Errorf("account edit --folder: %q %q", r.out, r.err)
	}
	r = e.run("", "test", "support", "--timeout", "5s")
	if r.code != 1 || !strings.Contains(r.out, `cannot open "Inbox/Endpont"; did you mean "Inbox/Endpoint"?`) {
		t.Errorf("test: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

func TestFoldersPOP3HasOneMailbox(t *testing.T) {
	pop := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	for i := 0; i < 3; i++ {
		pop.AddMessage([]byte(fmt.Sprintf("Subject: p%d\r\n\r\nbody\r\n", i)))
	}
	e := newEnv(t)
	host, port, _ := strings.Cut(pop.Addr(), ":")
	e.mustRun("pw", "account", "add", "legacy", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	r := e.mustRun("", "folders", "legacy")
	if r.out != "INBOX\t3\t-\tInbox\n" {
		t.Errorf("pop3: %q", r.out)
	}
	r = e.mustRun("", "folders", "legacy", "--json")
	if !strings.Contains(r.out, `"path": "INBOX",`) || !strings.Contains(r.out, `"messages": 3,`) || strings.Contains(r.out, `"unread"`) {
		t.Errorf("pop3 --json: %s", r.out)
	}
}

func TestFoldersRefusesOutboundAndUnknown(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "out", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1",
		"--encryption", "none", "--login", "o@example.com", "--password-stdin")
	r := e.run("", "folders", "out")
	if r.code != 2 || !strings.Contains(r.err, "account out is an outbound account; folders needs an inbound one") {
		t.Errorf("outbound: exit %d %q", r.code, r.err)
	}
	r = e.run("", "folders", "nobody")
	if r.code != 2 || !strings.Contains(r.err, `no account named "nobody"`) {
		t.Errorf("unknown: exit %d %q", r.code, r.err)
	}
	r = e.run("", "folders")
	if r.code != 2 {
		t.Errorf("no account: exit %d %q", r.code, r.err)
	}
}

// TestAccountFolderCheckStaysSilent: account add/edit --folder check the
// folder only when they can log in without asking; a server that is down,
// an account without a token yet, or an existing folder say nothing more.
func TestAccountFolderCheckStaysSilent(t *testing.T) {
	e, g := graphFolderEnv(t)
	r := e.mustRun("", "account", "edit", "support", "--folder", "Inbox/Endpoint")
	if r.err != "" {
		t.Errorf("an existing folder: %q", r.err)
	}
	// Signed in at the same fake, but no token stored for this account yet.
	r = e.mustRun("", "account", "add", "later", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL, "--folder", "Inbox/Nope")
	if r.err != "" {
		t.Errorf("no token yet: %q", r.err)
	}
	closed := freePort(t)
	start := time.Now()
	r = e.mustRun("pw", "account", "add", "down", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", closed, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true", "--folder", "Inbox/Nope")
	if r.err != "" || time.Since(start) > 5*time.Second {
		t.Errorf("a server that is down: %q after %s", r.err, time.Since(start))
	}
}
