package discover

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzMXHost: whatever name an MX record carries, the provider it names is
// one whose suffix the name really has, and the registered domain is a
// suffix of it.
func FuzzMXHost(f *testing.F) {
	for _, s := range []string{"contoso-com.mail.protection.outlook.com.", "contoso-com.j-v1.mx.microsoft.", "ASPMX.L.GOOGLE.COM.", ".", "", "google.com.evil.test",
		"evil.test.mail.protection.outlook.com.attacker.test", "xn--mnchen-3ya.de.", "a.b.co.uk", "\x00.google.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		switch providerOfHost(host) {
		case ProviderMicrosoft:
			if !strings.Contains(h, ".mail.protection.") && !strings.HasSuffix(h, ".mx.microsoft") {
				t.Fatalf("%q taken for Microsoft", host)
			}
		case ProviderGoogle:
			if !(h == "google.com" || h == "googlemail.com" || strings.HasSuffix(h, ".google.com") || strings.HasSuffix(h, ".googlemail.com")) {
				t.Fatalf("%q taken for Google", host)
			}
		}
		if rd := RegisteredDomain(host); rd != "" && !strings.HasSuffix(h, rd) {
			t.Fatalf("RegisteredDomain(%q) = %q", host, rd)
		}
		if validDomain(h) && strings.ContainsAny(h, " /:@\x00") {
			t.Fatalf("validDomain(%q)", h)
		}
	})
}

// FuzzOpenIDConfig: whatever Microsoft's OpenID configuration URL answers,
// the tenant taken is a lower-case GUID or nothing, and the cloud is one
// mailport knows or nothing.
func FuzzOpenIDConfig(f *testing.F) {
	const id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for _, s := range []string{
		`{"issuer":"https://login.microsoftonline.com/` + id + `/v2.0","token_endpoint":"https://login.microsoftonline.com/` + id + `/oauth2/v2.0/token"}`,
		`{"issuer":"https://login.microsoftonline.us/` + strings.ToUpper(id) + `/v2.0"}`,
		`{"issuer":"http://login.microsoftonline.com/` + id + `/v2.0"}`,
		`{"issuer":"https://login.evil.test/` + id + `/v2.0"}`,
		`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token"}`,
		`{"error":"invalid_tenant"`, `[]`, `{"issuer":1}`, `{"issuer":"\u0000"}`, strings.Repeat("[", 10000),
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{"": true, "global": true, "usgov": true, "usgov-dod": true, "china": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxJSON {
			return
		}
		var oc openIDConfig
		if json.Unmarshal(data, &oc) != nil {
			return
		}
		tenant, cloud := tenantOf(oc)
		if tenant != "" && (!isGUID(tenant) || tenant != strings.ToLower(tenant)) {
			t.Fatalf("tenant %q from %q", tenant, data)
		}
		if tenant == "" && cloud != "" || !known[cloud] {
			t.Fatalf("cloud %q (tenant %q) from %q", cloud, tenant, data)
		}
	})
}
