package oauthtest_test

import (
	"net/url"
	"sync"
	"testing"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// TestRefreshTokenReuseRevokesTheFamily: with RevokeFamilyOnReuse, a
// refresh token is accepted once; presenting it again is refused and
// revokes what descended from it (the rotated refresh token and its
// access token), as a CI secret burned by a double refresh would be.
func TestRefreshTokenReuseRevokesTheFamily(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{RevokeFamilyOnReuse: true})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id})
	rt := s.IssueRefreshToken(id, []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"})
	tokenURL := s.MicrosoftBaseURL("") + "oauth2/v2.0/token"
	redeem := func(rt string) (int, map[string]any) {
		return post(t, tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}})
	}
	code, m := redeem(rt)
	rt2, _ := m["refresh_token"].(string)
	at, _ := m["access_token"].(string)
	if code != 200 || rt2 == "" || rt2 == rt || at == "" {
		t.Fatalf("first use: %d %v", code, m)
	}
	if _, ok := s.ActiveUser(at); !ok {
		t.Fatal("the new access token is not active")
	}
	if code, m := redeem(rt); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("second use: %d %v", code, m)
	}
	if s.Count("refresh_reuse") != 1 {
		t.Fatalf("refresh_reuse = %d", s.Count("refresh_reuse"))
	}
	if _, ok := s.ActiveUser(at); ok {
		t.Fatal("the access token of the family is still active")
	}
	if code, m := redeem(rt2); code != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("the rotated refresh token after the reuse: %d %v", code, m)
	}
}

// TestConcurrentRedemptionsOfOneRefreshToken: of two simultaneous uses of
// one refresh token, exactly one succeeds.
func TestConcurrentRedemptionsOfOneRefreshToken(t *testing.T) {
	s := oauthtest.New(oauthtest.Options{})
	defer s.Close()
	s.AddClient(oauthtest.Client{ID: id})
	for i := 0; i < 20; i++ {
		rt := s.IssueRefreshToken(id, []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"})
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for j := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[j], _ = post(t, s.MicrosoftBaseURL("")+"oauth2/v2.0/token",
					url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}})
			}()
		}
		wg.Wait()
		if (codes[0] == 200) == (codes[1] == 200) {
			t.Fatalf("round %d: answers %v, want exactly one 200", i, codes)
		}
	}
}
