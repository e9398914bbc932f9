package oauth

import (
	"strings"
	"testing"
)

// FuzzParseGitHubIDToken: whatever GitHub's OIDC endpoint answers, the
// parser returns a JWT-shaped token or an error, never panics, and refuses
// answers larger than MaxFederatedToken.
func FuzzParseGitHubIDToken(f *testing.F) {
	f.Add([]byte(`{"count":1,"value":"eyJh.eyJi.c2ln"}`))
	f.Add([]byte(`{"value":""}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`{"value":"a b.c.d"}`))
	f.Add([]byte(`<html>Bad gateway</html>`))
	f.Add([]byte(`{"value":"` + strings.Repeat("a", 70000) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseGitHubIDToken(body)
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with a token", err)
			}
			return
		}
		if len(body) > MaxFederatedToken || strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") || tok == "" {
			t.Fatalf("accepted %q from %d bytes", tok, len(body))
		}
	})
}
