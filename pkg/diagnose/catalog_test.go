package diagnose

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/troubleshooting.md's entries and the golden files")

const docFile = "../../docs/troubleshooting.md"

// docMarker separates the hand-written part of the page from the entries,
// which RenderMarkdown writes from the catalog.
const docMarker = "<!-- The entries below are the catalog of pkg/diagnose; `go test ./pkg/diagnose -update` rewrites them. -->\n"

// TestTroubleshootingPageListsExactlyTheCatalog keeps docs/troubleshooting.md
// and Catalog in step: the same entries, in the same order, with the same
// message, cause and fix.
func TestTroubleshootingPageListsExactlyTheCatalog(t *testing.T) {
	raw, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	head, _, ok := strings.Cut(doc, docMarker)
	if !ok {
		t.Fatalf("%s lacks the marker line %q", docFile, docMarker)
	}
	want := head + docMarker + "\n" + RenderMarkdown()
	if *update {
		if err := os.WriteFile(docFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The anchors on the page, independently of the rendering.
	var ids []string
	for _, m := range regexp.MustCompile(`<a id="([a-z0-9-]+)"></a>`).FindAllStringSubmatch(doc, -1) {
		ids = append(ids, m[1])
	}
	var cat []string
	for _, e := range Catalog {
		cat = append(cat, e.ID)
	}
	if strings.Join(ids, " ") != strings.Join(cat, " ") {
		t.Fatalf("entries on the page:\n%v\ncatalog:\n%v", ids, cat)
	}
	if doc != want {
		t.Fatalf("%s differs from the catalog's words: run go test ./pkg/diagnose -update", docFile)
	}
}

func TestCatalogEntriesAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Catalog {
		if !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(e.ID) || seen[e.ID] {
			t.Errorf("entry id %q is not unique lower-case words", e.ID)
		}
		seen[e.ID] = true
		if e.Title == "" || e.Message == "" || e.Cause == "" || e.Fix == "" || e.match == nil {
			t.Errorf("entry %s lacks a field", e.ID)
		}
		if strings.Contains(e.Cause+e.Fix, "\n") {
			t.Errorf("entry %s: cause and fix are one paragraph each", e.ID)
		}
	}
}
