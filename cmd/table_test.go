package cmd

import (
	"os"
	"strings"
	"testing"
)

// On a terminal, `account list`, `token-config list` and `status` print a
// header and columns aligned under it; piped, the same cells tab-separated
// with no header, for scripts.
func TestListTablesOnATerminalAndPiped(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("pw", "account", "add", "ci-mailbox", "--type", "inbound", "--protocol", "imap", "--host", "imap.example.com", "--login", "ci@example.com", "--password-stdin")
	e.mustRun("", "token-config", "add", "gmail", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com", "--inbound=false")
	for _, tt := range []struct {
		args   []string
		header []string
		rows   int
	}{
		{[]string{"account", "list"}, []string{"NAME", "ENABLED", "TYPE", "PROTOCOL", "SERVER", "AUTH", "LOGIN", "TOKEN CONFIG"}, 2},
		{[]string{"token-config", "list"}, []string{"NAME", "PROVIDER", "FLOW", "CLIENT ID", "DIRECTION", "SECRET", "USED BY"}, 2},
		{[]string{"status"}, []string{"ACCOUNT", "STATE", "USER", "EXPIRES", "SCOPES"}, 2},
	} {
		name := strings.Join(tt.args, " ")
		e.stdoutTTY = false
		piped := e.mustRun("", tt.args...)
		e.stdoutTTY = true
		term := e.mustRun("", tt.args...)
		e.stdoutTTY = false

		want := strings.Split(strings.TrimSuffix(piped.out, "\n"), "\n")
		if len(want) != tt.rows {
			t.Fatalf("%s piped: %d lines, want %d rows and no header:\n%s", name, len(want), tt.rows, piped.out)
		}
		if strings.HasPrefix(piped.out, tt.header[0]) {
			t.Errorf("%s piped starts with a header:\n%s", name, piped.out)
		}
		lines := strings.Split(strings.TrimSuffix(term.out, "\n"), "\n")
		if len(lines) != tt.rows+1 {
			t.Fatalf("%s on a terminal: %d lines, want a header and %d rows:\n%s", name, len(lines), tt.rows, term.out)
		}
		if strings.Contains(term.out, "\t") {
			t.Errorf("%s on a terminal has tabs, not aligned columns:\n%s", name, term.out)
		}
		// The header's words mark where each column starts.
		starts := make([]int, len(tt.header))
		at := 0
		for i, h := range tt.header {
			j := strings.Index(lines[0][at:], h)
			if j < 0 || (i == 0 && j != 0) {
				t.Fatalf("%s: header %q lacks column %q in order", name, lines[0], h)
			}
			starts[i] = at + j
			at = starts[i] + len(h)
			if i > 0 && !strings.HasSuffix(lines[0][:starts[i]], "  ") {
				t.Errorf("%s: header column %q is not set off by two spaces: %q", name, h, lines[0])
			}
		}
		if got := strings.Join(strings.Fields(lines[0]), " "); got != strings.Join(tt.header, " ") {
			t.Errorf("%s: header %q, want the columns %q", name, lines[0], tt.header)
		}
		// Each row holds the piped row's cells, each starting under its header.
		for r, line := range lines[1:] {
			cells := strings.Split(want[r], "\t")
			if len(cells) != len(tt.header) {
				t.Fatalf("%s piped row %q has %d cells, want %d", name, want[r], len(cells), len(tt.header))
			}
			for i, start := range starts {
				end := len(line)
				if i+1 < len(starts) {
					end = min(starts[i+1], len(line))
				}
				got := ""
				if start < len(line) {
					got = strings.TrimRight(line[start:end], " ")
				}
				if got != cells[i] {
					t.Errorf("%s row %d column %s: %q under the header, want %q (the piped cell)\n%s", name, r+1, tt.header[i], got, cells[i], term.out)
				}
				if i > 0 && cells[i] != "" && !strings.HasSuffix(line[:start], "  ") {
					t.Errorf("%s row %d: column %s does not start at column %d:\n%s", name, r+1, tt.header[i], start, term.out)
				}
			}
		}
	}
}

// An empty list on a terminal says how to add the first entry, on stderr;
// piped, it prints nothing at all.
func TestEmptyListsOnATerminal(t *testing.T) {
	e := newEnv(t)
	if err := os.WriteFile(e.config, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		hint string
	}{
		{[]string{"account", "list"}, "No accounts yet. Add one with `mailport account add NAME`.\n"},
		{[]string{"token-config", "list"}, "No token configs yet. Add one with `mailport token-config add NAME --provider P --client-id ID`.\n"},
	} {
		e.stdoutTTY = true
		r := e.mustRun("", tt.args...)
		if r.out != "" || r.err != tt.hint {
			t.Errorf("%v on a terminal: stdout %q stderr %q, want only the hint %q", tt.args, r.out, r.err, tt.hint)
		}
		e.stdoutTTY = false
		if r := e.mustRun("", tt.args...); r.out != "" || r.err != "" {
			t.Errorf("%v piped: stdout %q stderr %q, want nothing", tt.args, r.out, r.err)
		}
	}
}
