package diagnose

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth"
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

// TestCatalogCarriesTheAADSTSTable: every code of oauth's AADSTS table
// leads to an entry with the table's words, and the ids that existed
// before the table (anchors, --json) are still there.
func TestCatalogCarriesTheAADSTSTable(t *testing.T) {
	for _, a := range oauth.AADSTSTable() {
		for _, code := range a.Codes {
			e := Lookup(&Evidence{Check: "token", Provider: "microsoft", AADSTS: code, Text: a.Message})
			if e == nil {
				t.Errorf("AADSTS%d: no entry", code)
				continue
			}
			if e.Title != a.Title || e.Message != a.Message || e.Cause != a.Cause || e.Fix != a.Fix {
				t.Errorf("AADSTS%d: entry %s does not carry the table's words", code, e.ID)
			}
		}
	}
	for _, id := range []string{"aadsts50194", "client-secret-expiring", "aadsts7000215", "public-confidential-client",
		"aadsts700016", "aadsts90002", "aadsts50011", "aadsts65001", "aadsts50059", "aadsts70043", "aadsts700082",
		"aadsts50173", "aadsts70000"} {
		if EntryByID(id) == nil {
			t.Errorf("entry %s is gone", id)
		}
	}
	// The catalog's own evidence for two of them, besides the code.
	if e := Lookup(&Evidence{Check: "config", Reason: "secret-expiry", Text: "the client secret of token config ms expires on 2027-01-01"}); e == nil || e.ID != "client-secret-expiring" {
		t.Errorf("secret_expires warning: entry %v", e)
	}
	if e := Lookup(&Evidence{Check: "token", OAuthCode: "consent_required"}); e == nil || e.ID != "aadsts65001" {
		t.Errorf("consent_required: entry %v", e)
	}
}

// TestDocsLinkToEntriesThatExist: every link into the troubleshooting
// page from the other docs (docs/providers/microsoft.md points at the
// AADSTS entries instead of copying them) lands on a catalog entry.
func TestDocsLinkToEntriesThatExist(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, f := range append(files, "../../README.md") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`troubleshooting\.md#([a-z0-9-]+)`).FindAllStringSubmatch(string(raw), -1) {
			links++
			if EntryByID(m[1]) == nil {
				t.Errorf("%s links to troubleshooting.md#%s, which is no catalog entry", f, m[1])
			}
		}
	}
	if links < 13 {
		t.Fatalf("found %d links into the troubleshooting page; docs/providers/microsoft.md alone has 13", links)
	}
}
