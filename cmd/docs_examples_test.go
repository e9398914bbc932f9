package cmd

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/cmdtest"
)

// Every `mailport …` line the documentation and the commands' help show is
// checked against the real command tree: the command exists, every flag
// exists, an enum flag's value is one of its choices and the positional
// arguments are as many as the command takes. Nothing is run.
func TestDocsExamplesParse(t *testing.T) {
	var lines []docCmd
	for _, pattern := range []string{"../README.md", "../docs/*.md", "../docs/providers/*.md"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, extractMarkdown(strings.TrimPrefix(file, "../"), string(b))...)
		}
	}
	inDocs := len(lines)
	lines = append(lines, extractExamples(t, NewCmdRoot(cmdtest.Factory()))...)
	inExamples := len(lines) - inDocs
	lines = append(lines, extractGoStrings(t)...)
	if inDocs < 100 || inExamples < 50 {
		t.Fatalf("found only %d mailport command lines in the docs and help; the extractor is broken", len(lines))
	}
	checked, skipped, prose := 0, 0, 0
	for _, l := range lines {
		if l.prose {
			prose++
		}
		ok, err := checkDocCmd(l.words, l.prose)
		if err != nil {
			t.Errorf("%s:%d: %s\n\t%v", l.file, l.line, l.text, err)
			continue
		}
		if ok {
			checked++
		} else {
			skipped++
		}
	}
	t.Logf("%d mailport commands (%d in the docs, %d in Examples, %d in the Go sources' strings; %d of them named in sentences): %d checked, %d with a placeholder for the command itself",
		len(lines), inDocs, inExamples, len(lines)-inDocs-inExamples, prose, checked, skipped)
}

