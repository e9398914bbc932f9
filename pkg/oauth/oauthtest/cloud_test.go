package oauthtest_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// TestNationalCloudAudiences: a token's aud is the resource of the first
// scope naming one, whatever its cloud, so the code under test meets the
// audiences a national cloud issues.
func TestNationalCloudAudiences(t *testing.T) {
	deviceToken := func(t *testing.T, s *oauthtest.Server, scope string) map[string]any {
		t.Helper()
		base := s.MicrosoftBaseURL("")
		_, d := post(t, base+"oauth2/v2.0/devicecode", url.Values{"client_id": {id}, "scope": {scope}})
		status, m := post(t, base+"oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {id}, "device_code": {d["device_code"].(string)}})
		if status != 200 {
			t.Fatalf("%s: %d %v", scope, status, m)
		}
		return m
	}
	for _, tt := range []struct {
		name, graph, scope, aud, scp, granted string
	}{
		{"GCC High IMAP", "", "https://outlook.office365.us/IMAP.AccessAsUser.All offline_access", "https://outlook.office365.us", "IMAP.AccessAsUser.All", "https://outlook.office365.us/IMAP.AccessAsUser.All"},
		{"DoD SMTP", "", "https://outlook-dod.office365.us/SMTP.Send offline_access", "https://outlook-dod.office365.us", "SMTP.Send", "https://outlook-dod.office365.us/SMTP.Send"},
		{"China POP", "", "https://partner.outlook.cn/POP.AccessAsUser.All", "https://partner.outlook.cn", "POP.AccessAsUser.All", "https://partner.outlook.cn/POP.AccessAsUser.All"},
		{"GCC High Graph first", "", "https://graph.microsoft.us/mail.read https://outlook.office365.us/IMAP.AccessAsUser.All openid", "https://graph.microsoft.us", "mail.read", "openid https://graph.microsoft.us/mail.read"},
		{"bare names, global authority", "", "mail.read openid", "https://graph.microsoft.com", "mail.read", "mail.read openid"},
		{"bare names, .us authority", "https://graph.microsoft.us", "mail.read openid", "https://graph.microsoft.us", "mail.read", "mail.read openid"},
		{"OpenID only, .us authority", "https://graph.microsoft.us", "openid email", "https://graph.microsoft.us", "", "openid email"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := oauthtest.New(oauthtest.Options{GraphResource: tt.graph})
			defer s.Close()
			s.AddClient(oauthtest.Client{ID: id})
			m := deviceToken(t, s, tt.scope)
			c := claims(t, m["access_token"].(string))
			if c["aud"] != tt.aud || c["scp"] != tt.scp {
				t.Errorf("aud %v scp %v, want %s %q", c["aud"], c["scp"], tt.aud, tt.scp)
			}
			if got := strings.Fields(m["scope"].(string)); !sameSet(got, strings.Fields(tt.granted)) {
				t.Errorf("granted scope %q, want %q", m["scope"], tt.granted)
			}
			s.RequireIntrospection(tt.aud, tt.scp)
			if status, r := introspect(t, s, m["access_token"].(string)); status != 200 || r["aud"] != tt.aud {
				t.Errorf("introspection: %d %v", status, r)
			}
		})
	}
}

func TestNationalCloudAppRoles(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id, Secret: secret})
	tokenURL := s.MicrosoftBaseURL("") + "oauth2/v2.0/token"
	for scope, want := range map[string]string{
		"https://graph.microsoft.us/.default":              "https://graph.microsoft.us Mail.ReadWrite Mail.Send",
		"https://dod-graph.microsoft.us/.default":          "https://dod-graph.microsoft.us Mail.ReadWrite Mail.Send",
		"https://microsoftgraph.chinacloudapi.cn/.default": "https://microsoftgraph.chinacloudapi.cn Mail.ReadWrite Mail.Send",
		"https://outlook.office365.us/.default":            "https://outlook.office365.us IMAP.AccessAsApp POP.AccessAsApp SMTP.SendAsApp",
	} {
		status, m := post(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {scope}})
		if status != 200 {
			t.Fatalf("%s: %d %v", scope, status, m)
		}
		c := claims(t, m["access_token"].(string))
		got := c["aud"].(string)
		for _, r := range c["roles"].([]any) {
			got += " " + r.(string)
		}
		if got != want {
			t.Errorf("%s: aud and roles %q, want %q", scope, got, want)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
