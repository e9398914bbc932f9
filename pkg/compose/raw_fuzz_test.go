package compose

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadRawHeader: whatever a raw message holds, reading its header
// either refuses it with one line naming the problem or gives envelope
// addresses that are safe on an SMTP command line (no CR, LF or NUL that
// would smuggle a second command, no angle brackets), each with an "@",
// recipients once each.
func FuzzReadRawHeader(f *testing.F) {
	for _, s := range []string{
		"From: Jürgen <j@example.com>\r\nTo: a@example.com, \"B\" <b@example.com>\r\nCc: c@example.com\r\nBcc: a@example.com\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n",
		"To: =?UTF-8?Q?J=C3=BCrgen?= <j@example.com>\r\n\r\n",
		"To: undisclosed-recipients:;\r\n\r\n",
		"To: \"a\\\r\nRCPT TO:<evil@x>\" <a@b>\r\n\r\n",
		"To: <a@b>\r\n\tcontinued@c\r\n\r\n",
		"Subject: no recipients",
		"",
		"\r\n",
		"To: a@b\r\nTo: A@B\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ReadRawHeader(bytes.NewReader(data))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		addrs := append([]string{info.From}, info.Recipients()...)
		for i, a := range addrs {
			if i == 0 && a == "" {
				continue // no From
			}
			if strings.ContainsAny(a, "\r\n\x00<>") || !strings.Contains(a, "@") {
				t.Fatalf("address %q cannot go on an SMTP command line", a)
			}
		}
		seen := map[string]bool{}
		for _, a := range info.Recipients() {
			k := strings.ToLower(a)
			if seen[k] {
				t.Fatalf("recipient %q twice in %v", a, info.Recipients())
			}
			seen[k] = true
		}
	})
}
