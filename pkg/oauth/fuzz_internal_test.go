package oauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseJWT: whatever a token endpoint hands out as an access token,
// reading its claims never panics, accepts exactly the three-part tokens
// whose middle part is base64url of a JSON object, and reads aud, scp,
// roles and the user from it as sent.
func FuzzParseJWT(f *testing.F) {
	for _, s := range []string{
		`{"aud":"https://outlook.office.com","scp":"IMAP.AccessAsUser.All SMTP.Send","tid":"t","upn":"a@b","exp":1795000000}`,
		`{"aud":["00000003-0000-0000-c000-000000000000",7],"roles":["Mail.ReadWrite",null],"unique_name":"u@x"}`,
		`{"preferred_username":"p@x","email":"e@x","exp":1e300}`,
		`null`, `[]`, `"x"`, `{`, ``, `{"exp":-1e20,"scp":""}`,
	} {
		f.Add("eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(s)) + ".sig")
	}
	f.Add("ya29.a0opaque")
	f.Add("a.b.c.d")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, ok := ParseJWT(tok)
		parts := strings.Split(tok, ".")
		var all map[string]any
		want := len(parts) == 3
		if want {
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
			want = err == nil && json.Unmarshal(raw, &all) == nil
		}
		if ok != want {
			t.Fatalf("ParseJWT(%q) ok = %v, want %v", tok, ok, want)
		}
		if !ok {
			return
		}
		if aud, isStr := all["aud"].(string); isStr && (len(c.Audience) != 1 || c.Audience[0] != aud) {
			t.Fatalf("aud %q read as %q", aud, c.Audience)
		}
		if scp, isStr := all["scp"].(string); isStr && strings.Join(c.Scopes, " ") != strings.Join(strings.Fields(scp), " ") {
			t.Fatalf("scp %q read as %q", scp, c.Scopes)
		}
		if upn, isStr := all["upn"].(string); isStr && upn != "" && c.User() != upn {
			t.Fatalf("upn %q, User() %q", upn, c.User())
		}
		_ = c.claimString("upn")
	})
}

// FuzzParseTokenResponse: whatever a token endpoint answers, the token
// either comes with an access token and an expiry that is unknown or
// within a year (never in the past, never an overflow), or the answer is
// refused; and the refusal of an error answer is one line.
func FuzzParseTokenResponse(f *testing.F) {
	for _, s := range []string{
		`{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0.eyJ1.c","refresh_token":"0.AR","scope":"x"}`,
		`{"access_token":"a","expires_in":"3599"}`,
		`{"access_token":"a","expires_in":1e300}`,
		`{"access_token":"a","expires_in":-5}`,
		`{"access_token":"a","expires_in":"9223372036854775807"}`,
		`{"access_token":"","refresh_token":"r"}`,
		`{"error":"invalid_grant","error_description":"AADSTS70000: The provided value is not valid.\r\nTrace ID: 1","error_codes":[70000]}`,
		`{"error":"bad\nline","error_description":"ü` + strings.Repeat("ü", 150) + `"}`,
		`error=invalid_client&error_description=Bad+secret`,
		`<html>502 Bad Gateway</html>`,
		``,
	} {
		f.Add([]byte(s), 400)
	}
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		if len(body) > 1<<20 {
			body = body[:1<<20] // what postToken reads at most
		}
		tok, err := parseTokenResponse(body, now)
		if err == nil {
			if tok.AccessToken == "" {
				t.Fatal("a token without an access token")
			}
			if !tok.Expiry.IsZero() && (!tok.Expiry.After(now) || tok.Expiry.After(now.Add(maxExpiresIn*time.Second))) {
				t.Fatalf("expiry %v of a token issued at %v", tok.Expiry, now)
			}
		}
		pe := parseProviderError("token", status, body, nil)
		msg := pe.Error()
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("refusal of more than one line: %q", msg)
		}
		if utf8.Valid(body) && !utf8.ValidString(msg) {
			t.Fatalf("valid UTF-8 in, invalid out: %q", msg)
		}
	})
}
