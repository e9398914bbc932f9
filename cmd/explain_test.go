package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dg "github.com/mailport/mailport/pkg/diagnose"
	"github.com/mailport/mailport/pkg/oauth"
)

// TestExplainListsEveryEntry: `mailport explain` prints one line per
// catalog entry, its code and title, in the troubleshooting page's order;
// an entry another engineer adds to the catalog is listed without more.
func TestExplainListsEveryEntry(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("", "explain")
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) != len(dg.Catalog) {
		t.Fatalf("explain printed %d lines for %d entries:\n%s", len(lines), len(dg.Catalog), r.out)
	}
	for i, en := range dg.Catalog {
		if want := en.ID + "\t" + en.Title; lines[i] != want {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want)
		}
	}
	// On a terminal: aligned, with a header.
	e.stdoutTTY = true
	r = e.mustRun("", "explain")
	if !strings.HasPrefix(r.out, "CODE ") || !regexp.MustCompile(`(?m)^wrong-password +The server refused the password$`).MatchString(r.out) {
		t.Errorf("explain on a terminal:\n%s", r.out)
	}
}

// words is s with every run of white space one space: the wrapped text
// compared with the catalog's one-line paragraph.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestExplainPrintsCauseAndFix: `mailport explain CODE` prints what the
// user sees, the cause and the fix, for every entry, and a sign-in code
// as Microsoft prints it finds its entry.
func TestExplainPrintsCauseAndFix(t *testing.T) {
	e := newEnv(t)
	for _, en := range dg.Catalog {
		r := e.mustRun("", "explain", en.ID)
		if !strings.HasPrefix(r.out, en.ID+": "+en.Title+"\n") {
			t.Errorf("explain %s starts %q", en.ID, strings.SplitN(r.out, "\n", 2)[0])
		}
		for _, part := range []string{en.Message, en.Cause, en.Fix} {
			if !strings.Contains(words(r.out), words(part)) {
				t.Errorf("explain %s lacks %q:\n%s", en.ID, part, r.out)
			}
		}
		for _, line := range strings.Split(r.out, "\n") {
			if len(line) > 80 && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "    ") && strings.Contains(line[2:], " ") {
				t.Errorf("explain %s: line longer than 80 columns: %q", en.ID, line)
			}
		}
	}
	r := e.mustRun("", "explain", "AADSTS50079")
	if !strings.HasPrefix(r.out, "aadsts50076: ") || !strings.Contains(r.out, "https://aka.ms/mfasetup") {
		t.Errorf("explain AADSTS50079:\n%s", r.out)
	}
	// Every sign-in code of Microsoft's table finds the entry with its words.
	for _, a := range oauth.AADSTSTable() {
		for _, code := range a.Codes {
			r := e.mustRun("", "explain", fmt.Sprintf("AADSTS%d", code))
			if !strings.Contains(r.out, ": "+a.Title+"\n") || !strings.Contains(words(r.out), words(a.Fix)) {
				t.Errorf("explain AADSTS%d:\n%s", code, r.out)
			}
		}
	}
	// Upper case and the old link form work as well.
	if r := e.mustRun("", "explain", "docs/troubleshooting.md#TLS-EXPIRED"); !strings.HasPrefix(r.out, "tls-expired: ") {
		t.Errorf("explain of a troubleshooting link:\n%s", r.out)
	}
}

// TestExplainUnknownCode: exit 2, one sentence on stderr naming the
// closest codes, nothing on stdout.
func TestExplainUnknownCode(t *testing.T) {
	e := newEnv(t)
	for code, want := range map[string]string{
		"tls-expird": `error: no troubleshooting entry has the code "tls-expird"; did you mean tls-expired? (` + "`mailport explain`" + ` lists every code)` + "\n",
		"pasword":    `error: no troubleshooting entry has the code "pasword"; did you mean password-missing or wrong-password? (` + "`mailport explain`" + ` lists every code)` + "\n",
		"zzzz":       `error: no troubleshooting entry has the code "zzzz"; run ` + "`mailport explain`" + ` for the list of codes` + "\n",
	} {
		r := e.run("", "explain", code)
		if r.code != 2 || r.out != "" || r.err != want {
			t.Errorf("explain %s: exit %d, stdout %q, stderr\n%q\nwant\n%q", code, r.code, r.out, r.err, want)
		}
	}
	if r := e.run("", "explain", "a", "b"); r.code != 2 || !strings.Contains(r.err, "at most one CODE") {
		t.Errorf("explain a b: exit %d, %s", r.code, r.err)
	}
}

