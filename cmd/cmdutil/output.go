package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// PrintJSON writes v as indented JSON: the one exporter every command uses
// for --json, so shapes stay consistent.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table prints rows: aligned columns with a header on a terminal,
// tab-separated values without a header otherwise (for scripts).
type Table struct {
	w      io.Writer
	tty    bool
	header []string
	rows   [][]string
}

// NewTable starts a table.
func NewTable(w io.Writer, tty bool, header ...string) *Table {
	return &Table{w: w, tty: tty, header: header}
}

// Row adds a row.
func (t *Table) Row(cells ...string) { t.rows = append(t.rows, cells) }

// Render writes the table.
func (t *Table) Render() error {
	if !t.tty {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(t.w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// SortedNames returns a map's keys in order, for listing names.
func SortedNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StoreWord names a secret store backend in a sentence ("secrets file", "keyring").
func StoreWord(name string) string {
	if name == "file" {
		return "secrets file"
	}
	return name
}

// Lookup finds a named entry (an account, a token config) or returns a
// ConfigError naming the known ones: kind is "account" or "token config".
func Lookup[T any](m map[string]T, kind, name string) (T, error) {
	v, ok := m[name]
	if !ok {
		known := fmt.Sprintf("there are none yet; add one with `mailport %s add`", strings.ReplaceAll(kind, " ", "-"))
		if len(m) > 0 {
			known = "known: " + strings.Join(SortedNames(m), ", ")
		}
		return v, ConfigErrorf("no %s named %q (%s)", kind, name, known)
	}
	return v, nil
}
