package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// Several Graph folders by name: one sub-directory, one state and one
// summary each; a missing --move-to folder stops the run first; a pattern
// is matched against the Graph folder listing.
func TestFetchGraphSeveralFoldersAndMoveToCheck(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	g.AddFolder("support@contoso.com", "Inbox/Endpoint")
	g.AddFolder("support@contoso.com", "Archive")
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: in inbox\r\n\r\nbody\r\n"))
	g.AddMessage("support@contoso.com", "Inbox/Endpoint", []byte("Subject: e1\r\n\r\nbody\r\n"))
	g.AddMessage("support@contoso.com", "Inbox/Endpoint", []byte("Subject: e2\r\n\r\nbody\r\n"))

	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID,
		"--scopes", "user.read mail.readwrite openid email offline_access")
	e.mustRun("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL)
	e.mustRun("", "authenticate", "support", "--timeout", "20s")
	to := filepath.Join(e.dir, "in")

	r := e.run("", "fetch", "support", "--to", to, "--move-to", "Archive/Nope")
	if r.code != 1 || r.out != "" || r.err != "error: fetch support: the --move-to folder \"Archive/Nope\" does not exist on the server (it has no \"Nope\"); create it or name an existing folder; nothing was fetched\n" {
		t.Fatalf("missing --move-to: exit %d %q %q", r.code, r.out, r.err)
	}
	if n := len(g.Messages("support@contoso.com", "Inbox")); n != 1 {
		t.Fatalf("%d left in Inbox", n)
	}

	r = e.mustRun("", "fetch", "support", "--to", to, "--folder", "Inbox", "--folder", "Inbox/Endpoint", "--move-to", "Archive")
	for _, want := range []string{
		"Inbox: fetched 1 message (", "into " + filepath.Join(to, "Inbox") + ", 0 failed\n",
		"Inbox/Endpoint: fetched 2 messages (", "into " + filepath.Join(to, "Inbox", "Endpoint") + ", 0 failed\n",
	} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("output %q lacks %q", r.out, want)
		}
	}
	emls := func(dir string) int {
		ents, _ := os.ReadDir(dir)
		n := 0
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".eml") {
				n++
			}
		}
		return n
	}
	if emls(filepath.Join(to, "Inbox")) != 1 || emls(filepath.Join(to, "Inbox", "Endpoint")) != 2 || emls(to) != 0 {
		t.Fatalf("files: %d in Inbox, %d in Inbox/Endpoint, %d in the root", emls(filepath.Join(to, "Inbox")), emls(filepath.Join(to, "Inbox", "Endpoint")), emls(to))
	}
	if n := len(g.Messages("support@contoso.com", "Archive")); n != 3 {
		t.Fatalf("%d moved to Archive", n)
	}

	r = e.mustRun("", "--json", "fetch", "support", "--to", to, "--folder", "Inbox", "--folder", "Inbox/Endpoint")
	var folders []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] == "summary" {
			folders = append(folders, m["folder"].(string)+"="+m["dir"].(string))
		}
	}
	if strings.Join(folders, " ") != "Inbox="+filepath.Join(to, "Inbox")+" Inbox/Endpoint="+filepath.Join(to, "Inbox", "Endpoint") {
		t.Fatalf("--json summaries: %v", folders)
	}

	g.AddMessage("support@contoso.com", "Inbox/Endpoint", []byte("Subject: e3\r\n\r\nbody\r\n"))
	r = e.mustRun("", "fetch", "support", "--to", to, "--folder", "Inbox/*")
	if !strings.Contains(r.out, "Inbox/Endpoint: fetched 1 message (") || strings.Contains(r.out, "Archive") {
		t.Fatalf("pattern on Graph: %q", r.out)
	}
	if emls(filepath.Join(to, "Inbox", "Endpoint")) != 3 {
		t.Fatalf("%d files in Inbox/Endpoint after the pattern", emls(filepath.Join(to, "Inbox", "Endpoint")))
	}
	r = e.run("", "fetch", "support", "--to", to, "--folder", "Nope/*")
	if r.code != 1 || !strings.Contains(r.err, `--folder "Nope/*" matches no folder on the server`) {
		t.Fatalf("pattern matching nothing: exit %d %q", r.code, r.err)
	}
}
