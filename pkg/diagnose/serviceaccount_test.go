package diagnose

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// saWorld is a Gmail IMAP account served by a Google service account with
// domain-wide delegation for acme.example; change adjusts the account at
// the fake before it is registered.
func saWorld(t *testing.T, prov *oauthtest.Server, login string, change func(*oauthtest.ServiceAccount)) *world {
	t.Helper()
	key, sa := oauthtest.NewServiceAccountKey("reader@acme-mail.iam.gserviceaccount.com", "104857600123", prov.GoogleTokenURL())
	sa.Domains, sa.Delegated = []string{"acme.example"}, []string{oauth.ScopeGoogleMail}
	if change != nil {
		change(&sa)
	}
	prov.AddServiceAccount(sa)
	w := newWorld(t)
	w.cfg.TokenConfigs["gsa"] = &config.TokenConfig{Provider: config.ProviderGoogle, Flow: config.FlowServiceAccount, ClientID: sa.Email,
		TokenURL: prov.GoogleTokenURL(), Scopes: []string{oauth.ScopeGoogleMail}, Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, login)
	a.TokenConfig = "gsa"
	a.Properties[PropTokenInfoURL] = prov.URL + "/tokeninfo"
	w.store.Set(secret.ClientSecretKey("gsa"), string(key))
	return w
}

// TestServiceAccountFindings: `test` on an account served by a Google
// service account gets a token without a stored token or refresh token,
// and names each of Google's refusals with its catalog entry.
func TestServiceAccountFindings(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()

	w := saWorld(t, prov, "erin@acme.example", nil)
	rep := w.run("box", Options{})
	expect(t, rep, "secrets", OK, "")
	expect(t, rep, "token", OK, "")
	expect(t, rep, "scopes", OK, "")
	if s := checkOf(rep, "token").Saw; !strings.Contains(s, "service account token issued") || !strings.Contains(s, "user erin@acme.example") {
		t.Errorf("token check saw %q", s)
	}
	if rep.Reauth {
		t.Error("a service account needs no authenticate")
	}

	cases := []struct {
		name   string
		login  string
		change func(*oauthtest.ServiceAccount)
		entry  string
		words  string
	}{
		{"delegation not granted", "erin@acme.example", func(sa *oauthtest.ServiceAccount) { sa.Delegated = nil }, "google-sa-delegation", "Client is unauthorized to retrieve access tokens"},
		{"user outside the domain", "mallory@elsewhere.example", nil, "google-sa-unknown-user", "Invalid email or User ID"},
		{"key deleted at Google", "erin@acme.example", func(sa *oauthtest.ServiceAccount) {
			_, other := oauthtest.NewServiceAccountKey(sa.Email, sa.ClientID, "")
			sa.Key = other.Key
		}, "google-sa-signature", "Invalid JWT Signature."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := saWorld(t, prov, c.login, c.change)
			rep := w.run("box", Options{})
			expect(t, rep, "token", Fail, c.entry)
			if out := render(rep); !strings.Contains(out, c.words) {
				t.Errorf("the report does not show Google's words %q:\n%s", c.words, out)
			}
			if rep.Reauth {
				t.Error("running authenticate cannot fix a service account's refusal: want no reauth")
			}
		})
	}

	t.Run("clock off", func(t *testing.T) {
		w := saWorld(t, prov, "erin@acme.example", nil)
		o := w.opener()
		o.OAuth.Now = func() time.Time { return time.Now().Add(3 * time.Hour) } // this machine's clock is off
		rep, err := Run(context.Background(), "box", Options{Opener: o, Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, rep, "token", Fail, "google-sa-clock")
	})

	t.Run("no key", func(t *testing.T) {
		w := saWorld(t, prov, "erin@acme.example", nil)
		w.store.Delete(secret.ClientSecretKey("gsa"))
		rep := w.run("box", Options{})
		expect(t, rep, "secrets", Fail, "google-sa-key-missing")
		expect(t, rep, "token", Skip, "")
	})
}

func checkOf(rep *Report, id string) *Check {
	for i := range rep.Checks {
		if rep.Checks[i].ID == id {
			return &rep.Checks[i]
		}
	}
	return &Check{}
}
