package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manDir is docs/man seen from this package's directory, where go test runs.
var manDir = filepath.Join("..", "..", "docs", "man")

// TestManPagesUpToDate fails when a command, flag or help text changed
// without `make docs`.
func TestManPagesUpToDate(t *testing.T) {
	problems, err := diff(newRoot(), manDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("docs/man is stale; run `make docs` and commit docs/man:\n  %s", strings.Join(problems, "\n  "))
	}
}

// TestDiffFindsEveryKindOfStaleness makes sure the check above can fail:
// a changed, a missing and a left-over page are each reported, and
// writeDir repairs all three.
func TestDiffFindsEveryKindOfStaleness(t *testing.T) {
	dir := t.TempDir()
	n, err := writeDir(newRoot(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("wrote %d pages; want one per command, at least mailport.1 and one subcommand", n)
	}
	if problems := mustDiff(t, dir); len(problems) != 0 {
		t.Fatalf("fresh pages reported stale: %v", problems)
	}

	if err := os.WriteFile(filepath.Join(dir, "mailport.1"), []byte(".TH edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "mailport-version.1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mailport-gone.1"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mailport-gone.1: no such command any more",
		"mailport-version.1: missing",
		"mailport.1: out of date",
	}
	if got := mustDiff(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("diff = %q\nwant  %q", got, want)
	}

	if _, err := writeDir(newRoot(), dir); err != nil {
		t.Fatal(err)
	}
	if problems := mustDiff(t, dir); len(problems) != 0 {
		t.Fatalf("after regenerating, still stale: %v", problems)
	}
	if _, err := os.Stat(filepath.Join(dir, "mailport-gone.1")); !os.IsNotExist(err) {
		t.Fatalf("the page of a removed command was kept (stat: %v)", err)
	}
}

func mustDiff(t *testing.T, dir string) []string {
	t.Helper()
	problems, err := diff(newRoot(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return problems
}

// TestPagesSayWhatHelpSays checks, for every command of the real tree,
// that its page has our header and carries its usage line, summary,
// description, examples and every flag's help in the words --help prints.
func TestPagesSayWhatHelpSays(t *testing.T) {
	got, err := pages(newRoot())
	if err != nil {
		t.Fatal(err)
	}
	pristine := newRoot() // unescaped texts, as --help shows them
	count := 0
	visit(pristine, func(c *cobra.Command) {
		count++
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, ok := got[name]
		if !ok {
			t.Errorf("no man page %s for `%s`", name, c.CommandPath())
			return
		}
		checkPage(t, name, string(page), c)
	})
	if len(got) != count {
		t.Errorf("%d pages for %d commands", len(got), count)
	}
}

func checkPage(t *testing.T, name, page string, c *cobra.Command) {
	t.Helper()
	first, _, _ := strings.Cut(strings.TrimPrefix(page, ".nh\n"), "\n")
	title := strings.ToUpper(strings.TrimSuffix(name, ".1"))
	if want := `.TH "` + title + `" "1" "" "mailport" "mailport manual"`; first != want {
		t.Errorf("%s: header %q, want %q (no date, so pages stay stable)", name, first, want)
	}
	if strings.Contains(page, "Auto generated") {
		t.Errorf("%s: has cobra's auto-generated footer", name)
	}
	text := words(deroff(page))
	expect := func(what, s string) {
		if w := words(strings.ReplaceAll(s, "`", "")); w != "" && !strings.Contains(text, w) {
			t.Errorf("%s: the %s is not on the page as --help prints it:\n  want %q\n  page %q", name, what, w, text)
		}
	}
	expect("usage line", c.UseLine())
	expect("summary", c.Short)
	expect("description", c.Long)
	expect("example", c.Example)
	c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			expect("help of --"+f.Name, f.Usage)
		}
	})
}

// TestEachPageIsTitledByItsCommand checks that man(1) and whatis show
// MAILPORT-FETCH(1) on the page of `mailport fetch`, not MAILPORT(1) on
// every page.
func TestEachPageIsTitledByItsCommand(t *testing.T) {
	got, err := pages(newRoot())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"mailport.1":             "MAILPORT",
		"mailport-fetch.1":       "MAILPORT-FETCH",
		"mailport-account-add.1": "MAILPORT-ACCOUNT-ADD",
		"mailport-version.1":     "MAILPORT-VERSION",
	}
	for name, title := range want {
		page, ok := got[name]
		if !ok {
			t.Errorf("no page %s", name)
			continue
		}
		th := thLine(string(page))
		if !strings.HasPrefix(th, `.TH "`+title+`" "1" `) {
			t.Errorf("%s: .TH line %q does not name %s(1)", name, th, title)
		}
	}
	// And the committed pages, which is what users install.
	for name, title := range want {
		page, err := os.ReadFile(filepath.Join(manDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if th := thLine(string(page)); !strings.HasPrefix(th, `.TH "`+title+`" "1" `) {
			t.Errorf("docs/man/%s: .TH line %q does not name %s(1); run `make docs`", name, th, title)
		}
	}
}

func thLine(page string) string {
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, ".TH ") {
			return line
		}
	}
	return ""
}

