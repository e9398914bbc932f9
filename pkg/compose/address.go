package compose

import (
	"fmt"
	"strings"
)

// AddressError is text the user gave as an email address that is not
// one, with the reason in plain words instead of the address grammar's
// ("mail: no angle-addr", "missing @ in addr-spec").
type AddressError struct {
	// Input is the address as typed (for a list, the entry at fault when
	// it can be told apart, else the whole list).
	Input string
	// Reason says what is wrong and how an address looks.
	Reason string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%q is not an email address: %s", e.Input, e.Reason)
}

const addressForm = `an address looks like name@example.com, or "Name <name@example.com>" with a name`

// addressError explains why s, which the address parser refused with
// err, is not an address. In a list (list set) it names the entry at
// fault when a plain split at commas finds it.
func addressError(s string, err error, list bool) *AddressError {
	s = strings.TrimSpace(s)
	if !list && strings.Contains(s, ",") {
		if _, lerr := addrParser.ParseList(s); lerr == nil {
			return &AddressError{Input: s, Reason: "it holds more than one address; give one"}
		}
		list = true
	}
	if list && strings.Contains(s, ",") {
		parts := strings.Split(s, ",")
		for i, p := range parts {
			p = strings.TrimSpace(p)
			if _, perr := addrParser.Parse(p); perr != nil && p != "" {
				if i+1 < len(parts) && !strings.Contains(p, "@") && !strings.Contains(p, "\"") && strings.Contains(parts[i+1], "@") {
					// `Smith, Ann <ann@example.com>`: a name with a comma.
					return &AddressError{Input: s, Reason: fmt.Sprintf(`a name with a comma needs double quotes, as in "%s,%s`, p, quoteName(parts[i+1]))}
				}
				return addressError(p, perr, false)
			}
		}
	}
	return &AddressError{Input: s, Reason: reason(s, err)}
}

// quoteName writes ` Ann <ann@example.com>` as ` Ann" <ann@example.com>`:
// the rest of a name split at its comma, closed with its quote.
func quoteName(rest string) string {
	if i := strings.Index(rest, "<"); i > 0 {
		return strings.TrimRight(rest[:i], " ") + `" ` + strings.TrimSpace(rest[i:])
	}
	return rest + `"`
}

func reason(s string, err error) string {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	addr := s
	if i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">"); i >= 0 && j > i {
		addr = strings.TrimSpace(s[i+1 : j])
	}
	at := strings.Count(addr, "@")
	switch {
	case s == "":
		return "it is empty; " + addressForm
	case strings.Contains(msg, "unclosed angle-addr"):
		return "a < has no closing >; " + addressForm
	case strings.Contains(msg, "unclosed quoted-string"):
		return `a " has no closing "; ` + addressForm
	case strings.Contains(msg, "parenthetical comment") || strings.Contains(msg, "comment does not start"):
		return "a ( has no closing ); " + addressForm
	case strings.Contains(msg, "invalid utf-8"):
		return "it holds bytes that are not UTF-8 text"
	case strings.Contains(msg, "group"):
		return "a group (Name: a@example.com, b@example.com;) cannot be used here; give the addresses themselves"
	case at == 0:
		return "it has no @; " + addressForm
	case at > 1 && !strings.ContainsAny(addr, " \t"):
		return "it has more than one @; separate two addresses with a comma"
	case strings.HasPrefix(addr, "@"):
		return "nothing comes before the @; " + addressForm
	case strings.HasSuffix(addr, "@"):
		return "nothing follows the @; " + addressForm
	case strings.ContainsAny(addr, " \t") && strings.Contains(msg, "expected"):
		return "it holds a space; separate two addresses with a comma, and write a name as \"Name <name@example.com>\""
	case strings.Contains(addr, ".."), strings.Contains(addr, ".@"), strings.Contains(addr, "@."), strings.HasPrefix(addr, "."):
		return "a dot starts or ends a part of it, or two dots stand together; " + addressForm
	case strings.Contains(msg, "expected single address"):
		return "it holds more than one address; give one"
	}
	return "it has a character an address cannot hold here; " + addressForm
}

// ParseAddress checks one address such as `bob@example.com` or `Bob
// <bob@example.com>` and returns its bare address; an *AddressError says
// what is wrong with it.
func ParseAddress(s string) (string, error) {
	a, err := addrParser.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", addressError(s, err, false)
	}
	return a.Address, nil
}