// The extractor and the checker find what they are for: a self-test on
// lines written to be wrong, and on the shell forms the docs use.
func TestDocsExamplesCheckerSelfTest(t *testing.T) {
	doc := "# t\n\n" +
		"```sh\n" +
		"mailport fetch support --to ./in --bogus-flag   # comment\n" +
		"mailport account add x --encryption rot13 \\\n  --login a@b\n" +
		"TOKEN=$(mailport token work) curl -H \"Bearer $(mailport frobnicate)\" x | mailport send outbox\n" +
		"FOO=bar mailport account nosuch\n" +
		"mailport authenticate one two\n" +
		"mailport account add x --encryption <ENC> --port PORT --login $LOGIN > out.json 2>&1\n" +
		"mailport fetch ACCOUNT... --to DIR\n" +
		"```\n\n" +
		"mailport fetch --bogus-outside-a-block\n\n" +
		"```yaml\n" +
		"  - run: mailport fetch orders --json --no-such-yaml-flag\n" +
		"    image: registry.example.com/mailport:1\n" +
		"    args: [\"fetch\", \"--all\", \"--nope\"]\n" +
		"```\n" +
		"```python\nmailport fetch --bogus-in-python\n```\n" +
		"```console\n$ mailport test support --bogus-prompted\nmailport test support: inbound imap account\nmailport --output-line\n```\n" +
		"```\nmailport test support: inbound imap account --x\n```\n" +
		"```console\n$ mailport account add a --email a@b\nNext: mailport test a --bogus-next\n  fix: run `mailport authenticate a --bogus-fix`\n```\n" +
		"Prose: run `mailport authenticate`, or `MAILPORT_RESOLVER=x mailport test --bogus-prose`.\n" +
		"```yaml\njob:\n  script:\n    - mailport fetch orders --bogus-script\n    - ./process\n" +
		"  run: |\n    mailport fetch a \\\n      --bogus-scalar\n    echo done\n" +
		"  command: [\"mailport\", \"fetch\", \"--bogus-exec-form\"]\n```\n" +
		"```text\nmailport fetch ACCOUNT      mail into a directory\nmailport fecth              a typo\n```\n"
	lines := extractMarkdown("self.md", doc)
	var got []string
	for _, l := range lines {
		_, err := checkDocCmd(l.words, l.prose)
		msg := "ok"
		if err != nil {
			msg, _, _ = strings.Cut(err.Error(), "\n") // Cobra's "Did you mean" follows
		}
		got = append(got, fmt.Sprintf("%d %s => %s", l.line, strings.Join(l.words, " "), msg))
	}
	want := []string{
		`4 mailport fetch support --to ./in --bogus-flag => unknown flag: --bogus-flag`,
		`5 mailport account add x --encryption rot13 --login a@b => invalid argument "rot13" for "--encryption" flag: "rot13" is not one of ssl, starttls, none`,
		`7 mailport token work => ok`,
		`7 mailport frobnicate => unknown command "frobnicate" for "mailport"`,
		`7 mailport send outbox => ok`,
		`8 mailport account nosuch => unknown command "nosuch" for "mailport account"`,
		`9 mailport authenticate one two => too many arguments: ["two"]; mailport authenticate takes an ACCOUNT name`,
		`10 mailport account add x --encryption <ENC> --port PORT --login $LOGIN => ok`,
		`11 mailport fetch ACCOUNT... --to DIR => ok`,
		`17 mailport fetch orders --json --no-such-yaml-flag => unknown flag: --no-such-yaml-flag`,
		`19 mailport fetch --all --nope => unknown flag: --nope`,
		`25 mailport test support --bogus-prompted => unknown flag: --bogus-prompted`,
		`33 mailport account add a --email a@b => ok`,
		`34 mailport test a --bogus-next => unknown flag: --bogus-next`,
		`35 mailport authenticate a --bogus-fix => unknown flag: --bogus-fix`,
		`37 mailport authenticate => ok`,
		`37 mailport test --bogus-prose => unknown flag: --bogus-prose`,
		`41 mailport fetch orders --bogus-script => unknown flag: --bogus-script`,
		`44 mailport fetch a --bogus-scalar => unknown flag: --bogus-scalar`,
		`47 mailport fetch --bogus-exec-form => unknown flag: --bogus-exec-form`,
		`50 mailport fetch ACCOUNT => ok`,
		`51 mailport fecth => unknown command "fecth" for "mailport"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("extracted and checked:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// docCmd is one `mailport …` command found in a doc or a help text.
type docCmd struct {
	file  string
	line  int
	text  string   // the line as written (continuations joined)
	words []string // the mailport segment, split into shell words
	// prose marks a command named in a sentence ("run `mailport
	// authenticate`"): its command and flags must exist, but it may leave
	// out arguments and a flag's value.
	prose bool
}

var (
	fenceRE    = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([\\w+-]*)")
	yamlCmdRE  = regexp.MustCompile(`^(\s*)(?:-\s+)?(run|command|args|script|before_script|after_script):\s*(.*)$`)
	yamlListRE = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"|'([^']*)'`)
	// shellLangs are the fenced blocks whose lines are shell (or shell and
	// its output).
	shellLangs = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "console": true, "zsh": true}
)

