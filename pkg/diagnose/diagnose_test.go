package diagnose

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

const testClientID = "3f0c1a2b-0000-4000-8000-123456789abc"

// world is one configuration with its secrets.
type world struct {
	t     *testing.T
	cfg   *config.Config
	store *secret.Memory
	env   map[string]string
	trace strings.Builder
}

func newWorld(t *testing.T) *world {
	dir := t.TempDir()
	return &world{t: t, cfg: config.New(filepath.Join(dir, "config.yaml")), store: secret.NewMemory(), env: map[string]string{}}
}

func (w *world) resolver() *secret.Resolver {
	return &secret.Resolver{Store: w.store, Getenv: func(k string) string { return w.env[k] }}
}

func (w *world) opener() *connect.Opener {
	res := w.resolver()
	m := &oauth.Manager{Config: w.cfg, Secrets: res, LockDir: filepath.Dir(w.cfg.Path)}
	return &connect.Opener{Config: w.cfg, Secrets: res, OAuth: m, Trace: &w.trace}
}

// account adds an enabled account; host "127.0.0.1:PORT" sets the port.
func (w *world) account(name, typ, proto, hostport, enc, auth, login string) *config.Account {
	host, port := hostport, 0
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	a := &config.Account{Enabled: true, Type: typ, Protocol: proto, Host: host, Port: port, Encryption: enc, Auth: auth, Login: login, Properties: map[string]string{}}
	w.cfg.Accounts[name] = a
	return a
}

func (w *world) password(account, pw string) { w.store.Set(secret.PasswordKey(account), pw) }

func (w *world) run(name string, opts Options) *Report {
	w.t.Helper()
	opts.Opener = w.opener()
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Second
	}
	rep, err := Run(context.Background(), name, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// expect asserts a check's status and that one of its findings is entry.
func expect(t *testing.T, rep *Report, check string, st Status, entry string) {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID != check {
			continue
		}
		if c.Status != st {
			t.Errorf("check %s: status %s, want %s\n%s", check, c.Status, st, render(rep))
			return
		}
		if entry == "" {
			return
		}
		for _, f := range c.Findings {
			if f.Entry == entry {
				if f.Cause == "" || f.Fix == "" || strings.Contains(f.Fix, "<account>") {
					t.Errorf("check %s entry %s: cause %q fix %q", check, entry, f.Cause, f.Fix)
				}
				return
			}
		}
		t.Errorf("check %s: no finding %s\n%s", check, entry, render(rep))
		return
	}
	t.Errorf("no check %s\n%s", check, render(rep))
}

func render(rep *Report) string {
	var b strings.Builder
	Render(&b, rep, false)
	return b.String()
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestConnectionRefused(t *testing.T) {
	w := newWorld(t)
	w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{})
	expect(t, rep, "tcp", Fail, "tcp-refused")
	expect(t, rep, "tls", Skip, "")
	expect(t, rep, "auth", Skip, "")
	if rep.Result != Fail || rep.Reauth {
		t.Errorf("result %s reauth %v", rep.Result, rep.Reauth)
	}
}

func TestDNSFailure(t *testing.T) {
	w := newWorld(t)
	w.account("box", config.Inbound, config.IMAP, "no-such-host.invalid", config.SSL, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{})
	expect(t, rep, "dns", Fail, "dns-failure")
	expect(t, rep, "tcp", Skip, "")
}

// TestGraphDNSFailure: an account of protocol microsoft has no host; DNS
// looks up graph_url's, so the fix names graph_url (with the Graph of the
// account's cloud), never --host or Exchange's hosts.
func TestGraphDNSFailure(t *testing.T) {
	w := newWorld(t)
	us := oauth.CloudNamed("usgov")
	w.cfg.TokenConfigs["gov"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
		BaseURL: "https://login.microsoftonline.us/fabrikam.onmicrosoft.us/", Scopes: us.UserScopes(config.Microsoft), Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthOAuth2, "a@fabrikam.onmicrosoft.us")
	a.TokenConfig = "gov"
	a.Properties[connect.PropGraphURL] = "https://no-such-graph.invalid/v1.0"
	rep := w.run("box", Options{})
	expect(t, rep, "dns", Fail, "graph-dns-failure")
	expect(t, rep, "tcp", Skip, "")
	got := checkText(rep, "dns")
	for _, want := range []string{
		"no-such-graph.invalid (the host of graph_url)",
		"`mailport account edit box --property graph_url=https://graph.microsoft.us/v1.0`",
		"`mailport account edit box --property graph_url=`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DNS check lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "--host") || strings.Contains(got, "office365") || strings.Contains(got, "graph.microsoft.com") {
		t.Errorf("DNS check names an Exchange host, --host or the global Graph:\n%s", got)
	}
}

