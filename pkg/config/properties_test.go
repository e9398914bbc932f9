package config_test

import (
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/diagnose"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/smtp"
)

// Every property a package reads is known to the config check, or a user
// setting it would be refused.
func TestKnownPropertiesCoverEveryReader(t *testing.T) {
	for _, k := range []string{connect.PropAllowPlaintextAuth, connect.PropTLSCAFile, connect.PropTLSInsecure, connect.PropGraphURL,
		pop3.TwoLineProperty, smtp.HeloNameProperty, diagnose.PropTokenInfoURL} {
		if msg := config.UnknownProperty(k); msg != "" {
			t.Errorf("property %s, read by mailport, is refused: %s", k, msg)
		}
	}
	if got := config.UnknownProperty("tls_ca"); got == "" {
		t.Error("tls_ca is accepted")
	}
}
