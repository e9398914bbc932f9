package cmd

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// gopkg.in/yaml.v3 is frozen at v3.0.1; mailport uses its maintained home,
// go.yaml.in/yaml/v3, which has the same Node API. Neither go.mod nor any
// Go file may bring the old path back (a copied snippet would compile
// silently, adding a second YAML library).
func TestNoFrozenYAMLImportPath(t *testing.T) {
	const old = "gopkg.in/yaml.v3"
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range directRequires(string(gomod)) {
		if strings.HasPrefix(req, old+" ") {
			t.Errorf("go.mod requires %s: use go.yaml.in/yaml/v3, its maintained home", req)
		}
	}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == strconv.Quote(old) {
				t.Errorf("%s imports %s: import go.yaml.in/yaml/v3, its maintained home", path, old)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