// extractMarkdown returns the mailport commands of text: the lines of its
// fenced shell blocks (in a block with "$ " prompts, the prompted lines,
// and what the output suggests), the run:/command:/args:/script: values of
// its YAML blocks, the commands of a text block's table and the code spans
// of its sentences.
func extractMarkdown(file, text string) []docCmd {
	var out []docCmd
	lines := strings.Split(text, "\n")
	inBlock, lang, fence, isMailportImage, prompts := false, "", "", false, false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			if !inBlock {
				inBlock, fence, lang = true, m[1], strings.ToLower(m[2])
				isMailportImage, prompts = false, false
				// In a block with "$ " prompts, the other lines are output.
				for j := i + 1; j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), fence); j++ {
					if strings.HasPrefix(strings.TrimSpace(lines[j]), "$ ") {
						prompts = true
					}
				}
				if lang == "yaml" || lang == "yml" {
					// A container whose image is mailport takes args: as mailport's.
					for j := i + 1; j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), fence); j++ {
						if strings.Contains(lines[j], "image:") && strings.Contains(lines[j], "mailport") {
							isMailportImage = true
						}
					}
				}
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), fence) && strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), fence[:1])) == "" {
				inBlock = false
				continue
			}
		}
		if !inBlock {
			for _, m := range inlineRE.FindAllStringSubmatch(line, -1) {
				out = append(out, proseCommands(file, i+1, m[1])...)
			}
			continue
		}
		start := i + 1
		switch {
		case shellLangs[lang]:
			if prompts && !strings.HasPrefix(strings.TrimSpace(line), "$ ") {
				// Output: the commands mailport suggests in it.
				for _, m := range inlineRE.FindAllStringSubmatch(line, -1) {
					out = append(out, proseCommands(file, i+1, m[1])...)
				}
				if m := nextRE.FindStringSubmatch(line); m != nil {
					out = append(out, commandsIn(file, i+1, m[1])...)
				}
				continue
			}
			for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
			}
			out = append(out, commandsIn(file, start, line)...)
		case lang == "text" || lang == "txt":
			// A table of commands: "mailport fetch ACCOUNT    what it does".
			if cmd, _, ok := strings.Cut(strings.TrimSpace(line), "  "); ok && strings.HasPrefix(cmd, "mailport ") {
				out = append(out, proseCommands(file, start, cmd)...)
			}
		case lang == "yaml" || lang == "yml":
			m := yamlCmdRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			indent, key, value := len(m[1]), m[2], strings.TrimSpace(m[3])
			switch {
			case strings.HasPrefix(value, "[") && (key == "args" || key == "command"):
				// An exec-form list: ["mailport", "fetch", …], or the args
				// of a container whose image is mailport.
				var words []string
				for _, q := range yamlListRE.FindAllStringSubmatch(value, -1) {
					words = append(words, q[1]+q[2])
				}
				if key == "args" && isMailportImage {
					words = append([]string{"mailport"}, words...)
				}
				if len(words) > 0 && words[0] == "mailport" {
					out = append(out, docCmd{file: file, line: start, text: strings.TrimSpace(line), words: words})
				}
			case value == "|" || value == ">" || value == "|-" || value == ">-":
				// A block scalar: the more-indented lines below are shell.
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > indent) {
					i++
					at, l := i+1, lines[i]
					for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
						i++
						l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(lines[i])
					}
					out = append(out, commandsIn(file, at, l)...)
				}
			case strings.HasPrefix(value, "[") || strings.HasPrefix(value, "{"):
				// A list or map is not shell.
			case value == "":
				// A list of lines below (script:, steps:): its items that
				// are a mailport command.
				for i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "- ") &&
					len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) >= indent {
					i++
					item := strings.TrimPrefix(strings.TrimSpace(lines[i]), "- ")
					if uq, err := strconv.Unquote(item); err == nil {
						item = uq
					}
					out = append(out, commandsIn(file, i+1, item)...)
				}
			default:
				if uq, err := strconv.Unquote(value); err == nil {
					value = uq
				}
				out = append(out, commandsIn(file, start, value)...)
			}
		}
	}
	return out
}

// inlineRE matches a command in a code span of a sentence.
var inlineRE = regexp.MustCompile("`([^`]*)`")

// nextRE matches the command mailport's output suggests: "Next: mailport test support".
var nextRE = regexp.MustCompile(`(?i)\bnext: (mailport .*)$`)

// proseCommands returns the mailport commands of a code span in a
// sentence.
func proseCommands(file string, line int, span string) []docCmd {
	if !strings.Contains(span, "mailport ") {
		return nil
	}
	cmds := commandsIn(file, line, span)
	for i := range cmds {
		cmds[i].prose = true
	}
	return cmds
}

