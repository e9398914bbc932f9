package config

import (
	"errors"
	"testing"
)

// Parse and Validate never panic, whatever the file holds, and every
// problem they report names a line within the file or none.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\naccounts:\n  a:\n\ttype: inbound\n"))
	f.Add([]byte("version: 1\naccounts:\n  a:\n    foldr: x\n    host: a:993\n    host: b\n    properties: {graph_url: https://graph.microsoft.com, tls_ca: x}\n"))
	f.Add([]byte("version: 1\nsecrets: file\naccounts:\n  a: &x\n    type: inbound\n  b: *x\n  a: {}\n"))
	f.Add([]byte("\t\n \t: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		c, err := Parse("/etc/mailport/config.yaml", data)
		lines := 1
		for _, b := range data {
			if b == '\n' || b == '\r' { // YAML ends lines at either
				lines++
			}
		}
		var errs Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				if e.Line < 0 || e.Line > lines+1 {
					t.Fatalf("problem at line %d of a %d-line file: %v", e.Line, lines, e)
				}
			}
		}
		if c != nil {
			_ = c.Validate()
		}
	})
}
