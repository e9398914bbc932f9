package compose

import (
	"errors"
	"strings"
	"testing"
)

// TestAddressErrorsSpeakOfWhatWasTyped: an address the user typed that
// is not one is named, with what is wrong in plain words, never in the
// parser's grammar ("no angle-addr", "addr-spec").
func TestAddressErrorsSpeakOfWhatWasTyped(t *testing.T) {
	for _, tt := range []struct {
		in   string
		list bool
		want string
	}{
		{"bob", true, `"bob" is not an email address: it has no @; an address looks like name@example.com, or "Name <name@example.com>" with a name`},
		{"Bob Smith", false, `"Bob Smith" is not an email address: it has no @;`},
		{"Bob <bob>", false, `"Bob <bob>" is not an email address: it has no @;`},
		{"bob@", true, `"bob@" is not an email address: nothing follows the @;`},
		{"@example.com", true, `"@example.com" is not an email address: nothing comes before the @;`},
		{"a@b@c", true, `"a@b@c" is not an email address: it has more than one @; separate two addresses with a comma`},
		{"a@example.com b@example.org", true, `"a@example.com b@example.org" is not an email address: it holds a space; separate two addresses with a comma`},
		{"<a@example.com", false, `"<a@example.com" is not an email address: a < has no closing >;`},
		{`"Bob <b@example.com>`, false, `"\"Bob <b@example.com>" is not an email address: a " has no closing ";`},
		{"Smith, Ann <ann@example.com>", true, `"Smith, Ann <ann@example.com>" is not an email address: a name with a comma needs double quotes, as in "Smith, Ann" <ann@example.com>`},
		{"a..b@example.com", false, `"a..b@example.com" is not an email address: a dot starts or ends a part of it, or two dots stand together;`},
		{"a@example.com, bob", true, `"bob" is not an email address: it has no @;`},
		{"a@example.com, b@example.org", false, `"a@example.com, b@example.org" is not an email address: it holds more than one address; give one`},
		{"", false, `"" is not an email address: it is empty;`},
	} {
		var err error
		if tt.list {
			_, err = ParseAddressList(tt.in)
		} else {
			_, err = ParseAddress(tt.in)
		}
		var ae *AddressError
		if !errors.As(err, &ae) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: %v\nwant it to start %s", tt.in, err, tt.want)
			continue
		}
		for _, jargon := range []string{"mail:", "angle-addr", "addr-spec", "atom", "phrase"} {
			if strings.Contains(err.Error(), jargon) {
				t.Errorf("%q: %v says %q", tt.in, err, jargon)
			}
		}
	}
	if a, err := ParseAddress(" Bob <bob@example.com> "); err != nil || a != "bob@example.com" {
		t.Errorf("ParseAddress of a good address = %q, %v", a, err)
	}
}

// FuzzAddressError: whatever the text, the explanation is one sentence
// that names it and never the parser's words, and nothing panics.
func FuzzAddressError(f *testing.F) {
	for _, s := range []string{"bob", "Smith, Ann <a@x.org>", "<a@x", `"Bob <b@x>`, "a@b@c", "a..b@x", ",,", "<>", "a@x.org, ", "(", "=?utf-8?q?x?= <a@x>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, list := range []bool{false, true} {
			var err error
			if list {
				_, err = ParseAddressList(s)
			} else {
				_, err = ParseAddress(s)
			}
			if err == nil {
				continue
			}
			msg := err.Error()
			if strings.Contains(msg, "mail:") || strings.Contains(msg, "angle-addr") || strings.Contains(msg, "addr-spec") {
				t.Fatalf("%q: %s", s, msg)
			}
			if !strings.Contains(msg, " is not an email address: ") {
				t.Fatalf("%q: %s", s, msg)
			}
		}
	})
}
