package oauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

func postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return resp.StatusCode, m
}

const (
	k8sIssuer  = "https://oidc.prod-aks.azure.com/3f0c1a2b/"
	k8sSubject = "system:serviceaccount:mail:fetcher"
)

// fedEnv is an env whose token config is federated (client credentials,
// no secret anywhere) and an app that trusts iss for subject.
func fedEnv(t *testing.T, iss *oauthtest.Issuer, subject string) *env {
	t.Helper()
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.srv.AddClient(oauthtest.Client{ID: clientID, Federated: []oauthtest.FederatedIdentity{iss.Identity(subject, config.DefaultFederatedAudience)}, AppMailbox: user})
	tc := e.tc()
	tc.Flow, tc.Credential = config.FlowClientCredentials, config.CredentialFederated
	tc.Scopes = []string{"https://outlook.office365.com/.default"}
	if err := e.store.Delete("client-secret/tc"); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFederatedTokenFileIsReadOnEveryRequest: Kubernetes rotates the
// projected token in place; each token request sends the file's content
// of that moment.
func TestFederatedTokenFileIsReadOnEveryRequest(t *testing.T) {
	iss := oauthtest.NewIssuer(k8sIssuer)
	e := fedEnv(t, iss, k8sSubject)
	path := filepath.Join(t.TempDir(), "token")
	e.tc().FederatedTokenFile = path
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		tok := iss.Sign(k8sSubject, config.DefaultFederatedAudience, time.Now(), time.Hour)
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ClientCredentialsToken(ctx(t), nil); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		form := e.srv.LastTokenRequest()
		t.Logf("the token endpoint received: %s", redacted(form))
		if form.Get("client_assertion") != tok || form.Get("client_assertion_type") != oauth.ClientAssertionType || form.Get("client_secret") != "" {
			t.Fatalf("request %d sent %s, want the file's current token as the assertion", i+1, redacted(form))
		}
	}
	// An expired token in the file is Microsoft's AADSTS700024.
	if err := os.WriteFile(path, []byte(iss.Sign(k8sSubject, config.DefaultFederatedAudience, time.Now().Add(-2*time.Hour), time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientCredentialsToken(ctx(t), nil); err == nil || !strings.Contains(err.Error(), "AADSTS700024") {
		t.Fatalf("expired token: err = %v, want AADSTS700024", err)
	}
	// An empty file says so before any request.
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if want := "the federated token file " + path + " is empty"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("empty file: err = %v, want %q", err, want)
	}
	// A missing file and a directory (the volume's mount point) say which.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if want := "token config tc: the federated token file " + path + " does not exist: the platform has not mounted the token (check the pod's projected volume, or the workflow step that writes it), or the path is wrong"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("missing file: err = %v, want %q", err, want)
	}
	e.tc().FederatedTokenFile = filepath.Dir(path)
	if c, _, err = e.m.Client("tc"); err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if want := "the federated token file " + filepath.Dir(path) + " is a directory: name the token file in it"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("directory: err = %v, want %q", err, want)
	}
}

func TestFederatedTokenFileFromAzureVariable(t *testing.T) {
	iss := oauthtest.NewIssuer(k8sIssuer)
	e := fedEnv(t, iss, k8sSubject)
	st, err := e.m.Inspect("support")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != oauth.StateNotAuthenticated || !strings.Contains(st.Cause, "names no token") || !strings.Contains(st.Cause, "AZURE_FEDERATED_TOKEN_FILE") {
		t.Fatalf("without a file: %s %q", st.State, st.Cause)
	}
	path := filepath.Join(t.TempDir(), "azure-identity-token")
	tok := iss.Sign(k8sSubject, config.DefaultFederatedAudience, time.Now(), time.Hour)
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	e.envVars[oauth.EnvAzureFederatedTokenFile] = path
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientCredentialsToken(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.LastTokenRequest().Get("client_assertion"); got != tok {
		t.Fatalf("sent %q, want the token of AZURE_FEDERATED_TOKEN_FILE", got)
	}
}

func TestFederatedSubjectMismatch(t *testing.T) {
	iss := oauthtest.NewIssuer(k8sIssuer)
	e := fedEnv(t, iss, "system:serviceaccount:mail:other")
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(iss.Sign(k8sSubject, config.DefaultFederatedAudience, time.Now(), time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.tc().FederatedTokenFile = path
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "AADSTS70021") || !strings.Contains(err.Error(), "Assertion Subject: '"+k8sSubject+"'") {
		t.Fatalf("err = %v, want AADSTS70021 naming the subject", err)
	}
}

func TestFederatedGitHubActions(t *testing.T) {
	iss := oauthtest.NewIssuer("https://token.actions.githubusercontent.com")
	const subject = "repo:contoso/mail-jobs:ref:refs/heads/main"
	e := fedEnv(t, iss, subject)
	e.tc().FederatedToken = config.FederatedGitHub
	gh := oauthtest.NewGitHubOIDC(iss, subject)
	t.Cleanup(gh.Close)

	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if want := "ACTIONS_ID_TOKEN_REQUEST_URL is not set: the workflow needs `permissions: id-token: write`"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	st, err := e.m.Inspect("support")
	if err != nil || st.State != oauth.StateNotAuthenticated || !strings.HasPrefix(st.Cause, "ACTIONS_ID_TOKEN_REQUEST_URL is not set: the workflow needs `permissions: id-token: write`") {
		t.Fatalf("status outside GitHub Actions: %v %s %q", err, st.State, st.Cause)
	}
	e.envVars[oauth.EnvGitHubTokenURL] = gh.URL
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if want := "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: the workflow needs `permissions: id-token: write`"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	e.envVars[oauth.EnvGitHubTokenRequestToken] = gh.RequestToken
	// status refuses a cleartext URL of another machine as the request would.
	e.envVars[oauth.EnvGitHubTokenURL] = "http://pipelines.example.test/idtoken"
	if st, err := e.m.Inspect("support"); err != nil || st.State != oauth.StateNotAuthenticated || !strings.HasPrefix(st.Cause, "ACTIONS_ID_TOKEN_REQUEST_URL is an http:// URL of pipelines.example.test") {
		t.Fatalf("status with an http:// URL: %v %s %q", err, st.State, st.Cause)
	}
	e.envVars[oauth.EnvGitHubTokenURL] = gh.URL
	if st, err := e.m.Inspect("support"); err != nil || st.State != oauth.StateAuthenticated {
		t.Fatalf("status in a job: %v %s %q", err, st.State, st.Cause)
	}
	if _, err := c.ClientCredentialsToken(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("the token endpoint received: %s", redacted(e.srv.LastTokenRequest()))
	if got := gh.Audiences(); len(got) != 1 || got[0] != "api://AzureADTokenExchange" {
		t.Fatalf("GitHub was asked for audiences %q, want api://AzureADTokenExchange once", got)
	}
	// Another audience is asked for when configured, and Entra refuses
	// it when the federated credential has the default.
	e.tc().FederatedAudience = "api://mail-jobs"
	c, _, err = e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "AADSTS70021") || !strings.Contains(err.Error(), "Assertion Audience: 'api://mail-jobs'") {
		t.Fatalf("err = %v, want AADSTS70021 naming the audience", err)
	}
	// A wrong request token is GitHub's refusal, named.
	e.envVars[oauth.EnvGitHubTokenRequestToken] = "wrong"
	_, err = c.ClientCredentialsToken(ctx(t), nil)
	if err == nil || !strings.Contains(err.Error(), "refused the OIDC token request with 401") {
		t.Fatalf("err = %v, want GitHub's 401", err)
	}
}
