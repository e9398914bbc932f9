package discover_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// The bed's certificate names the hosts the fake DNS gives it.
var certNames = []string{"*.corp.test", "*.example.test"}

var (
	bed    *testbed.Bed
	bedErr error
	webCA  *testcert.Set // the HTTPS test web's CA, trusted through SSL_CERT_FILE
)

// TestMain starts Dovecot and Postfix when the machine can, and points
// SSL_CERT_FILE at their CA and the test web's before anything reads the
// system's roots: discovered servers are verified against the system's
// trust (plus SSL_CERT_FILE), as they are for a user.
func TestMain(m *testing.M) {
	var err error
	webCA, err = testcert.NewFor("discover test web", "*.corp.test", "corp.test", "*.example.test", "example.test", "*.example.org", "example.org",
		"autoconfig.thunderbird.net", "login.microsoftonline.com", "*.contoso.test", "contoso.test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bundle := append([]byte(nil), webCA.CAPEM...)
	if bedErr = testbed.Check(); bedErr == nil {
		bed, bedErr = testbed.Start(testbed.Options{CertNames: certNames})
		if bed != nil {
			bundle = append(bundle, bed.CAPEM...)
		}
	}
	dir, err := os.MkdirTemp("", "discover-ca")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, bundle, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("SSL_CERT_FILE", caFile)
	os.Unsetenv("SSL_CERT_DIR")
	code := m.Run()
	if bed != nil {
		bed.Stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// needBed returns the bed, or skips (fails under
// MAILPORT_REQUIRE_REALSERVERS=1) when the machine cannot run one.
func needBed(t *testing.T) *testbed.Bed {
	t.Helper()
	testbed.Require(t, bedErr)
	bed.LogOnFailure(t)
	return bed
}

// web is one HTTPS server answering for every web host, by Host header and
// path, with a certificate the test CA signed; the client the commands get
// reaches it for any host on port 443 and trusts what SSL_CERT_FILE holds.
type web struct {
	srv    *httptest.Server
	mu     sync.Mutex
	pages  map[string]string
	client *http.Client
}

func newWeb(t *testing.T) *web {
	w := &web{pages: map[string]string{}}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		w.mu.Lock()
		body, ok := w.pages[host+r.URL.Path]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Write([]byte(body))
	}))
	w.srv.TLS = webCA.ServerConfig()
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	addr := w.srv.Listener.Addr().String()
	w.client = &http.Client{Transport: &http.Transport{
		// No TLSClientConfig: the system's roots, i.e. SSL_CERT_FILE.
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if _, port, _ := net.SplitHostPort(a); port != "443" {
				return nil, fmt.Errorf("only port 443 in this test, not %s", a)
			}
			return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
		},
	}}
	return w
}

func (w *web) page(hostPath, body string) {
	w.mu.Lock()
	w.pages[hostPath] = body
	w.mu.Unlock()
}

type result struct {
	out, err string
	code     int
}

// mailport runs the command tree in-process with a fresh config, the test
// web as its HTTP client and env as its environment (MAILPORT_RESOLVER is
// read from the process environment, as it is by every dial).
func mailport(t *testing.T, w *web, env map[string]string, args ...string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	store := secret.NewMemory()
	f := &cmdutil.Factory{
		IO:        ios,
		Getenv:    func(k string) string { return env[k] },
		Now:       time.Now,
		OpenStore: func(string, string) (secret.Store, error) { return store, nil },
	}
	if w != nil {
		f.HTTPClient = w.client
	}
	cfg := env["config"]
	if cfg == "" {
		cfg = filepath.Join(t.TempDir(), "config.yaml")
	}
	code := cmd.Run(f, append([]string{"--config", cfg}, args...))
	return result{out.String(), errOut.String(), code}
}

// startDNS runs a fake DNS server and points MAILPORT_RESOLVER at it.
func startDNS(t *testing.T) *dnstest.Server {
	d := dnstest.Start(t)
	t.Setenv("MAILPORT_RESOLVER", d.Addr)
	return d
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s:\n%s\nwant it to contain %q", what, got, w)
		}
	}
}
