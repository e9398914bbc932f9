package oauth_test

import (
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// FuzzParseServiceAccountKey: whatever file is given as a key, the parser
// returns a key or one sentence that never quotes the private key.
func FuzzParseServiceAccountKey(f *testing.F) {
	good, _ := oauthtest.NewServiceAccountKey("a@b.iam.gserviceaccount.com", "1", "https://oauth2.googleapis.com/token")
	f.Add(good)
	f.Add([]byte(`{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"}`))
	f.Add([]byte(`{"installed":{"client_id":"x"}}`))
	f.Add([]byte(`{"type":"\u0000\n"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := oauth.ParseServiceAccountKey(data)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "BEGIN") {
				t.Fatalf("the error is not one clean sentence: %q", msg)
			}
			return
		}
		if k.ClientEmail == "" || k.Type != "service_account" {
			t.Fatalf("accepted a key without client_email or of type %q", k.Type)
		}
	})
}
