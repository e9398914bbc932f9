package fetch

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzParseHeader: whatever header a server sends, what a fetch record
// shows of it is one line each (no CR, LF or other control character to
// forge a line of output), the date is RFC 3339 or empty, and a header
// with plain ASCII values shows them as sent.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.com>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Thu, 26 Nov 2026 10:15:00 +0100\r\n",
		"Subject: a\r\n folded\r\n\tline\r\nFrom: a@b, \"C\" <c@d>\r\n",
		"Subject: =?x-unknown?B?AAAA?=\r\nFrom: <@>\r\nDate: 99 Foo 99999 99:99:99\r\n",
		"Subject: \x1b[31mred\x1b[0m\r\nFrom: x\r\n\r\nbody",
		"no colon here\r\nSubject: after\r\n",
		"Subject: =?UTF-8?B?4oCoZm9yZ2Vk4oCp?=\r\n",
		"Subject: =?UTF-8?Q?=C2=9B31mred?=\r\nFrom: =?UTF-8?Q?=C2=85x?= <x@y>\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > maxHeader {
			raw = raw[:maxHeader] // what headerCapture hands over at most
		}
		h := parseHeader(raw)
		for name, v := range map[string]string{"From": h.From, "Subject": h.Subject} {
			for _, r := range v {
				if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
					t.Fatalf("%s %q holds a control character", name, v)
				}
			}
			if v != strings.TrimSpace(v) {
				t.Fatalf("%s %q is not trimmed", name, v)
			}
		}
		if h.Date != "" {
			if _, err := time.Parse(time.RFC3339, h.Date); err != nil {
				t.Fatalf("Date %q is not RFC 3339: %v", h.Date, err)
			}
		}
		if utf8.Valid(raw) && (!utf8.ValidString(h.From) || !utf8.ValidString(h.Subject)) {
			t.Fatalf("valid UTF-8 in, invalid out: %q %q", h.From, h.Subject)
		}
	})
}

// TestParseHeaderPlainSubjectAsSent: the property check above has a
// positive side too.
func TestParseHeaderPlainSubjectAsSent(t *testing.T) {
	h := parseHeader([]byte("Subject: Order 4711\r\nFrom: shop@example.com\r\nDate: Thu, 26 Nov 2026 10:15:00 +0100\r\n"))
	if h.Subject != "Order 4711" || h.From != "shop@example.com" || h.Date != "2026-11-26T10:15:00+01:00" {
		t.Fatalf("%+v", h)
	}
}
