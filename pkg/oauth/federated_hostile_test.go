package oauth_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/oauth"
)

// TestGitHubOIDCEndpointMisbehaving: an ACTIONS_ID_TOKEN_REQUEST_URL that
// stalls, trickles or floods costs at most the HTTP client's timeout and a
// bounded heap, and ends in one sentence naming GitHub Actions.
func TestGitHubOIDCEndpointMisbehaving(t *testing.T) {
	const header = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
	readRequest := func(c net.Conn) {
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok || line == "" {
				return
			}
		}
	}
	cases := []struct {
		name   string
		script func(s **hostile.Server) hostile.Script
		want   string
	}{
		{"stalls", func(s **hostile.Server) hostile.Script {
			return func(c net.Conn) { readRequest(c); hostile.Stall(*s, c) }
		}, "Client.Timeout exceeded"},
		{"trickles", func(s **hostile.Server) hostile.Script {
			return func(c net.Conn) {
				readRequest(c)
				c.Write([]byte(header + `{"value":"`))
				hostile.Trickle(*s, c, []byte("a"), 20*time.Millisecond)
			}
		}, "did not finish its OIDC token answer"},
		{"floods", func(s **hostile.Server) hostile.Script {
			return func(c net.Conn) {
				readRequest(c)
				c.Write([]byte(header + `{"value":"`))
				hostile.Flood(c, []byte(strings.Repeat("a", 32<<10)))
			}
		}, "answered more than 65536 bytes, which no OIDC token is"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var s *hostile.Server
			s = hostile.Start(t, tt.script(&s))
			env := map[string]string{
				oauth.EnvGitHubTokenURL:          "http://" + s.Addr() + "/idtoken?api-version=2.0",
				oauth.EnvGitHubTokenRequestToken: "request-token",
			}
			hc := &http.Client{Timeout: 500 * time.Millisecond}
			a := oauth.GitHubAssertions(hc, func(k string) string { return env[k] }, "api://AzureADTokenExchange")
			err := hostile.Bounded(t, 2*time.Second, func() error {
				_, err := a(ctx(t))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "GitHub Actions ("+s.Addr()+")") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming GitHub Actions and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "request-token") {
				t.Fatalf("the error shows the request token: %v", err)
			}
		})
	}
}

func TestFederatedTokenFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(strings.Repeat("a", oauth.MaxFederatedToken+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := oauth.FederatedFileAssertions(path)(ctx(t))
	if want := "the federated token file " + path + " is larger than 65536 bytes"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// roundTripFunc is an http.RoundTripper from a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestGitHubOIDCRefusesCleartextAndRedirects: an http:// request URL of
// another machine is refused before anything is sent (GitHub's is https;
// the request token would cross the network in clear), and a redirect is
// not followed, so the request token reaches no other URL.
func TestGitHubOIDCRefusesCleartextAndRedirects(t *testing.T) {
	sent := false
	hc := &http.Client{Timeout: time.Second, Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent = true
		return nil, errors.New("no network in this test")
	})}
	env := map[string]string{
		oauth.EnvGitHubTokenURL:          "http://pipelines.example.test/idtoken?api-version=2.0",
		oauth.EnvGitHubTokenRequestToken: "request-token-secret",
	}
	getenv := func(k string) string { return env[k] }
	_, err := oauth.GitHubAssertions(hc, getenv, "api://AzureADTokenExchange")(ctx(t))
	if want := "ACTIONS_ID_TOKEN_REQUEST_URL is an http:// URL of pipelines.example.test, but GitHub Actions serves OIDC tokens over https only: mailport does not send the request token in clear"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if sent {
		t.Fatal("the request was sent over http to another machine")
	}

	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		fmt.Fprint(w, `{"value":"a.b.c"}`)
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}))
	defer redirector.Close()
	env[oauth.EnvGitHubTokenURL] = redirector.URL + "/idtoken"
	_, err = oauth.GitHubAssertions(&http.Client{Timeout: time.Second}, getenv, "api://AzureADTokenExchange")(ctx(t))
	if want := "answered the OIDC token request with a redirect (302 Found), which mailport does not follow: check ACTIONS_ID_TOKEN_REQUEST_URL"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed (%d requests elsewhere)", n)
	}
}
