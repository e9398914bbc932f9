// Package explain holds `mailport explain`: the troubleshooting entries
// that `mailport test` names, printed from the catalog compiled into the
// binary, so the advice is where the user is (a release binary or a
// `go install` has no docs/ directory beside it).
package explain

import (
	"fmt"
	"github.com/mailport/mailport/internal/editdist"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	dg "github.com/mailport/mailport/pkg/diagnose"
)

// Options are the inputs of `mailport explain`.
type Options struct {
	F    *cmdutil.Factory
	Code string
}

// Entry is the documented JSON shape of one troubleshooting entry.
type Entry struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Cause   string `json:"cause"`
	Fix     string `json:"fix"`
}

// NewCmdExplain is `mailport explain`.
func NewCmdExplain(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "explain [CODE]",
		Short: "Explain a known failure: its cause and its fix",
		Long: `Print the troubleshooting entry for CODE: what you see, the likely cause and the fix.
CODE is the entry that ` + "`mailport test`" + ` names under a warning or failure ("see: mailport
explain CODE"), or a Microsoft sign-in code such as AADSTS50076. Without CODE, list every
entry, one per line: the code and a short title.

The entries are built into mailport; docs/troubleshooting.md lists the same ones. In a fix,
<account> stands for the account's name and <token-config> for its token config's name;
` + "`mailport test ACCOUNT`" + ` prints them filled in.

Exit status: 0, or 2 when no entry has CODE (the closest codes are suggested).

JSON (--json): {"id","title","message","cause","fix"} for CODE; without CODE an array of them.`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var codes []string
			for _, e := range dg.Catalog {
				if strings.HasPrefix(e.ID, strings.ToLower(toComplete)) {
					codes = append(codes, e.ID+"\t"+e.Title)
				}
			}
			return codes, cobra.ShellCompDirectiveNoFileComp
		},
		Example: `  mailport explain
  mailport explain auth-refused
  mailport explain AADSTS50076
  mailport explain token-missing-scope --json | jq -r .fix`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.FlagErrorf("too many arguments: %q; mailport explain takes at most one CODE", args[1:])
			}
			if len(args) == 1 {
				opts.Code = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	return cmd
}

func run(opts *Options) error {
	f := opts.F
	if opts.Code == "" {
		if f.JSON {
			all := make([]Entry, 0, len(dg.Catalog))
			for i := range dg.Catalog {
				all = append(all, shape(&dg.Catalog[i]))
			}
			return cmdutil.PrintJSON(f.IO.Out, all)
		}
		t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "CODE", "TITLE")
		for _, e := range dg.Catalog {
			t.Row(e.ID, e.Title)
		}
		return t.Render()
	}
	e := Find(opts.Code)
	if e == nil {
		return cmdutil.FlagErrorf("%s", unknown(opts.Code))
	}
	if f.JSON {
		return cmdutil.PrintJSON(f.IO.Out, shape(e))
	}
	return Write(f.IO.Out, e)
}

func shape(e *dg.Entry) Entry {
	return Entry{ID: e.ID, Title: e.Title, Message: e.Message, Cause: e.Cause, Fix: e.Fix}
}

// Write prints an entry for people: its code and title, what the user
// sees, the cause and the fix, wrapped for a terminal.
func Write(w io.Writer, e *dg.Entry) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", e.ID, e.Title)
	b.WriteString("What you see:\n")
	for _, line := range strings.Split(e.Message, "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("\nCause:\n")
	b.WriteString(wrap(e.Cause, "  ", 78))
	b.WriteString("\nFix:\n")
	b.WriteString(wrap(e.Fix, "  ", 78))
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks text into lines of at most width columns (a longer word,
// such as a URL, stands on a line of its own), each with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

var aadstsRE = regexp.MustCompile(`^(?i:aadsts)?(\d{4,7})$`)

// Find returns the entry for code: an entry id in any case (also as
// "troubleshooting.md#id", the form older output and links carry), or a
// Microsoft sign-in code ("AADSTS50076", "50076") whose entry may have
// another id. nil when there is none.
func Find(code string) *dg.Entry {
	c := strings.ToLower(strings.TrimSpace(code))
	if i := strings.LastIndex(c, "#"); i >= 0 {
		c = c[i+1:]
	}
	if e := dg.EntryByID(c); e != nil {
		return e
	}
	if m := aadstsRE.FindStringSubmatch(c); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil {
			if e := dg.Lookup(&dg.Evidence{Check: "token", Provider: "microsoft", AADSTS: n}); e != nil && e.ID != "" {
				return e
			}
		}
	}
	return nil
}

// unknown is the one sentence for a code no entry has, naming the
// closest codes.
func unknown(code string) string {
	near := Closest(code, 3)
	msg := fmt.Sprintf("no troubleshooting entry has the code %q", code)
	switch len(near) {
	case 0:
		return msg + "; run `mailport explain` for the list of codes"
	case 1:
		return msg + "; did you mean " + near[0] + "? (`mailport explain` lists every code)"
	}
	return msg + "; did you mean " + strings.Join(near[:len(near)-1], ", ") + " or " + near[len(near)-1] + "? (`mailport explain` lists every code)"
}

// Closest returns up to n entry ids nearest to code: those within a few
// edits of it, then those containing it or whose words (title, message)
// contain it, nearest first.
func Closest(code string, n int) []string {
	c := strings.ToLower(strings.TrimSpace(code))
	if c == "" {
		return nil
	}
	type cand struct {
		id   string
		dist int
	}
	var cands []cand
	limit := max(2, len(c)/3)
	for i, e := range dg.Catalog {
		d := editdist.Distance(c, e.ID)
		switch {
		case d <= limit:
		case len(c) >= 3 && (strings.Contains(e.ID, c) || nearWord(c, e.ID)):
			d = limit + 1
		case len(c) >= 4 && strings.Contains(strings.ToLower(e.Title+" "+e.Message), c):
			d = limit + 2
		default:
			continue
		}
		cands = append(cands, cand{e.ID, d*1000 + i})
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].dist < cands[j].dist })
	var out []string
	for _, k := range cands {
		if len(out) == n {
			break
		}
		out = append(out, k.id)
	}
	return out
}

// nearWord: code is one edit away from one of the id's words
// ("pasword" and password-missing).
func nearWord(code, id string) bool {
	for _, w := range strings.Split(id, "-") {
		if len(w) >= 4 && editdist.Distance(code, w) <= 1 {
			return true
		}
	}
	return false
}