// TestExplainJSON: the entry as data, and every entry as an array.
func TestExplainJSON(t *testing.T) {
	e := newEnv(t)
	var one map[string]string
	if err := json.Unmarshal([]byte(e.mustRun("", "explain", "wrong-password", "--json").out), &one); err != nil {
		t.Fatal(err)
	}
	en := dg.EntryByID("wrong-password")
	if one["id"] != en.ID || one["title"] != en.Title || one["message"] != en.Message || one["cause"] != en.Cause || one["fix"] != en.Fix {
		t.Errorf("explain wrong-password --json = %v", one)
	}
	var all []map[string]string
	if err := json.Unmarshal([]byte(e.mustRun("", "explain", "--json").out), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(dg.Catalog) || all[0]["id"] != dg.Catalog[0].ID {
		t.Errorf("explain --json lists %d entries, want %d", len(all), len(dg.Catalog))
	}
	if r := e.run("", "explain", "nope", "--json"); r.code != 2 || r.out != "" {
		t.Errorf("explain nope --json: exit %d, stdout %q", r.code, r.out)
	}
}

// TestEveryFindingNamesAnExplainableCode: what `mailport test` prints
// under a failure is a command that works.
func TestEveryFindingNamesAnExplainableCode(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft() // not authenticated
	r := e.run("", "test", "support", "--timeout", "2s")
	codes := regexp.MustCompile(`(?m)^        see:   mailport explain ([a-z0-9-]+)$`).FindAllStringSubmatch(r.out, -1)
	if len(codes) == 0 || strings.Contains(r.out, "troubleshooting.md#") {
		t.Fatalf("test support printed no `see: mailport explain CODE` line:\n%s", r.out)
	}
	for _, c := range codes {
		if x := e.run("", "explain", c[1]); x.code != 0 || !strings.Contains(x.out, "Fix:") {
			t.Errorf("explain %s: exit %d\n%s%s", c[1], x.code, x.out, x.err)
		}
	}
}

// TestExplainFromABinaryBuiltOutsideTheRepo: a binary built elsewhere and
// run from a directory without docs/ still explains (the entries are
// compiled in, nothing is read from the repository).
func TestExplainFromABinaryBuiltOutsideTheRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mp")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	elsewhere := t.TempDir()
	run := exec.Command(bin, "explain", "tls-expired")
	run.Dir = elsewhere
	run.Env = append(os.Environ(), "HOME="+elsewhere, "XDG_CONFIG_HOME="+elsewhere, "MAILPORT_CONFIG="+filepath.Join(elsewhere, "none.yaml"))
	out, err := run.CombinedOutput()
	en := dg.EntryByID("tls-expired")
	if err != nil || !strings.HasPrefix(string(out), "tls-expired: "+en.Title) || !strings.Contains(words(string(out)), words(en.Fix)) {
		t.Fatalf("mp explain tls-expired from %s: %v\n%s", elsewhere, err, out)
	}
}

// TestExplainCompletesCodes: the shell completes CODE from the catalog.
func TestExplainCompletesCodes(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("", "__complete", "explain", "tls-")
	for _, id := range []string{"tls-on-plain-port", "tls-name-mismatch", "tls-expired", "tls-untrusted"} {
		if !strings.Contains(r.out, id+"\t") {
			t.Errorf("completion of tls- lacks %s:\n%s", id, r.out)
		}
	}
	if strings.Contains(r.out, "wrong-password") {
		t.Errorf("completion of tls- offers wrong-password:\n%s", r.out)
	}
}
