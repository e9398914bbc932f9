package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const preparedMark = "gendocs.prepared"

// cobra/doc hands Use, Short, Long and flag usages to a Markdown renderer,
// but our help texts are plain text written for `--help`: "<ACCOUNT>" would
// vanish as an HTML tag, "MAILPORT_PASSWORD_X" would turn italic and the
// aligned preset tables would be reflowed into one paragraph. prepare
// rewrites those texts, in the in-memory tree only, into Markdown that
// renders as what --help prints.
// Preparing twice would escape twice, so the root is marked.
func prepare(root *cobra.Command) {
	if root.Annotations[preparedMark] != "" {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[preparedMark] = "yes"
	seen := make(map[*pflag.Flag]bool)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if name, rest, ok := strings.Cut(c.Use, " "); ok {
			// UseLine appends "[flags]" unless it finds it, so it stays as is;
			// a bracket with no link after it is literal Markdown anyway.
			c.Use = name + " " + strings.ReplaceAll(escapeInline(rest), `\[flags\]`, "[flags]")
		}
		c.Short = escapeInline(c.Short)
		c.Long = textToMarkdown(c.Long)
		escapeFlags := func(fl *pflag.Flag) {
			if seen[fl] {
				return // persistent flags are shared between commands
			}
			seen[fl] = true
			fl.Usage = escapeInline(fl.Usage)
		}
		c.LocalFlags().VisitAll(escapeFlags)
		c.InheritedFlags().VisitAll(escapeFlags)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// textToMarkdown turns plain help text into Markdown: prose lines are
// escaped (and may be reflowed, as man pages are), while runs of indented
// lines, which are tables or examples, become code blocks that keep their
// layout.
func textToMarkdown(s string) string {
	if s == "" {
		return s
	}
	var out []string
	var code []string
	flush := func() {
		if len(code) == 0 {
			return
		}
		// A blank line first: a fence does not interrupt a paragraph.
		out = append(out, "", "```")
		out = append(out, code...)
		out = append(out, "```", "")
		code = nil
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if strings.TrimSpace(line) != "" {
				code = append(code, strings.ReplaceAll(line, "```", "'''"))
				continue
			}
		}
		flush()
		out = append(out, escapeLine(line))
	}
	flush()
	return strings.Trim(strings.Join(out, "\n"), "\n")
}

// escapeLine escapes a prose line, including what only matters at the
// start of a line (headings, list markers, rules).
func escapeLine(line string) string {
	esc := escapeInline(line)
	if esc == "" {
		return esc
	}
	switch esc[0] {
	case '#', '+', '-', '=':
		return `\` + esc
	}
	// "1. " or "1) " would start an ordered list.
	i := 0
	for i < len(esc) && esc[i] >= '0' && esc[i] <= '9' {
		i++
	}
	if i > 0 && i < len(esc) && (esc[i] == '.' || esc[i] == ')') {
		return esc[:i] + `\` + esc[i:]
	}
	return esc
}

// escapeInline backslash-escapes the characters Markdown would interpret,
// except inside `code spans`, which render as bold command text.
func escapeInline(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		open := strings.IndexByte(s, '`')
		if open < 0 {
			b.WriteString(escapeChars(s))
			break
		}
		end := strings.IndexByte(s[open+1:], '`')
		if end < 0 {
			// An unpaired backtick is literal.
			b.WriteString(escapeChars(s[:open]))
			b.WriteString("\\`")
			s = s[open+1:]
			continue
		}
		b.WriteString(escapeChars(s[:open]))
		b.WriteString(s[open : open+1+end+1])
		s = s[open+1+end+1:]
	}
	return b.String()
}

func escapeChars(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '*', '_', '<', '>', '[', ']', '&', '|', '~':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
