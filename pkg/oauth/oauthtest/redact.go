package oauthtest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// RedactForm renders a token request's form as a test log may show it:
// one field per line, sorted; a JWT assertion (client_assertion, or the
// JWT-bearer grant's assertion) with its header and claims decoded and its
// signature redacted, since the signed token could be replayed until it
// expires; every other credential replaced by its length.
func RedactForm(form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := form.Get(k)
		switch k {
		case "client_assertion", "assertion":
			v = redactJWT(v)
		case "client_secret", "refresh_token", "code", "code_verifier", "password":
			v = fmt.Sprintf("[redacted, %d bytes]", len(v))
		}
		fmt.Fprintf(&b, "  %s=%s\n", k, v)
	}
	return b.String()
}

// redactJWT shows a compact JWT's header and claims and hides its
// signature; anything else is only measured.
func redactJWT(s string) string {
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		h, herr := base64.RawURLEncoding.DecodeString(parts[0])
		c, cerr := base64.RawURLEncoding.DecodeString(parts[1])
		if herr == nil && cerr == nil {
			return fmt.Sprintf("%s.%s.[signature redacted]", h, c)
		}
	}
	return fmt.Sprintf("[redacted, %d bytes]", len(s))
}
