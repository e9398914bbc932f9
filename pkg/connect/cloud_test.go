package connect

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

func TestGraphURLFollowsTheTokenConfigsCloud(t *testing.T) {
	cfg := config.New("")
	for name, base := range map[string]string{
		"global": "https://login.microsoftonline.com/contoso.com/",
		"gcch":   "https://login.microsoftonline.us/contoso.us/",
		"china":  "https://login.chinacloudapi.cn/contoso.cn/",
		"fake":   "http://127.0.0.1:9/contoso.com/",
	} {
		cfg.TokenConfigs[name] = &config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: base, Scopes: config.MicrosoftGraphScopes}
	}
	cfg.TokenConfigs["dod"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, BaseURL: "https://login.microsoftonline.us/army.mil/",
		Scopes: []string{"https://dod-graph.microsoft.us/mail.read", "offline_access"}}
	o := &Opener{Config: cfg}
	for _, tt := range []struct{ tc, graphURL, want string }{
		{"global", "", "https://graph.microsoft.com/v1.0"},
		{"gcch", "", "https://graph.microsoft.us/v1.0"},
		{"dod", "", "https://dod-graph.microsoft.us/v1.0"},
		{"china", "", "https://microsoftgraph.chinacloudapi.cn/v1.0"},
		{"fake", "", "https://graph.microsoft.com/v1.0"},
		{"missing", "", "https://graph.microsoft.com/v1.0"},
		{"gcch", "http://127.0.0.1:8080/v1.0", "http://127.0.0.1:8080/v1.0"},
	} {
		a := &config.Account{Protocol: config.Microsoft, TokenConfig: tt.tc, Properties: map[string]string{}}
		if tt.graphURL != "" {
			a.Properties[PropGraphURL] = tt.graphURL
		}
		if got := o.GraphURL(a); got != tt.want {
			t.Errorf("token config %s, graph_url %q: %s, want %s", tt.tc, tt.graphURL, got, tt.want)
		}
	}
}

// hostRecorder sends every request to the fake Graph, keeping the URL the
// client asked for.
type hostRecorder struct {
	to   *url.URL
	mu   sync.Mutex
	seen []string
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	h.mu.Unlock()
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = h.to.Scheme, h.to.Host
	r2.URL.Path = strings.TrimSuffix(h.to.Path, "/v1.0") + r.URL.Path
	r2.Host = h.to.Host
	return http.DefaultTransport.RoundTrip(r2)
}

// TestGraphAccountOfGCCHighReachesItsGraph: an account of protocol
// microsoft without graph_url whose token config signs in at
// login.microsoftonline.us sends its Graph requests to graph.microsoft.us.
func TestGraphAccountOfGCCHighReachesItsGraph(t *testing.T) {
	const alice = "alice@contoso.us"
	g := graphtest.New(t, graphtest.Options{})
	g.AddUser(alice)
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &hostRecorder{to: u}
	cfg := config.New(filepath.Join(t.TempDir(), "config.yaml"))
	cfg.TokenConfigs["gov"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: "3f0c1a2b-0000-4000-8000-123456789abc",
		BaseURL: "https://login.microsoftonline.us/contoso.us/", Scopes: oauth.CloudNamed("usgov").UserScopes(config.Microsoft), Inbound: true, Outbound: true}
	cfg.Accounts["box"] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.Microsoft, Encryption: config.SSL,
		Auth: config.AuthOAuth2, Login: alice, TokenConfig: "gov", Properties: map[string]string{}}
	store := secret.NewMemory()
	tok := &oauth.Token{AccessToken: g.IssueToken(alice), Expiry: time.Now().Add(time.Hour), ObtainedAt: time.Now(),
		Flow: config.FlowUser, ClientID: cfg.TokenConfigs["gov"].ClientID, User: alice}
	if err := oauth.SaveToken(store, "box", tok); err != nil {
		t.Fatal(err)
	}
	res := &secret.Resolver{Store: store, Getenv: func(string) string { return "" }}
	o := &Opener{Config: cfg, Secrets: res, OAuth: &oauth.Manager{Config: cfg, Secrets: res, LockDir: t.TempDir()}, HTTPClient: &http.Client{Transport: rec}}
	in, err := o.Inbound(context.Background(), "box")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Open(context.Background(), "Inbox"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seen) == 0 {
		t.Fatal("no Graph request was made")
	}
	for _, s := range rec.seen {
		if !strings.HasPrefix(s, "https://graph.microsoft.us/v1.0/") {
			t.Errorf("a Graph request went to %s, want https://graph.microsoft.us/v1.0/...", s)
		}
	}
}