// TestGraphConnectionRefused: a Graph account's graph_url points at a
// closed port; the fix names graph_url, not --port or --encryption.
func TestGraphConnectionRefused(t *testing.T) {
	w := newWorld(t)
	w.cfg.TokenConfigs["ms"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
		BaseURL: "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/", Scopes: oauth.GraphUserScopes, Inbound: true, Outbound: true}
	a := w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthOAuth2, "a@fabrikam.onmicrosoft.com")
	a.TokenConfig = "ms"
	a.Properties[connect.PropGraphURL] = "https://" + closedPort(t) + "/v1.0"
	rep := w.run("box", Options{})
	expect(t, rep, "tcp", Fail, "graph-tcp-refused")
	got := checkText(rep, "tcp")
	if !strings.Contains(got, "`mailport account edit box --property graph_url=`") || strings.Contains(got, "--port") || strings.Contains(got, "--encryption") {
		t.Errorf("TCP check for a Graph account:\n%s", got)
	}
}

// TestTCPTimeout fills a listener's accept queue (backlog 0, never
// accepting), so the next connection attempt is dropped and times out.
func TestTCPTimeout(t *testing.T) {
	addr, cleanup := fullBacklog(t)
	defer cleanup()
	w := newWorld(t)
	w.account("box", config.Inbound, config.IMAP, addr, config.SSL, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	start := time.Now()
	rep := w.run("box", Options{Timeout: 700 * time.Millisecond})
	expect(t, rep, "tcp", Fail, "tcp-timeout")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with a 700ms timeout", d)
	}
}

// TestServerSilent: a listener that accepts and never speaks.
func TestServerSilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, enc := range []string{config.SSL, config.StartTLS} {
		w := newWorld(t)
		w.account("box", config.Inbound, config.IMAP, l.Addr().String(), enc, config.AuthBasic, "a@example.test")
		w.password("box", "pw")
		rep := w.run("box", Options{Timeout: 500 * time.Millisecond})
		expect(t, rep, "tcp", OK, "")
		expect(t, rep, "tls", Fail, "server-silent")
		expect(t, rep, "greeting", Skip, "")
	}
}

// tlsServer serves a certificate for names (valid from nb to na) signed
// by its own CA, greeting IMAP clients after the handshake.
func tlsServer(t *testing.T, names []string, nb, na time.Time) (addr, caFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "diagnose test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "* OK test ready\r\n")
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().String(), caFile
}

func TestCertificateProblems(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		names  []string
		nb, na time.Time
		ca     bool
		entry  string
	}{
		{"name mismatch", []string{"mail.example.test"}, now.Add(-time.Hour), now.Add(time.Hour), true, "tls-name-mismatch"},
		{"expired", []string{"127.0.0.1"}, now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), true, "tls-expired"},
		{"unknown authority", []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(time.Hour), false, "tls-untrusted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, ca := tlsServer(t, tt.names, tt.nb, tt.na)
			w := newWorld(t)
			a := w.account("box", config.Inbound, config.IMAP, addr, config.SSL, config.AuthBasic, "a@example.test")
			if tt.ca {
				a.Properties[connect.PropTLSCAFile] = ca
			}
			w.password("box", "pw")
			rep := w.run("box", Options{})
			expect(t, rep, "tls", Fail, tt.entry)
			expect(t, rep, "greeting", Skip, "")
			// tls_insecure turns the failure into a warning and the session goes on.
			a.Properties[connect.PropTLSInsecure] = "true"
			rep = w.run("box", Options{Timeout: 300 * time.Millisecond})
			expect(t, rep, "tls", Warn, tt.entry)
		})
	}
}

// mustToken signs the account in at the fake provider with the user flow,
// the browser being a plain HTTP GET that follows the redirect.
func mustToken(t *testing.T, w *world, account string) {
	t.Helper()
	m := &oauth.Manager{Config: w.cfg, Secrets: w.resolver(), LockDir: filepath.Dir(w.cfg.Path)}
	_, err := m.Authenticate(context.Background(), account, oauth.AuthenticateOptions{
		Timeout: 10 * time.Second, Out: io.Discard,
		Open: func(u string) error {
			go func() {
				if resp, err := http.Get(u); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		},
	})
	if err != nil {
		t.Fatalf("authenticate %s: %v", account, err)
	}
}

// microsoftTC adds a Microsoft token config on prov for protocol.
func microsoftTC(w *world, prov *oauthtest.Server, name, tenant, protocol string) *config.TokenConfig {
	tc := &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
		BaseURL: prov.MicrosoftBaseURL(tenant), Scopes: oauth.ScopesFor(config.ProviderMicrosoft, protocol), Inbound: true, Outbound: true}
	w.cfg.TokenConfigs[name] = tc
	return tc
}

func fullBacklog(t *testing.T) (string, func()) {
	t.Helper()
	addr, closeFn := listenNoAccept(t)
	// Fill the accept queue; the backlog's connections complete, the rest hang.
	var conns []net.Conn
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
		for _, c := range conns {
			c.Close()
		}
		closeFn()
		t.Skip("this kernel completes connections beyond a full backlog; the timeout is covered by the classification")
	}
	return addr, func() {
		for _, c := range conns {
			c.Close()
		}
		closeFn()
	}
}
