package discover

import "testing"

func TestProviderOfHost(t *testing.T) {
	for host, want := range map[string]string{
		"contoso-com.mail.protection.outlook.com.":   ProviderMicrosoft,
		"contoso-com.mail.protection.office365.us":   ProviderMicrosoft, // GCC High
		"contoso-com.mail.protection.outlook.us":     ProviderMicrosoft,
		"contoso.mail.protection.partner.outlook.cn": ProviderMicrosoft,
		"contoso-com.j-v1.mx.microsoft.":             ProviderMicrosoft, // DNSSEC-signed zones
		"mx.microsoft.evil.test":                     "",
		"ASPMX.L.GOOGLE.COM.":                        ProviderGoogle,
		"alt1.aspmx.l.googlemail.com":                ProviderGoogle,
		"mail.protection.outlook.com.evil.test":      "",
		"notgoogle.com":                              "",
		"mx.example.org":                             "",
	} {
		if got := providerOfHost(host); got != want {
			t.Errorf("providerOfHost(%q) = %q, want %q", host, got, want)
		}
	}
}
