package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// A POP3 server that gives one UIDL to several messages: every message is
// fetched (none is skipped as "already there"), the user is warned once,
// a rerun fetches nothing twice, and --delete removes every one.
func TestFetchPOP3DuplicateUIDLs(t *testing.T) {
	srv := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	srv.AddMessageUID("dup", []byte("Subject: first\r\n\r\n1\r\n"))
	srv.AddMessageUID("dup", []byte("Subject: second\r\n\r\n22\r\n"))
	srv.AddMessageUID("dup", []byte("Subject: third\r\n\r\n333\r\n"))
	e := newEnv(t)
	host, port, _ := strings.Cut(srv.Addr(), ":")
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", host, "--port", port, "--encryption", "none",
		"--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	to := filepath.Join(e.dir, "in")

	r := e.run("", "fetch", "box", "--to", to)
	if r.code != 0 || !strings.Contains(r.out, "fetched 3 messages") {
		t.Fatalf("exit %d stdout %q stderr %q, want all 3 fetched", r.code, r.out, r.err)
	}
	warning := "warning: box: the POP3 server " + srv.Addr() + " gave 2 messages a UIDL that an earlier message already has (RFC 1939 requires unique ones); each is fetched under a derived id UIDL#N.SIZE so none is skipped\n"
	if strings.Count(r.err, warning) != 1 {
		t.Errorf("stderr %q\nwant the warning once: %q", r.err, warning)
	}
	ents, err := os.ReadDir(to)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, ent := range ents {
		if b, err := os.ReadFile(filepath.Join(to, ent.Name())); err == nil && strings.HasSuffix(ent.Name(), ".eml") {
			subjects = append(subjects, strings.SplitN(string(b), "\r\n", 2)[0])
		}
	}
	if len(subjects) != 3 {
		t.Errorf("files hold %q, want the three messages", subjects)
	}

	r = e.run("", "fetch", "box", "--to", to)
	if r.code != 0 || !strings.Contains(r.out, "fetched 0 messages") {
		t.Fatalf("rerun: exit %d stdout %q stderr %q, want nothing fetched twice", r.code, r.out, r.err)
	}

	// Into a new directory with --delete: each copy is fetched and deleted.
	r = e.run("", "fetch", "box", "--to", filepath.Join(e.dir, "new"), "--delete")
	if r.code != 0 || !strings.Contains(r.out, "fetched 3 messages") {
		t.Fatalf("--delete: exit %d stdout %q stderr %q", r.code, r.out, r.err)
	}
	if n := len(srv.UIDs()); n != 0 {
		t.Errorf("%d messages left on the server after --delete", n)
	}
}
