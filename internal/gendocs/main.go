// Command gendocs writes mailport's man pages, one per command, from the
// Cobra command tree, so the pages can never describe flags the binary does
// not have. `make docs` runs it; the release build runs it before archiving.
//
// Usage:
//
//	go run ./internal/gendocs [-dir docs/man]
//
// The output is deterministic: no generation date and no "auto generated"
// footer, so a stale page shows up as a diff (and fails this package's test)
// rather than churning on every run.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/mailport/mailport/cmd"
	"github.com/mailport/mailport/cmd/cmdutil"
)

// section is the man section every page is written for (user commands).
const section = "1"

// dateSentinel is handed to cobra/doc, which always stamps a month into the
// .TH line; render blanks it out again so the pages do not change with the
// calendar.
var dateSentinel = time.Date(1970, time.January, 1, 0, 0, 0, 0, time.UTC)

func main() {
	dir := flag.String("dir", filepath.Join("docs", "man"), "write the man pages into `DIR` (created if missing; stale pages removed)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "gendocs: unexpected argument %q; usage: gendocs [-dir DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	n, err := writeDir(newRoot(), *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs: "+err.Error())
		os.Exit(1)
	}
	fmt.Printf("gendocs: wrote %d man pages to %s\n", n, *dir)
}

// newRoot builds the real command tree. The environment is hidden from it
// so that no default printed in a page depends on who ran the generator.
func newRoot() *cobra.Command {
	f := cmdutil.NewFactory()
	f.Getenv = func(string) string { return "" }
	return cmd.NewCmdRoot(f)
}

// pages renders one man page per available command under root, keyed by
// file name (e.g. "mailport-account-add.1").
func pages(root *cobra.Command) (map[string][]byte, error) {
	prepare(root)
	out := make(map[string][]byte)
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if c != root && (!c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand()) {
			return nil
		}
		c.DisableAutoGenTag = true
		page, err := render(c)
		if err != nil {
			return fmt.Errorf("render the man page of %q: %w", c.CommandPath(), err)
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + "." + section
		if _, dup := out[name]; dup {
			return fmt.Errorf("two commands map to the man page %s; rename one of them", name)
		}
		out[name] = page
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return out, nil
}

// render is cobra/doc's man page for c with our header and without a date.
func render(c *cobra.Command) ([]byte, error) {
	date := dateSentinel
	header := &doc.GenManHeader{
		Title:   manTitle(c),
		Section: section,
		Date:    &date,
		Source:  "mailport",
		Manual:  "mailport manual",
	}
	var buf bytes.Buffer
	if err := doc.GenMan(c, header, &buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	stamp := []byte(` "` + dateSentinel.Format("Jan 2006") + `" `)
	th := bytes.Index(b, []byte(".TH "))
	if th < 0 {
		return nil, fmt.Errorf("cobra/doc produced no .TH line")
	}
	eol := bytes.IndexByte(b[th:], '\n')
	if eol < 0 {
		eol = len(b) - th
	}
	line := b[th : th+eol]
	if !bytes.Contains(line, stamp) {
		return nil, fmt.Errorf("cobra/doc's .TH line %q has no date to blank out; its format changed", line)
	}
	fixed := bytes.Replace(line, stamp, []byte(` "" `), 1)
	return append(append(append([]byte{}, b[:th]...), fixed...), b[th+eol:]...), nil
}

// manTitle is the .TH title of c's page: its command path in capitals,
// joined by hyphens like the page's file name, e.g. "MAILPORT-ACCOUNT-ADD".
func manTitle(c *cobra.Command) string {
	return strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "-"))
}

// writeDir writes the pages of root into dir, removes man pages of commands
// that no longer exist, and returns how many pages it wrote.
func writeDir(root *cobra.Command, dir string) (int, error) {
	want, err := pages(root)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("create the man page directory: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*."+section))
	if err != nil {
		return 0, fmt.Errorf("list the old man pages in %s: %w", dir, err)
	}
	for _, p := range old {
		if _, keep := want[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return 0, fmt.Errorf("remove the stale man page: %w", err)
			}
		}
	}
	for _, name := range sortedKeys(want) {
		if err := os.WriteFile(filepath.Join(dir, name), want[name], 0o644); err != nil {
			return 0, fmt.Errorf("write the man page: %w", err)
		}
	}
	return len(want), nil
}

// diff lists how the man pages in dir differ from those of root, one line
// per page that is missing, different or left over; nil when up to date.
func diff(root *cobra.Command, dir string) ([]string, error) {
	want, err := pages(root)
	if err != nil {
		return nil, err
	}
	have, err := filepath.Glob(filepath.Join(dir, "*."+section))
	if err != nil {
		return nil, fmt.Errorf("list the man pages in %s: %w", dir, err)
	}
	var problems []string
	seen := make(map[string]bool)
	for _, p := range have {
		name := filepath.Base(p)
		seen[name] = true
		page, ok := want[name]
		if !ok {
			problems = append(problems, name+": no such command any more")
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read the man page: %w", err)
		}
		if !bytes.Equal(got, page) {
			problems = append(problems, name+": out of date")
		}
	}
	for _, name := range sortedKeys(want) {
		if !seen[name] {
			problems = append(problems, name+": missing")
		}
	}
	sort.Strings(problems)
	return problems, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
