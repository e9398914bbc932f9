package cmdutil

import (
	"strings"
	"testing"
)

func TestEnumNormalize(t *testing.T) {
	tests := []struct {
		enum Enum
		in   string
		want string
	}{
		{EnumEncryption, "SSL", "ssl"}, {EnumEncryption, "tls", "ssl"}, {EnumEncryption, "Implicit", "ssl"},
		{EnumEncryption, "implicit-tls", "ssl"}, {EnumEncryption, "SSL/TLS", "ssl"},
		{EnumEncryption, "STARTTLS", "starttls"}, {EnumEncryption, "start-tls", "starttls"}, {EnumEncryption, "start_tls", "starttls"},
		{EnumEncryption, "plain", "none"}, {EnumEncryption, "None", "none"}, {EnumEncryption, " off ", "none"},
		{EnumProtocol, "graph", "microsoft"}, {EnumProtocol, "Microsoft", "microsoft"}, {EnumProtocol, "POP", "pop3"}, {EnumProtocol, "imaps", "imap"},
		{EnumAuth, "password", "basic"}, {EnumAuth, "OAuth", "oauth2"}, {EnumAuth, "XOAUTH2", "oauth2"},
		{EnumType, "In", "inbound"}, {EnumType, "outgoing", "outbound"},
		{EnumOnReceived, "Exec", "exec"}, {EnumOnReceived, "run", "exec"},
		{EnumPreset, "Office365", "office365"}, {EnumPreset, "m365", "office365"}, {EnumPreset, "google", "gmail"}, {EnumPreset, "hotmail", "outlook"},
		{EnumProvider, "Azure", "microsoft"}, {EnumProvider, "entra", "microsoft"}, {EnumProvider, "custom", "generic"},
		{EnumFlow, "client-credentials", "client_credentials"}, {EnumFlow, "device-code", "device"}, {EnumFlow, "browser", "user"},
		{EnumFor, "Graph", "graph"}, {EnumFor, "microsoft", "graph"},
		{EnumSecrets, "Keyring", "keyring"}, {EnumSecrets, "FILE", "file"},
		{EnumFormat, "Maildir", "maildir"}, {EnumFormat, "EML", "eml"},
	}
	for _, tt := range tests {
		got, err := tt.enum.Normalize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := EnumEncryption.Normalize("ssh")
	if err == nil || err.Error() != `"ssh" is not one of ssl, starttls, none` {
		t.Fatalf("unknown value: %v", err)
	}
}

// Every alias names a value of its own enum, and no alias shadows a value.
func TestEnumAliasesAreCanonical(t *testing.T) {
	for _, e := range []Enum{EnumType, EnumProtocol, EnumEncryption, EnumAuth, EnumOnReceived, EnumPreset, EnumProvider, EnumFlow, EnumFor, EnumSecrets, EnumFormat} {
		values := map[string]bool{}
		for _, v := range e.Values {
			values[enumKey(v)] = true
		}
		for alias, v := range e.Aliases {
			if !values[enumKey(v)] {
				t.Errorf("alias %q of %s names %q, not a value", alias, strings.Join(e.Values, "|"), v)
			}
			if values[enumKey(alias)] {
				t.Errorf("alias %q of %s shadows a value", alias, strings.Join(e.Values, "|"))
			}
		}
	}
}
