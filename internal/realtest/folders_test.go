package realtest

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/mail"
)

// TestFoldersOnDovecot lists a mailbox with subfolders and special-use
// folders through `mailport folders`, and checks that fetch, test and
// account edit answer a missing folder with the nearest existing ones.
func TestFoldersOnDovecot(t *testing.T) {
	b := bed.Get(t)
	for _, f := range []string{"INBOX/Endpoint", "INBOX/Notes", "Sent", "Trash", "Archive", "Projects/2026"} {
		if err := b.CreateFolder(dana, f); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(folder, flags string) {
		t.Helper()
		if _, err := b.DeliverTo(dana, folder, flags, strings.NewReader("Subject: x\r\n\r\nbody\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	deliver("", "")
	deliver("INBOX/Endpoint", "")
	deliver("INBOX/Endpoint", "S")
	deliver("INBOX/Endpoint", "S")
	deliver("Sent", "S")

	c := newCLI(t)
	c.mustRun(password(dana), "account", "add", "dana", "--type", "inbound", "--protocol", "imap", "--host", b.Host,
		"--port", strconv.Itoa(b.IMAPSPort), "--encryption", "ssl", "--login", dana, "--password-stdin", "--property", "tls_ca_file="+b.CAFile)

	r := c.mustRun("", "folders", "dana")
	t.Logf("mailport folders dana:\n%s", r.out)
	want := "INBOX\t1\t1\tInbox\n" +
		"INBOX/Endpoint\t3\t1\t\n" +
		"INBOX/Notes\t0\t0\t\n" +
		"Archive\t0\t0\tArchive\n" +
		"Projects\t-\t-\t\n" +
		"Projects/2026\t0\t0\t\n" +
		"Sent\t1\t0\tSent\n" +
		"Trash\t0\t0\tTrash\n"
	if r.out != want {
		t.Errorf("folders on Dovecot:\n%s\nwant:\n%s", r.out, want)
	}
	if out := os.Getenv("MAILPORT_FOLDERS_OUT"); out != "" {
		os.WriteFile(out, []byte("$ mailport folders dana   # Dovecot "+b.Addr(b.IMAPSPort)+", piped\n"+r.out), 0o644)
	}
	r = c.mustRun("", "folders", "dana", "--json")
	var res struct {
		Folders []mail.FolderInfo `json:"folders"`
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || len(res.Folders) != 8 {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	if p := res.Folders[4]; p.Path != "Projects" || p.Selectable || p.Messages != nil {
		t.Errorf("--json: Projects is %+v, want a level that cannot be selected, without counts", p)
	}

	r = c.run("", "fetch", "dana", "--folder", "INBOX/Nope", "--to", t.TempDir())
	if r.code != 1 || !strings.Contains(r.err, `folder "INBOX/Nope" not found: no "Nope"; did you mean "INBOX/Notes"?`) {
		t.Errorf("fetch a missing folder: exit %d\n%s", r.code, r.err)
	}
	r = c.run("", "fetch", "dana", "--folder", "Inbox/endpoint", "--to", t.TempDir())
	if r.code != 1 || !strings.Contains(r.err, `did you mean "INBOX/Endpoint"?`) {
		t.Errorf("fetch a folder in the wrong case: exit %d\n%s", r.code, r.err)
	}

	r = c.mustRun("", "account", "edit", "dana", "--folder", "Projects/2062")
	if !strings.Contains(r.err, `folder "Projects/2062" not found: no "2062"; did you mean "Projects/2026"?`) {
		t.Errorf("account edit --folder: stderr %q", r.err)
	}
	r = c.run("", "test", "dana", "--timeout", "10s")
	if r.code != 1 || !strings.Contains(r.out, `cannot open "Projects/2062"; did you mean "Projects/2026"?`) {
		t.Errorf("test: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	r = c.mustRun("", "account", "edit", "dana", "--folder", "Projects/2026")
	if r.err != "" {
		t.Errorf("account edit --folder of an existing folder warns: %q", r.err)
	}
}
