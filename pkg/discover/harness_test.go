package discover_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/discover"
	"github.com/mailport/mailport/pkg/resolver"
)

// world is a small Internet for one test: a fake DNS server and one HTTPS
// server that answers for every web host (autoconfig.<domain>, <domain>,
// autoconfig.thunderbird.net, login.microsoftonline.com) by Host header
// and path. Its client reaches that server for any host on port 443 and
// trusts its CA only.
type world struct {
	t     *testing.T
	dns   *dnstest.Server
	https *httptest.Server

	mu     sync.Mutex
	pages  map[string]http.HandlerFunc // "host/path" → handler
	asked  []string                    // "host/path?query" in order
	client *http.Client
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, dns: dnstest.Start(t), pages: map[string]http.HandlerFunc{}}
	certs, err := testcert.NewFor("discover test web", "*.corp.test", "corp.test", "*.shop.test", "shop.test",
		"*.hoster.test", "autoconfig.thunderbird.net", "login.microsoftonline.com", "*.contoso.test", "contoso.test", "*.outside.test")
	if err != nil {
		t.Fatal(err)
	}
	w.https = httptest.NewUnstartedServer(http.HandlerFunc(w.serve))
	w.https.TLS = certs.ServerConfig()
	w.https.StartTLS()
	t.Cleanup(w.https.Close)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certs.CAPEM)
	addr := w.https.Listener.Addr().String()
	w.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if _, port, _ := net.SplitHostPort(a); port != "443" {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "only port 443 in this test", Name: a}}
			}
			return (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
		},
	}}
	return w
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	w.mu.Lock()
	q := host + r.URL.Path
	if r.URL.RawQuery != "" {
		q += "?" + r.URL.RawQuery
	}
	w.asked = append(w.asked, q)
	h := w.pages[host+r.URL.Path]
	w.mu.Unlock()
	if h == nil {
		http.NotFound(rw, r)
		return
	}
	h(rw, r)
}

// page serves body at host/path ("autoconfig.corp.test/mail/config-v1.1.xml").
func (w *world) page(hostPath, body string) {
	w.handle(hostPath, func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/xml")
		rw.Write([]byte(body))
	})
}

func (w *world) handle(hostPath string, h http.HandlerFunc) {
	w.mu.Lock()
	w.pages[hostPath] = h
	w.mu.Unlock()
}

func (w *world) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.asked...)
}

func (w *world) opts() discover.Options {
	return discover.Options{
		Resolver:   &resolver.Resolver{Server: w.dns.Addr},
		HTTPClient: w.client,
		Timeout:    2 * time.Second,
	}
}

func (w *world) discover(email string, mod ...func(*discover.Options)) *discover.Result {
	w.t.Helper()
	o := w.opts()
	for _, m := range mod {
		m(&o)
	}
	res, err := discover.Discover(context.Background(), email, o)
	if err != nil {
		w.t.Fatalf("Discover(%s): %v", email, err)
	}
	return res
}

// tried renders the attempts one per line: "source query: outcome".
func tried(r *discover.Result) string {
	var b strings.Builder
	for _, a := range r.Tried {
		b.WriteString(a.Source + " " + a.Query + ": " + a.Outcome + "\n")
	}
	return b.String()
}

func cands(list []discover.Candidate) string {
	var out []string
	for _, c := range list {
		s := c.String() + " login=" + c.Login + " from " + c.Source
		if c.OutsideDomain {
			s += " outside"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

// autoconfigXML is a Thunderbird file with the usual placeholders.
const autoconfigXML = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="corp.test">
    <domain>corp.test</domain>
    <displayName>Corp mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.corp.test</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.corp.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`