// TestEscaping runs a command whose help text is full of what Markdown
// would eat or restyle, the kind a new command may bring.
func TestEscaping(t *testing.T) {
	root := &cobra.Command{Use: "mailport <command>", Short: "root"}
	long := "Set MAILPORT_PASSWORD_<ACCOUNT> or *not* [this](x) & that | other.\n" +
		"# not a heading\n" +
		"- not a list\n" +
		"1. not a list either\n" +
		"Run `mailport fetch` with a\\b path.\n" +
		"\n" +
		"Table:\n" +
		"  left    right_side  <kept>\n" +
		"  second  row\n" +
		"After the table."
	sub := &cobra.Command{
		Use:   "fetch ACCOUNT [--to DIR] <x|y>",
		Short: "Fetch into a_b_c",
		Long:  long,
		Run:   func(*cobra.Command, []string) {},
	}
	sub.Flags().String("to", "", "target `DIR` (default <hold_dir>)")
	root.AddCommand(sub)

	got, err := pages(root)
	if err != nil {
		t.Fatal(err)
	}
	page := string(got["mailport-fetch.1"])
	text := words(deroff(page))
	for _, want := range []string{
		"mailport fetch ACCOUNT [--to DIR] <x|y> [flags]",
		"mailport-fetch - Fetch into a_b_c",
		"Set MAILPORT_PASSWORD_<ACCOUNT> or *not* [this](x) & that | other.",
		"# not a heading - not a list 1. not a list either",
		"Run mailport fetch with a\\b path.",
		"target DIR (default <hold_dir>)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	// The indented table keeps its layout: it is a literal block.
	for _, want := range []string{".EX\n  left    right_side  <kept>\n  second  row\n.EE"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks the literal block %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `\fI`) {
		t.Errorf("page has italics, so some underscore or star was taken as Markdown:\n%s", page)
	}
	if _, ok := got["mailport.1"]; !ok {
		t.Errorf("no page for the root command; got %v", sortedKeys(got))
	}

	// Preparing again (as a second pages call does) must not escape twice.
	again, err := pages(root)
	if err != nil {
		t.Fatal(err)
	}
	if string(again["mailport-fetch.1"]) != page {
		t.Errorf("a second render differs from the first:\n%s", again["mailport-fetch.1"])
	}
}

func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			visit(sub, fn)
		}
	}
}

// deroff turns a page back into the text a reader sees: request lines
// (.PP, .EX, ...) and font changes dropped, escapes resolved.
func deroff(page string) string {
	var b strings.Builder
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, ".") {
			if h, ok := strings.CutPrefix(line, ".SH "); ok {
				b.WriteString(h + "\n")
			}
			continue
		}
		for i := 0; i < len(line); i++ {
			if line[i] != '\\' || i+1 == len(line) {
				b.WriteByte(line[i])
				continue
			}
			i++
			switch line[i] {
			case 'f':
				i++ // \fB, \fI, \fP, \fR
			case '&':
			case '-', '\\':
				b.WriteByte(line[i])
			case 'e':
				b.WriteByte('\\')
			default:
				b.WriteByte('\\')
				b.WriteByte(line[i])
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func words(s string) string { return strings.Join(strings.Fields(s), " ") }