// extractGoStrings returns the mailport commands that the string literals
// of mailport's Go sources (cmd/ and pkg/, without tests and test helper
// packages) name in code spans: help texts, errors, the fixes of the
// diagnosis catalog.
func extractGoStrings(t *testing.T) []docCmd {
	t.Helper()
	var out []docCmd
	fset := token.NewFileSet()
	for _, dir := range []string{".", "../pkg"} {
		err := walkGoSources(dir, func(path string) error {
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				pos := fset.Position(lit.Pos())
				file := filepath.ToSlash(filepath.Join("cmd", pos.Filename))
				for _, m := range inlineRE.FindAllStringSubmatch(v, -1) {
					out = append(out, proseCommands(file, pos.Line, m[1])...)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// walkGoSources calls fn for every non-test Go file under dir, skipping
// test helper packages (…test) and testdata.
func walkGoSources(dir string, fn func(path string) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (strings.HasSuffix(d.Name(), "test") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		return fn(path)
	})
}

// extractExamples returns the mailport commands of every command's Example,
// located at the line of the Go source under cmd/ that holds it.
func extractExamples(t *testing.T, root *cobra.Command) []docCmd {
	t.Helper()
	type srcLine struct {
		file string
		line int
		text string
	}
	var src []srcLine
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for n, l := range strings.Split(string(b), "\n") {
			src = append(src, srcLine{filepath.Join("cmd", path), n + 1, l})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []docCmd
	used := map[int]bool{} // src lines already given to an Example line
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		lines := strings.Split(c.Example, "\n")
		for n := 0; n < len(lines); n++ {
			l := lines[n]
			file, line := "help of `"+c.CommandPath()+"` Example", n+1
			if needle := strings.TrimSpace(l); needle != "" {
				// The best match is the line that is the Example's line, then
				// one that opens the Example with it, then any.
				best, at := 4, -1
				for k, s := range src {
					if used[k] {
						continue
					}
					rank := 4
					switch {
					case strings.TrimSpace(s.text) == needle:
						rank = 1
					case strings.Contains(s.text, "`"+l) || strings.Contains(s.text, `"`+l):
						rank = 2
					case strings.Contains(s.text, needle):
						rank = 3
					}
					if rank < best {
						best, at, file, line = rank, k, s.file, s.line
					}
				}
				if at >= 0 {
					used[at] = true
				}
			}
			for strings.HasSuffix(l, `\`) && n+1 < len(lines) {
				n++
				l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(lines[n])
			}
			out = append(out, commandsIn(file, line, l)...)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// commandsIn returns the mailport commands of one shell line.
func commandsIn(file string, line int, text string) []docCmd {
	var out []docCmd
	for _, seg := range shellSegments(text) {
		// A console prompt, environment assignments and wrappers come first.
		for len(seg) > 0 && (seg[0] == "$" || seg[0] == "exec" || seg[0] == "time" || seg[0] == "env" || seg[0] == "sudo" || seg[0] == "!" || isAssignment(seg[0])) {
			seg = seg[1:]
		}
		if len(seg) > 0 && seg[0] == "mailport" && !isReportTitle(seg) {
			out = append(out, docCmd{file: file, line: line, text: strings.TrimSpace(text), words: seg})
		}
	}
	return out
}

// isReportTitle reports whether words are the first line of a report
// rather than a command: "mailport test support: inbound imap account, …".
func isReportTitle(words []string) bool {
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "-") {
			return false
		}
		if strings.HasSuffix(w, ":") || versionRE.MatchString(w) {
			return true
		}
	}
	return false
}

// versionRE matches a version in output: "mailport v1.2.3 (go1.26.0 …)".
var versionRE = regexp.MustCompile(`^v[0-9]+\.`)

// angleRE matches a placeholder in angle brackets.
var angleRE = regexp.MustCompile(`^<[A-Za-z][^<>]*>`)

var assignmentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignment(w string) bool { return assignmentRE.MatchString(w) }

// shellSegments splits a shell line into its simple commands, each as
// words: it knows quotes, backslashes, comments, | ; & ( ), redirections
// and command substitutions ($(…), <(…), `…`, whose commands become
// segments of their own and an opaque word in the outer one). Variables
// are not expanded.
func shellSegments(s string) [][]string {
	var segs [][]string
	var cur []string
	var word strings.Builder
	inWord, dropNext := false, false
	endWord := func() {
		if !inWord {
			return
		}
		if dropNext {
			dropNext = false
		} else {
			cur = append(cur, word.String())
		}
		word.Reset()
		inWord = false
	}
	endSeg := func() {
		endWord()
		dropNext = false
		if len(cur) > 0 {
			segs = append(segs, cur)
		}
		cur = nil
	}
	// substitution reads the body of a substitution opened at s[i] (after
	// its opener) and returns the index after its closer.
	substitution := func(i int, closer byte) int {
		depth, j := 1, i
		for ; j < len(s); j++ {
			switch c := s[j]; {
			case c == '\\':
				j++
			case c == '\'' && closer != '`':
				if k := strings.IndexByte(s[j+1:], '\''); k >= 0 {
					j += k + 1
				}
			case c == closer && closer == '`':
				depth = 0
			case c == '(' && closer == ')':
				depth++
			case c == ')' && closer == ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		segs = append(segs, shellSegments(s[i:min(j, len(s))])...)
		return j + 1
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			endWord()
			i++
		case c == '#' && !inWord:
			i = len(s)
		case c == '\\':
			if i+1 < len(s) {
				word.WriteByte(s[i+1])
			}
			inWord = true
			i += 2
		case c == '\'':
			inWord = true
			k := strings.IndexByte(s[i+1:], '\'')
			if k < 0 {
				k = len(s) - i - 1
			}
			word.WriteString(s[i+1 : i+1+k])
			i += k + 2
		case c == '"':
			inWord = true
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
					word.WriteByte(s[i+1])
					i += 2
				case strings.HasPrefix(s[i:], "$("):
					word.WriteString("$(…)")
					i = substitution(i+2, ')')
				case s[i] == '`':
					word.WriteString("$(…)")
					i = substitution(i+1, '`')
				default:
					word.WriteByte(s[i])
					i++
				}
			}
			i++
		case strings.HasPrefix(s[i:], "$(") || strings.HasPrefix(s[i:], "<("):
			inWord = true
			word.WriteString("$(…)")
			i = substitution(i+2, ')')
		case c == '`':
			inWord = true
			word.WriteString("$(…)")
			i = substitution(i+1, '`')
		case c == '<' && angleRE.MatchString(s[i:]):
			// Not a redirection but a placeholder: --client-id <guid>.
			inWord = true
			n := len(angleRE.FindString(s[i:]))
			word.WriteString(s[i : i+n])
			i += n
		case c == '>' || c == '<':
			// A redirection: "2>" drops its descriptor, the target is not an argument.
			if inWord && strings.Trim(word.String(), "0123456789") == "" {
				word.Reset()
				inWord = false
			}
			endWord()
			i++
			for i < len(s) && (s[i] == '>' || s[i] == '&') {
				i++
			}
			dropNext = true
		case c == '|' || c == ';' || c == '&' || c == '(' || c == ')':
			endSeg()
			i++
		default:
			inWord = true
			word.WriteByte(c)
			i++
		}
	}
	endSeg()
	return segs
}

// isPlaceholder reports whether a word stands for a value the reader
// fills in: <ACCOUNT>, $VAR, a format verb, "…", FILE, an upper-case name.
func isPlaceholder(w string) bool {
	for _, mark := range []string{"<", "$", "%", "…", "...", "NAME", "FILE"} {
		if strings.Contains(w, mark) {
			return true
		}
	}
	return upperPlaceholderRE.MatchString(w)
}

var upperPlaceholderRE = regexp.MustCompile(`^\[?[A-Z]([A-Z0-9_-]*[A-Z0-9])?\]?$`)

// checkDocCmd parses words (words[0] is "mailport") on a fresh command
// tree as Cobra would before running the command. It reports false when
// the command itself is a placeholder ("mailport <command> --help"). A
// prose command may leave out its arguments and its last flag's value.
func checkDocCmd(words []string, prose bool) (bool, error) {
	root := NewCmdRoot(cmdtest.Factory())
	root.InitDefaultHelpCmd()
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	args := words[1:]
	c, rest, err := root.Find(args)
	if err != nil {
		for _, a := range args {
			if !strings.HasPrefix(a, "-") {
				if isPlaceholder(a) {
					return false, nil
				}
				break
			}
		}
		return true, err
	}
	c.InitDefaultHelpFlag()
	if prose {
		rest = completeProse(c, rest)
	}
	rest = fillPlaceholders(c, rest)
	if err := c.ParseFlags(rest); err != nil {
		return true, err
	}
	positional := c.Flags().Args()
	if c.HasSubCommands() && len(positional) > 0 {
		if isPlaceholder(positional[0]) {
			return false, nil
		}
		return true, fmt.Errorf("unknown command %q for %q", positional[0], c.CommandPath())
	}
	if prose {
		return true, nil
	}
	for _, a := range positional {
		// "ACCOUNT..." or "[ACCOUNT]" stand for any number of arguments.
		if strings.Contains(a, "...") || strings.Contains(a, "…") || strings.HasPrefix(a, "[") {
			return true, nil
		}
	}
	return true, c.ValidateArgs(positional)
}

// completeProse drops the flags a sentence names by a format verb
// ("--%s=true") and gives a value to a last flag that takes one
// ("`mailport account add --email`").
func completeProse(c *cobra.Command, args []string) []string {
	var out []string
	for _, a := range args {
		if !(strings.HasPrefix(a, "-") && strings.Contains(a, "%")) {
			out = append(out, a)
		}
	}
	if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "-") && !strings.Contains(out[n-1], "=") {
		name := strings.TrimLeft(out[n-1], "-")
		fl := c.Flags().Lookup(name)
		if fl == nil && len(name) == 1 {
			fl = c.Flags().ShorthandLookup(name)
		}
		if fl == nil {
			fl = c.InheritedFlags().Lookup(name)
		}
		if fl != nil && fl.NoOptDefVal == "" {
			out = append(out, "<VALUE>")
		}
	}
	return out
}

// fillPlaceholders replaces a placeholder given as a typed flag's value
// (--port PORT, --encryption <ENC>) by a value of that type, so that only
// real values are judged.
func fillPlaceholders(c *cobra.Command, args []string) []string {
	out := append([]string(nil), args...)
	lookup := func(name string, short bool) *pflag.Flag {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.InheritedFlags()} {
			if short {
				if fl := fs.ShorthandLookup(name); fl != nil {
					return fl
				}
			} else if fl := fs.Lookup(name); fl != nil {
				return fl
			}
		}
		return nil
	}
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		var fl *pflag.Flag
		switch {
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if fl = lookup(name, false); fl == nil {
				continue
			}
			if hasValue {
				if isPlaceholder(value) {
					out[i] = "--" + name + "=" + sampleValue(fl, value)
				}
				continue
			}
		case strings.HasPrefix(a, "-") && len(a) == 2:
			if fl = lookup(a[1:], true); fl == nil {
				continue
			}
		default:
			continue
		}
		if fl.NoOptDefVal != "" || i+1 >= len(out) {
			continue
		}
		i++
		if isPlaceholder(out[i]) {
			out[i] = sampleValue(fl, out[i])
		}
	}
	return out
}

