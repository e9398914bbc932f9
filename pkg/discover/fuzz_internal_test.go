package discover

import (
	"strings"
	"testing"
)

// FuzzMXHost: whatever name an MX record carries, the provider it names is
// one whose suffix the name really has, and the registered domain is a
// suffix of it.
func FuzzMXHost(f *testing.F) {
	for _, s := range []string{"contoso-com.mail.protection.outlook.com.", "ASPMX.L.GOOGLE.COM.", ".", "", "google.com.evil.test",
		"evil.test.mail.protection.outlook.com.attacker.test", "xn--mnchen-3ya.de.", "a.b.co.uk", "\x00.google.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		switch providerOfHost(host) {
		case ProviderMicrosoft:
			if !strings.Contains(h, ".mail.protection.") {
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
