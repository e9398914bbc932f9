package diagnose

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// TestAssertionRefusals: Microsoft's refusals of certificate and
// federated client assertions, produced with real signatures by the fake
// Entra, each lead to its catalog entry.
func TestAssertionRefusals(t *testing.T) {
	const subject = "system:serviceaccount:mail:fetcher"
	iss := oauthtest.NewIssuer("https://oidc.example.test/cluster")
	mine, err := testcert.NewClient("mailport-ci", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.NewClient("someone-else", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, entry string
		client      oauthtest.Client
		token       string // the federated token file's content; "" for the certificate
	}{
		{"certificate not registered", "aadsts700027", oauthtest.Client{Certificate: other.Cert}, ""},
		{"expired federated token", "aadsts700024", oauthtest.Client{Federated: []oauthtest.FederatedIdentity{iss.Identity(subject, config.DefaultFederatedAudience)}},
			iss.Sign(subject, config.DefaultFederatedAudience, time.Now().Add(-3*time.Hour), time.Hour)},
		{"subject not federated", "aadsts70021", oauthtest.Client{Federated: []oauthtest.FederatedIdentity{iss.Identity("system:serviceaccount:mail:other", config.DefaultFederatedAudience)}},
			iss.Sign(subject, config.DefaultFederatedAudience, time.Now(), time.Hour)},
		{"file holds no token", "aadsts50027", oauthtest.Client{Federated: []oauthtest.FederatedIdentity{iss.Identity(subject, config.DefaultFederatedAudience)}},
			"kubelet-not-ready"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			prov := oauthtest.New(oauthtest.Options{})
			defer prov.Close()
			c := tt.client
			c.ID = testClientID
			prov.AddClient(c)
			w := newWorld(t)
			tc := microsoftTC(w, prov, "ms", "", config.IMAP)
			tc.Flow, tc.Scopes = config.FlowClientCredentials, []string{"https://outlook.office365.com/.default"}
			if tt.token == "" {
				tc.Credential = config.CredentialCertificate
				w.store.Set(secret.ClientSecretKey("ms"), string(mine.PEM))
			} else {
				tc.Credential = config.CredentialFederated
				tc.FederatedTokenFile = filepath.Join(t.TempDir(), "token")
				if err := os.WriteFile(tc.FederatedTokenFile, []byte(tt.token), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
			a.TokenConfig = "ms"
			rep := w.run("box", Options{})
			expect(t, rep, "secrets", OK, "")
			expect(t, rep, "token", Fail, tt.entry)
		})
	}
}
