package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("oauthtest: no randomness: %v", err)) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// guidFor derives a stable GUID-shaped id from a name (tenant ids, object ids).
func guidFor(name string) string {
	h := sha256.Sum256([]byte(name))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// jwt builds a JWT-shaped token: a real header and payload, and a random
// signature nobody checks (the code under test decodes without verifying,
// and Dovecot asks the introspection endpoint).
func jwt(claims map[string]any) string {
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "oauthtest"})
	body, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("oauthtest: claims not encodable: %v", err)) // only built from strings and numbers
	}
	return base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body) + "." + randomString(64)
}

var oidc = map[string]bool{"openid": true, "email": true, "profile": true, "offline_access": true}

// resourceOf returns the resource a Microsoft scope names ("" for OpenID
// scopes); bare names are those of graph, the authority's cloud's Graph.
func resourceOf(scope, graph string) string {
	l := strings.ToLower(scope)
	if oidc[l] || l == "" {
		return ""
	}
	if !strings.Contains(l, "://") {
		return graph
	}
	return strings.TrimRight(scope[:strings.LastIndexByte(scope, '/')], "/")
}

// msGrant is what Microsoft grants for requested scopes: the first
// resource, its scopes (short names, for scp) and the scope string of the
// token response.
type msGrant struct {
	resource string
	short    []string
	granted  []string
	openid   bool
	email    bool
	offline  bool
}

// microsoftGrant: as at Microsoft, the token is for the resource of the
// first scope naming one, in whatever cloud that resource is (a national
// cloud's scope gives a national audience); graph is the Graph of bare
// names and of requests naming only OpenID scopes.
func microsoftGrant(scopes []string, graph string) msGrant {
	var g msGrant
	for _, s := range scopes {
		switch strings.ToLower(s) {
		case "openid":
			g.openid = true
		case "email":
			g.email = true
		case "offline_access":
			g.offline = true
		}
		if r := resourceOf(s, graph); r != "" && g.resource == "" {
			g.resource = r
		}
	}
	if g.resource == "" {
		g.resource = graph // Microsoft's default when only OpenID scopes are asked
	}
	for _, s := range scopes {
		r := resourceOf(s, graph)
		if r == "" {
			if l := strings.ToLower(s); l == "openid" || l == "email" || l == "profile" {
				g.granted = append(g.granted, l)
			}
			continue
		}
		if !strings.EqualFold(r, g.resource) {
			continue // a token serves one resource
		}
		short := s[strings.LastIndexByte(s, '/')+1:]
		g.short = append(g.short, short)
		g.granted = append(g.granted, s)
	}
	return g
}