// sampleValue is a valid value for fl, standing for the placeholder v.
func sampleValue(fl *pflag.Flag, v string) string {
	if cmdutil.IsEnumFlag(fl) {
		first, _, _ := strings.Cut(fl.Value.Type(), "|")
		return first
	}
	switch t := fl.Value.Type(); {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "1"
	case t == "duration":
		return "1m"
	case t == "bool":
		return "true"
	}
	return v
}

// Every MAILPORT_* variable the docs name is one mailport reads, and every
// one mailport's code names is documented in docs/configuration.md.
func TestDocsEnvironmentVariables(t *testing.T) {
	code := codeEnvNames(t)
	if len(code) < 8 {
		t.Fatalf("found only %d MAILPORT_ names in the Go sources: %v", len(code), code)
	}
	// instance reports whether name is a prefix's variable for one
	// account or token config: MAILPORT_PASSWORD_SUPPORT.
	instance := func(name string) bool {
		for c := range code {
			if strings.HasSuffix(c, "_") && c != name && strings.HasPrefix(name, c) {
				return true
			}
		}
		return false
	}
	known := func(name string) bool { return code[name] || instance(name) }
	docs := map[string][]string{} // name -> where
	for _, pattern := range []string{"../README.md", "../docs/*.md", "../docs/providers/*.md"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for n, line := range strings.Split(string(b), "\n") {
				for _, name := range envNameRE.FindAllString(line, -1) {
					docs[name] = append(docs[name], fmt.Sprintf("%s:%d", strings.TrimPrefix(file, "../"), n+1))
				}
			}
		}
	}
	config, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, name := range envNameRE.FindAllString(string(config), -1) {
		documented[name] = true
	}
	var names []string
	for name := range docs {
		names = append(names, name)
	}
	for name := range code {
		if docs[name] == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if where := docs[name]; where != nil && !known(name) {
				t.Errorf("%s names %s, which mailport does not read", where[0], name)
			}
			if code[name] && !instance(name) && !documented[name] {
				t.Errorf("mailport's code names %s, but docs/configuration.md does not document it", name)
			}
		})
	}
}

