package oauth_test

import (
	"encoding/json"
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
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("the error is not one line: %q", msg)
			}
			var kf struct {
				PrivateKey string `json:"private_key"`
			}
			if json.Unmarshal(data, &kf) == nil && len(kf.PrivateKey) >= 8 && strings.Contains(msg, kf.PrivateKey) {
				t.Fatalf("the error quotes the private key: %q", msg)
			}
			return
		}
		if k.ClientEmail == "" || k.Type != "service_account" {
			t.Fatalf("accepted a key without client_email or of type %q", k.Type)
		}
	})
}
