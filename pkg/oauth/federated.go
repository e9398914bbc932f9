package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/resolver"
)

// Environment variables of workload identity federation.
const (
	// EnvAzureFederatedTokenFile is set by Azure workload identity (and
	// by hand) to the projected service-account token's path.
	EnvAzureFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
	// EnvGitHubTokenURL and EnvGitHubTokenRequestToken are set by GitHub
	// Actions in jobs with `permissions: id-token: write`.
	EnvGitHubTokenURL          = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubTokenRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// MaxFederatedToken is the largest federated token mailport reads, from a
// file or from GitHub: a JWT is a few kilobytes.
const MaxFederatedToken = 64 << 10

// gitHubTimeout bounds the request for GitHub's OIDC token.
const gitHubTimeout = 20 * time.Second

// FederatedFileAssertions sends the content of path, read anew on every
// token request (Kubernetes rotates projected tokens in place), as the
// client assertion.
func FederatedFileAssertions(path string) AssertionFunc {
	return func(context.Context) (string, error) {
		return readFederatedFile(path)
	}
}

func readFederatedFile(path string) (string, error) {
	// Not opened before it is known to be a file: opening a FIFO would
	// block until something writes to it.
	if info, err := os.Stat(path); err == nil && !info.IsDir() && !info.Mode().IsRegular() {
		return "", fmt.Errorf("the federated token file %s is not a regular file (%s): name the token file the platform writes", path, info.Mode().Type())
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the federated token file %s does not exist: the platform has not mounted the token (check the pod's projected volume, or the workflow step that writes it), or the path is wrong", path)
	}
	if err != nil {
		return "", fmt.Errorf("reading the federated token file: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return "", fmt.Errorf("the federated token file %s is a directory: name the token file in it (e.g. %s)", path, filepath.Join(path, "azure-identity-token"))
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFederatedToken+1))
	if err != nil {
		return "", fmt.Errorf("reading the federated token file %s: %w", path, err)
	}
	if len(b) > MaxFederatedToken {
		return "", fmt.Errorf("the federated token file %s is larger than %d bytes, which no token is: check that it is the projected service-account token", path, MaxFederatedToken)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the federated token file %s is empty: the platform has not written the token yet, or the path is wrong", path)
	}
	return tok, nil
}

// GitHubAssertions asks GitHub Actions for an OIDC token for audience on
// every token request and sends it as the client assertion. getenv reads
// the job's environment; hc nil means a client with a timeout.
func GitHubAssertions(hc *http.Client, getenv func(string) string, audience string) AssertionFunc {
	return func(ctx context.Context) (string, error) {
		return gitHubToken(ctx, hc, getenv, audience)
	}
}

func gitHubToken(ctx context.Context, hc *http.Client, getenv func(string) string, audience string) (string, error) {
	u, bearer, err := gitHubRequest(getenv)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	if hc == nil {
		hc = &http.Client{Timeout: gitHubTimeout, Transport: resolver.Transport(nil, gitHubTimeout)}
	}
	// GitHub answers at the URL it gave; a redirect would carry the
	// request token (same host) or the request elsewhere, so none is
	// followed.
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc = &noRedirect
	ctx, cancel := context.WithTimeout(ctx, gitHubTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("asking GitHub Actions for its OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	host := u.Host
	resp, err := hc.Do(req)
	if err != nil {
		// The URL error would repeat the query; the host says enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("asking GitHub Actions (%s) for its OIDC token: %w", host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFederatedToken+1))
	if err != nil {
		return "", fmt.Errorf("GitHub Actions (%s) did not finish its OIDC token answer: %w", host, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return "", fmt.Errorf("GitHub Actions (%s) answered the OIDC token request with a redirect (%s), which mailport does not follow: check %s", host, resp.Status, EnvGitHubTokenURL)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GitHub Actions (%s) refused the OIDC token request with %s: check that the workflow has `permissions: id-token: write`", host, resp.Status)
	}
	tok, err := parseGitHubIDToken(body)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions (%s) %w", host, err)
	}
	return tok, nil
}

// gitHubRequest reads the job's OIDC request URL and bearer token from
// the environment GitHub Actions sets, and refuses a URL over which the
// bearer would travel in clear.
func gitHubRequest(getenv func(string) string) (*url.URL, string, error) {
	const fix = "the workflow needs `permissions: id-token: write`"
	raw, bearer := getenv(EnvGitHubTokenURL), getenv(EnvGitHubTokenRequestToken)
	if raw == "" {
		return nil, "", fmt.Errorf("%s is not set: %s", EnvGitHubTokenURL, fix)
	}
	if bearer == "" {
		return nil, "", fmt.Errorf("%s is not set: %s", EnvGitHubTokenRequestToken, fix)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", fmt.Errorf("%s is not an http(s) URL", EnvGitHubTokenURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		// GitHub's endpoint is https; over http the request token and the
		// OIDC token would cross the network in clear.
		return nil, "", fmt.Errorf("%s is an http:// URL of %s, but GitHub Actions serves OIDC tokens over https only: mailport does not send the request token in clear", EnvGitHubTokenURL, u.Host)
	}
	return u, bearer, nil
}

// isLoopback reports whether host (no port) is this machine: localhost or
// a loopback address, where http cannot be overheard.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseGitHubIDToken reads {"value": "<JWT>"} (at most MaxFederatedToken
// bytes). Errors complete "GitHub Actions (HOST) ...".
func parseGitHubIDToken(body []byte) (string, error) {
	if len(body) > MaxFederatedToken {
		return "", fmt.Errorf("answered more than %d bytes, which no OIDC token is", MaxFederatedToken)
	}
	var v struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", errors.New("answered something that is not the JSON of an OIDC token")
	}
	if v.Value == nil || strings.TrimSpace(*v.Value) == "" {
		return "", errors.New("answered without a token (no \"value\")")
	}
	tok := strings.TrimSpace(*v.Value)
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") {
		return "", errors.New("answered a value that is not a JWT")
	}
	return tok, nil
}
