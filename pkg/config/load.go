package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem with one field of the config. Line is 0 when the
// field did not come from a file (e.g. it was set by a flag).
type FieldError struct {
	File  string // base name of the config file
	Line  int
	Field string // dotted path, e.g. accounts.support.encryption
	Msg   string
}

func (e *FieldError) Error() string {
	loc := ""
	if e.File != "" && e.Line > 0 {
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	}
	if e.Field == "" {
		return loc + e.Msg
	}
	return loc + e.Field + ": " + e.Msg
}

// Errors is every problem found in a config, reported at once.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// New returns an empty config that will be saved to path.
func New(path string) *Config {
	return &Config{Version: Version, TokenConfigs: map[string]*TokenConfig{}, Accounts: map[string]*Account{}, Path: path}
}

// Load reads and validates the config at path. A missing file is an empty
// config (so the first `add` creates it). Errors are Errors (one per
// problem, each naming file, line and field) or an I/O error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(path), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(path, data)
	var decodeErrs Errors
	if !errors.As(err, &decodeErrs) {
		if err != nil {
			return nil, err
		}
	}
	if c == nil {
		return nil, err
	}
	// Report type errors and validation problems together, one per field.
	all := decodeErrs
	bad := map[string]bool{}
	for _, e := range decodeErrs {
		bad[e.Field] = true
	}
	var verrs Errors
	if errors.As(c.Validate(), &verrs) {
		for _, e := range verrs {
			if !bad[e.Field] {
				all = append(all, e)
			}
		}
	}
	if len(all) > 0 {
		sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
		return nil, all
	}
	return c, nil
}

// Parse decodes a config document strictly: unknown keys and wrong types
// are errors naming the line and field. It does not validate references.
// On type errors it returns the partly decoded config along with Errors.
func Parse(path string, data []byte) (*Config, error) {
	c := New(path)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if line := tabIndentedLine(data); line > 0 && tabError(err) {
			return nil, Errors{{File: filepath.Base(path), Line: line, Msg: "a tab indents this line; YAML indents with spaces"}}
		}
		return nil, Errors{{File: filepath.Base(path), Line: yamlErrLine(err), Msg: "invalid YAML: " + yamlErrText(err)}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty file
	}
	c.doc = &doc
	c.Version = 0 // a file must say its version
	d := decoder{file: filepath.Base(path), lines: map[string]int{}}
	d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	c.lines = d.lines
	c.applyDefaults(d.seen)
	if len(d.errs) > 0 {
		return c, d.errs
	}
	return c, nil
}

// tabError reports whether a YAML error is one yaml.v3 gives for a tab
// where indentation belongs.
func tabError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "tab character") || strings.Contains(s, "cannot start any token")
}

// tabIndentedLine is the number of the first line whose indentation holds
// a tab, or 0.
func tabIndentedLine(data []byte) int {
	for i, line := range strings.Split(string(data), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if strings.Contains(indent, "\t") && strings.TrimSpace(line) != "" {
			return i + 1
		}
	}
	return 0
}

// yaml.v3 reports "yaml: line 3: mapping values are not allowed in this context".
func yamlErrLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		rest := s[i+5:]
		j := strings.IndexAny(rest, ": ")
		if j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 0
}

func yamlErrText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "line ") {
		s = s[i+2:]
	}
	return s
}

// decoder walks a yaml.Node into the model by yaml tags, collecting errors.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int  // field path → line, for validation messages
	seen  map[string]bool // field paths present in the file
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if strings.ContainsFunc(key, unicode.IsControl) {
		key = strconv.Quote(key) // a problem is reported on one line
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "must be a mapping of fields, not %s", kindName(n))
			return
		}
		fields := map[string]reflect.Value{}
		var names []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = v.Field(i)
			names = append(names, tag)
		}
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			p := join(path, k.Value)
			if !ok {
				hint := ""
				if c := Closest(k.Value, names); c != "" {
					hint = "; did you mean " + c + "?"
				}
				d.fail(k, p, "unknown field%s (known fields: %s)", hint, strings.Join(names, ", "))
				continue
			}
			if line, dup := first[k.Value]; dup {
				d.fail(k, p, "defined twice (first at line %d)", line)
				continue
			}
			first[k.Value] = k.Line
			d.seen[p] = true
			d.lines[p] = val.Line
			d.decode(val, f, p)
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "must be a mapping, not %s", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if line, dup := first[k.Value]; dup {
				d.fail(k, p, "defined twice (first at line %d)", line)
				continue
			}
			first[k.Value] = k.Line
			d.lines[p] = k.Line
			d.seen[p] = true
			ev := reflect.New(v.Type().Elem()).Elem()
			if ev.Kind() == reflect.Pointer {
				ev.Set(reflect.New(ev.Type().Elem()))
				d.decode(val, ev.Elem(), p)
			} else {
				d.decode(val, ev, p)
			}
			v.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
	case reflect.Slice: // []string; a space-separated string is accepted too
		switch n.Kind {
		case yaml.SequenceNode:
			out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
			for i, item := range n.Content {
				if item.Kind != yaml.ScalarNode {
					d.fail(item, fmt.Sprintf("%s[%d]", path, i), "must be a string, not %s", kindName(item))
					continue
				}
				out = reflect.Append(out, reflect.ValueOf(item.Value))
			}
			v.Set(out)
		case yaml.ScalarNode:
			v.Set(reflect.ValueOf(strings.Fields(n.Value)))
		default:
			d.fail(n, path, "must be a list of strings, not %s", kindName(n))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "must be a string, not %s", kindName(n))
			return
		}
		if n.Tag == "!!null" {
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.fail(n, path, "%s is not a whole number", kindName(n))
			return
		}
		i, err := strconv.Atoi(n.Value)
		if err != nil {
			d.fail(n, path, "%s is not a whole number", kindName(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n, path, "%s must be true or false", kindName(n))
			return
		}
		b, err := strconv.ParseBool(n.Value)
		if err != nil {
			d.fail(n, path, "%s must be true or false", kindName(n))
			return
		}
		v.SetBool(b)
	}
}

// applyDefaults fills what a hand-written file may leave out.
func (c *Config) applyDefaults(seen map[string]bool) {
	for name, tc := range c.TokenConfigs {
		p := "token_configs." + name
		if !seen[p+".inbound"] && !seen[p+".outbound"] {
			tc.Inbound, tc.Outbound = true, true
		}
		if tc.Flow == "" {
			tc.Flow = FlowUser
		}
	}
	for name, a := range c.Accounts {
		p := "accounts." + name
		if !seen[p+".enabled"] {
			a.Enabled = true
		}
		a.ApplyDefaults()
		a.normalize(c.baseDir())
	}
}

// baseDir is the absolute directory of the config file, against which a
// relative hold_dir is resolved ("" without a path).
func (c *Config) baseDir() string {
	if c.Path == "" {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(c.Path))
	if err != nil {
		return ""
	}
	return dir
}

// ApplyDefaults fills the fields an account may leave empty: the
// encryption for its protocol, the auth type implied by a token config,
// and on_received hold for inbound accounts.
func (a *Account) ApplyDefaults() {
	if a.Encryption == "" {
		a.Encryption = SSL
		if a.Protocol == SMTP {
			a.Encryption = StartTLS
		}
	}
	if a.Auth == "" {
		a.Auth = AuthBasic
		if a.TokenConfig != "" || a.Protocol == Microsoft {
			a.Auth = AuthOAuth2
		}
	}
	if a.OnReceived == "" && a.Type == Inbound {
		a.OnReceived = OnReceivedHold
	}
}
