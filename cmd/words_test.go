package cmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mailport/mailport/cmd/cmdutil"
	dg "github.com/mailport/mailport/pkg/diagnose"
)

// insiderWords are references to the documents mailport was designed from,
// which users do not have: what users read speaks of Microsoft's,
// Google's or mailport's own behaviour instead.
var insiderWords = regexp.MustCompile(`(?i)\bseed'?s?\b|product guide|\bthe guide\b|\bguide's\b`)

// TestUserFacingWordsNameNoDesignDocuments greps what users read: the help
// of every command and flag, the troubleshooting catalog, docs/ (man
// pages included) and the README.
func TestUserFacingWordsNameNoDesignDocuments(t *testing.T) {
	found := func(where, text string) {
		t.Helper()
		for _, line := range strings.Split(text, "\n") {
			if m := insiderWords.FindString(line); m != "" {
				t.Errorf("%s says %q: %s", where, m, strings.TrimSpace(line))
			}
		}
	}
	for _, c := range allCommands(NewCmdRoot(cmdutil.NewFactory())) {
		where := "mailport " + strings.TrimPrefix(c.CommandPath(), "mailport ")
		found(where+" (help)", c.Short+"\n"+c.Long+"\n"+c.Example)
		c.Flags().VisitAll(func(fl *pflag.Flag) { found(where+" --"+fl.Name, fl.Usage) })
	}
	for _, e := range dg.Catalog {
		found("catalog entry "+e.ID, strings.Join([]string{e.Title, e.Message, e.Cause, e.Fix}, "\n"))
	}
	files := []string{"../README.md"}
	err := filepath.WalkDir("../docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %v under docs/", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found(strings.TrimPrefix(f, "../"), string(b))
	}
}

// countNoun is a count printed straight before a plural noun: "%d
// messages" reads "1 messages" for one. A limit ("longer than %d bytes")
// is never one, and may stay.
var countNoun = regexp.MustCompile(`%d (messages|days|checks|warnings|accounts|token configs|retries|octets|bytes|files|entries|seconds|minutes|hours|capabilities|failures)\b`)

// TestCountsUseThePluralHelper: every count+noun users read in cmd/ and
// pkg/ goes through internal/plural, so none says "1 messages".
func TestCountsUseThePluralHelper(t *testing.T) {
	for _, root := range []string{"../cmd", "../pkg"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "test/") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				for _, loc := range countNoun.FindAllStringIndex(line, -1) {
					if !strings.HasSuffix(line[:loc[0]], "than ") {
						t.Errorf("%s:%d prints %q: use plural.Of", path, i+1, line[loc[0]:loc[1]])
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
