package cmd

import (
	"os"
	"strings"
	"testing"
)

// The README's dependency notes say why each module is there: every direct
// require of go.mod has a row "| module version | why |", so a new
// dependency or an upgrade cannot slip in without its note.
func TestReadmeNotesEveryDirectDependency(t *testing.T) {
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, notes, ok := strings.Cut(string(readme), "\n## Dependency notes\n")
	if !ok {
		t.Fatal("README.md has no \"## Dependency notes\" section")
	}
	notes, _, _ = strings.Cut(notes, "\n## ")
	n := 0
	for _, req := range directRequires(string(gomod)) {
		n++
		row := "\n| " + req + " | "
		if !strings.Contains(notes, row) {
			t.Errorf("README.md's dependency notes have no row %q saying why go.mod requires it", strings.TrimSpace(row))
		}
	}
	if n < 10 {
		t.Fatalf("read only %d direct requires from go.mod", n)
	}
}

// directRequires lists "module version" of go.mod's requires without an
// "// indirect" comment, in block and single-line form.
func directRequires(gomod string) []string {
	var out []string
	inBlock := false
	for _, line := range strings.Split(gomod, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inBlock = true
			continue
		case inBlock && line == ")":
			inBlock = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inBlock:
			continue
		}
		if line == "" || strings.HasPrefix(line, "//") || strings.Contains(line, "// indirect") {
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 {
			out = append(out, f[0]+" "+f[1])
		}
	}
	return out
}
