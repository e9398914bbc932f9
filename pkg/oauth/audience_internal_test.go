package oauth

import (
	"testing"

	"github.com/mailport/mailport/pkg/config"
)

// The warning after a sign-in judges the token's audience in the token
// config's cloud: a correct GCC High token is not flagged.
func TestAudienceWarningPerCloud(t *testing.T) {
	global := &config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: "https://login.microsoftonline.com/contoso.com/"}
	gov := &config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: "https://login.microsoftonline.us/contoso.us/"}
	imapAcct := &config.Account{Protocol: config.IMAP}
	graphAcct := &config.Account{Protocol: config.Microsoft}
	for _, tt := range []struct {
		name string
		tc   *config.TokenConfig
		acct *config.Account
		aud  string
		want string
	}{
		{"global imap ok", global, imapAcct, "https://outlook.office.com", ""},
		{"global imap app id", global, imapAcct, ExchangeAppID, ""},
		{"global imap graph token", global, imapAcct, "https://graph.microsoft.com",
			"the token is for https://graph.microsoft.com, but imap needs a token for https://outlook.office.com: fix the token config's scopes"},
		{"usgov imap ok", gov, imapAcct, "https://outlook.office365.us", ""},
		{"usgov graph ok", gov, graphAcct, "https://graph.microsoft.us", ""},
		{"usgov imap global token", gov, imapAcct, "https://outlook.office.com",
			"the token is for https://outlook.office.com, but imap needs a token for https://outlook.office365.us: fix the token config's scopes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := &Token{Claims: &Claims{Audience: []string{tt.aud}}}
			if got := audienceWarning(tt.tc, tt.acct, tok); got != tt.want {
				t.Errorf("audienceWarning = %q\nwant %q", got, tt.want)
			}
		})
	}
}