// envNameRE matches a variable's name; a prefix written as
// MAILPORT_PASSWORD_<ACCOUNT> matches as MAILPORT_PASSWORD_.
var envNameRE = regexp.MustCompile(`MAILPORT_[A-Z0-9_]*`)

// codeEnvNames are the MAILPORT_ names in the string literals of
// mailport's own (non-test) Go sources: main.go, cmd/ and pkg/, without
// the test helper packages.
func codeEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	fset := token.NewFileSet()
	visit := func(path string) error {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					s = lit.Value
				}
				for _, name := range envNameRE.FindAllString(s, -1) {
					if name != "MAILPORT_" {
						names[name] = true
					}
				}
			}
			return true
		})
		return nil
	}
	if err := visit("../main.go"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", "../pkg"} {
		if err := walkGoSources(dir, visit); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// The flag column of docs/configuration.md's field tables names flags of
// token-config add and account add, a field with a fixed set of values
// names each value, and the global flags table names the root's flags.
func TestDocsConfigurationFlagColumns(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	root := NewCmdRoot(cmdtest.Factory())
	root.InitDefaultHelpFlag()
	sections := map[string]struct {
		cmd     []string // the command the flags belong to
		lastCol bool     // the flags are in the row's last cell, else its first
	}{
		"## token_configs": {[]string{"token-config", "add"}, true},
		"## accounts":      {[]string{"account", "add"}, true},
		"## Global flags":  {nil, false},
	}
	flagRE := regexp.MustCompile(`^--?([a-z][a-z0-9-]*\*?)`)
	checked, enumRows := 0, 0
	var section string
	for n, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = line
			continue
		}
		sec, ok := sections[section]
		if !ok || !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| ---") {
			continue
		}
		c, _, err := root.Find(sec.cmd)
		if err != nil {
			t.Fatal(err)
		}
		cells := strings.Split(strings.Trim(strings.ReplaceAll(line, `\|`, "/"), "| "), " | ")
		if e, ok := fieldEnums[strings.Trim(cells[0], "`")]; ok && sec.lastCol {
			enumRows++
			// A field with a fixed set of values documents each of them.
			for _, v := range e.Values {
				if !strings.Contains(line, "`"+v+"`") {
					t.Errorf("docs/configuration.md:%d: the row of %s does not name its value `%s`", n+1, cells[0], v)
				}
			}
		}
		cell := cells[0]
		if sec.lastCol {
			cell = cells[len(cells)-1]
		}
		for _, span := range inlineRE.FindAllStringSubmatch(cell, -1) {
			m := flagRE.FindStringSubmatch(span[1])
			if m == nil {
				continue
			}
			checked++
			if !hasFlag(c, m[1]) {
				t.Errorf("docs/configuration.md:%d: %s has no flag %s (in %q)", n+1, c.CommandPath(), m[0], strings.TrimSpace(line))
			}
		}
	}
	t.Logf("%d flags in docs/configuration.md's tables", checked)
	if enumRows != len(fieldEnums) {
		t.Errorf("found %d rows of fields with a fixed set of values in docs/configuration.md, want %d", enumRows, len(fieldEnums))
	}
	if checked < 30 {
		t.Fatalf("checked only %d flags in docs/configuration.md's tables; did its sections move?", checked)
	}
}

// fieldEnums are the config fields whose flags take one of an enum's values.
var fieldEnums = map[string]cmdutil.Enum{
	"provider": cmdutil.EnumProvider, "flow": cmdutil.EnumFlow, "type": cmdutil.EnumType,
	"protocol": cmdutil.EnumProtocol, "encryption": cmdutil.EnumEncryption, "auth": cmdutil.EnumAuth,
	"on_received": cmdutil.EnumOnReceived,
}

// hasFlag reports whether c takes the flag name (a long name, a shorthand,
// or a prefix ending in "*").
func hasFlag(c *cobra.Command, name string) bool {
	found := false
	visit := func(fl *pflag.Flag) {
		switch {
		case strings.HasSuffix(name, "*") && strings.HasPrefix(fl.Name, strings.TrimSuffix(name, "*")):
			found = true
		case fl.Name == name || fl.Shorthand == name:
			found = true
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return found
}
