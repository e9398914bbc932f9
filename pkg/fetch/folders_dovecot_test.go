package fetch_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// deliverTo puts n messages into a folder of the world's user and returns
// their hashes.
func (w *world) deliverTo(folder string, n int) map[string]bool {
	w.t.Helper()
	return w.deliverTagged(folder, "", n)
}

// deliverTagged is deliverTo with tag in every message, so later
// deliveries differ from earlier ones.
func (w *world) deliverTagged(folder, tag string, n int) map[string]bool {
	w.t.Helper()
	hashes := map[string]bool{}
	for i := 0; i < n; i++ {
		raw := fmt.Sprintf("From: sender@example.com\r\nTo: %s\r\nSubject: %s %d\r\nMessage-ID: <%s%s-%d@example.test>\r\nDate: Thu, 26 Nov 2026 10:15:00 +0000\r\n\r\nbody %d of %s\r\n",
			w.user, folder, i, tag, strings.ReplaceAll(folder, "/", "."), i, i, folder)
		if _, err := w.b.DeliverTo(w.user, folder, "", strings.NewReader(raw)); err != nil {
			w.t.Fatal(err)
		}
		hashes[hexsum([]byte(raw))] = true
	}
	return hashes
}

// maildirHashes is dirHashes for a Maildir's new/ and cur/.
func maildirHashes(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[hexsum(b)]++
		}
	}
	return out
}

func summaryLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, ": fetched ") || strings.HasPrefix(l, "fetched ") {
			ls = append(ls, l)
		}
	}
	sort.Strings(ls)
	return ls
}

func TestDovecotSeveralFolders(t *testing.T) {
	b := bed.Get(t)
	w := newWorld(t, "folders", acct{name: "box", protocol: "imap", port: b.IMAPPort, encryption: "starttls"})
	for _, f := range []string{"INBOX/Endpoint", "INBOX/Endpoint/Deep", "Archive"} {
		if err := b.CreateFolder(w.user, f); err != nil {
			t.Fatal(err)
		}
	}
	inbox := w.deliverTo("INBOX", 1)
	endpoint := w.deliverTo("INBOX/Endpoint", 2)
	deep := w.deliverTo("INBOX/Endpoint/Deep", 3)
	archive := w.deliverTo("Archive", 1)

	// A pattern: every folder below INBOX, each in its own sub-directory.
	to := filepath.Join(w.dir, "eml")
	logins := func() int {
		log, err := os.ReadFile(b.DovecotLog)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(log), "Login: user=<"+w.user+">")
	}
	before := logins()
	r := w.mustRun("fetch", "box", "--to", to, "--folder", "Inbox/*")
	if n := logins() - before; n != 1 {
		t.Errorf("%d logins for two folders, want one connection for all", n)
	}
	want := []string{
		fmt.Sprintf("INBOX/Endpoint/Deep: fetched 3 messages (%s) into %s, 0 failed", "", filepath.Join(to, "INBOX", "Endpoint", "Deep")),
		fmt.Sprintf("INBOX/Endpoint: fetched 2 messages (%s) into %s, 0 failed", "", filepath.Join(to, "INBOX", "Endpoint")),
	}
	got := summaryLines(r.out)
	if len(got) != 2 || !strings.HasPrefix(got[0], want[0][:strings.Index(want[0], "(")]) || !strings.HasSuffix(got[0], want[0][strings.Index(want[0], ")"):]) ||
		!strings.HasPrefix(got[1], want[1][:strings.Index(want[1], "(")]) || !strings.HasSuffix(got[1], want[1][strings.Index(want[1], ")"):]) {
		t.Fatalf("summary lines %q, want like %q", got, want)
	}
	sameOnce(t, dirHashes(t, filepath.Join(to, "INBOX", "Endpoint", "Deep")), deep)
	// INBOX/Endpoint holds its messages and the Deep sub-directory.
	hashes := map[string]int{}
	ents, _ := os.ReadDir(filepath.Join(to, "INBOX", "Endpoint"))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") {
			raw, _ := os.ReadFile(filepath.Join(to, "INBOX", "Endpoint", e.Name()))
			hashes[hexsum(raw)]++
		}
	}
	sameOnce(t, hashes, endpoint)

	// Each folder keeps its own state: a rerun fetches nothing, a new
	// message in one folder is fetched from that folder only, and the
	// JSON has one summary per folder.
	more := w.deliverTagged("INBOX/Endpoint/Deep", "more-", 1)
	r = w.mustRun("fetch", "box", "--to", to, "--folder", "Inbox/*", "--json")
	sums := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["type"] == "summary" {
			sums[m["folder"].(string)] = m
		}
	}
	if len(sums) != 2 || sums["INBOX/Endpoint"]["fetched"] != float64(0) || sums["INBOX/Endpoint"]["skipped"] != float64(2) ||
		sums["INBOX/Endpoint/Deep"]["fetched"] != float64(1) || sums["INBOX/Endpoint/Deep"]["dir"] != filepath.Join(to, "INBOX", "Endpoint", "Deep") {
		t.Fatalf("--json summaries %v", sums)
	}
	for h := range more {
		deep[h] = true
	}
	sameOnce(t, dirHashes(t, filepath.Join(to, "INBOX", "Endpoint", "Deep")), deep)

	// Every folder as a Maildir++: INBOX is the Maildir itself, the
	// others its dot sub-folders; repeated --folder values are taken once.
	md := filepath.Join(w.dir, "maildir")
	// (--to with a trailing slash: INBOX is still the Maildir itself.)
	r = w.mustRun("fetch", "box", "--to", md+"/", "--format", "maildir", "--folder", "*", "--folder", "Archive")
	if n := len(summaryLines(r.out)); n != 4 {
		t.Fatalf("%d summary lines, want 4: %q", n, r.out)
	}
	sameOnce(t, maildirHashes(t, md), inbox)
	sameOnce(t, maildirHashes(t, filepath.Join(md, ".INBOX.Endpoint")), endpoint)
	sameOnce(t, maildirHashes(t, filepath.Join(md, ".INBOX.Endpoint.Deep")), deep)
	sameOnce(t, maildirHashes(t, filepath.Join(md, ".Archive")), archive)

	// One plain --folder keeps today's layout: the messages in --to itself.
	one := filepath.Join(w.dir, "one")
	r = w.mustRun("fetch", "box", "--to", one, "--folder", "INBOX/Endpoint")
	if got := summaryLines(r.out); len(got) != 1 || !strings.HasPrefix(got[0], "fetched 2 messages") {
		t.Fatalf("single folder: %q", r.out)
	}
	sameOnce(t, dirHashes(t, one), endpoint)

	// A pattern that matches nothing is an error naming it.
	r = w.run("fetch", "box", "--to", filepath.Join(w.dir, "none"), "--folder", "Nope/*")
	if r.code != 1 || !strings.Contains(r.err, `--folder "Nope/*" matches no folder on the server`) {
		t.Fatalf("no match: exit %d, stderr %q", r.code, r.err)
	}
}
