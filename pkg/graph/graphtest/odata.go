package graphtest

import (
	"fmt"
	"strings"
	"time"
)

// clause is one "prop op literal" term of a $filter. The fake understands
// conjunctions ("and") of such terms, which is what mail clients send.
type clause struct {
	prop string // as written
	op   string // eq ne gt ge lt le
	lit  literal
}

type literal struct {
	kind string // "bool", "time", "string"
	b    bool
	t    time.Time
	s    string
}

// parseFilter parses `a eq 'x' and b ge 2024-01-01T00:00:00Z and c eq false`.
func parseFilter(s string) ([]clause, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out []clause
	for i := 0; i < len(toks); {
		if i+3 > len(toks) {
			return nil, fmt.Errorf("incomplete expression near %q", strings.Join(toks[i:], " "))
		}
		c := clause{prop: toks[i], op: strings.ToLower(toks[i+1])}
		switch c.op {
		case "eq", "ne", "gt", "ge", "lt", "le":
		default:
			return nil, fmt.Errorf("unsupported operator %q", toks[i+1])
		}
		lit, err := parseLiteral(toks[i+2])
		if err != nil {
			return nil, err
		}
		c.lit = lit
		out = append(out, c)
		i += 3
		if i < len(toks) {
			if !strings.EqualFold(toks[i], "and") {
				return nil, fmt.Errorf("the fake Graph supports only 'and' between terms, not %q", toks[i])
			}
			i++
			if i == len(toks) {
				return nil, fmt.Errorf("expression ends with 'and'")
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty $filter")
	}
	return out, nil
}

// tokenize splits on spaces, keeping quoted strings (” is a quote) whole.
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ':
			i++
		case s[i] == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string literal")
			}
			toks = append(toks, b.String()+"'")
			i = j
		default:
			j := i
			for j < len(s) && s[j] != ' ' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func parseLiteral(tok string) (literal, error) {
	switch {
	case len(tok) >= 2 && tok[0] == '\'' && tok[len(tok)-1] == '\'':
		return literal{kind: "string", s: tok[1 : len(tok)-1]}, nil
	case strings.EqualFold(tok, "true"), strings.EqualFold(tok, "false"):
		return literal{kind: "bool", b: strings.EqualFold(tok, "true")}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, tok); err == nil {
		return literal{kind: "time", t: t}, nil
	}
	return literal{}, fmt.Errorf("cannot read literal %q", tok)
}

func compareTime(a time.Time, op string, b time.Time) bool {
	switch op {
	case "eq":
		return a.Equal(b)
	case "ne":
		return !a.Equal(b)
	case "gt":
		return a.After(b)
	case "ge":
		return !a.Before(b)
	case "lt":
		return a.Before(b)
	case "le":
		return !a.After(b)
	}
	return false
}
