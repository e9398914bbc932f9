package diagnose

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth"
)

// connectProxy is an HTTP CONNECT proxy that sends every tunnel to
// target and records what it was asked; with wantAuth it answers 407
// unless Proxy-Authorization is that value.
type connectProxy struct {
	l        net.Listener
	target   string
	wantAuth string
	mu       sync.Mutex
	asked    []string
	auth     []string
}

func startProxy(t *testing.T, target, wantAuth string) *connectProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{l: l, target: target, wantAuth: wantAuth}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect {
		return
	}
	p.mu.Lock()
	p.asked = append(p.asked, req.Host)
	p.auth = append(p.auth, req.Header.Get("Proxy-Authorization"))
	p.mu.Unlock()
	if p.wantAuth != "" && req.Header.Get("Proxy-Authorization") != p.wantAuth {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go io.Copy(up, c)
	io.Copy(c, up)
}

// A Graph account behind an HTTPS proxy: the network checks reach Graph
// through the proxy, as fetch and send do, instead of reporting a direct
// connection that the network does not allow.
func TestGraphThroughAProxy(t *testing.T) {
	graphSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer graphSrv.Close()
	const basic = "Basic dXNlcjpzM2NyM3QtcHJveHktcHc=" // user:s3cr3t-proxy-pw
	newAccount := func(w *world) {
		w.cfg.TokenConfigs["ms"] = &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
			BaseURL: "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/", Scopes: oauth.GraphUserScopes, Inbound: true, Outbound: true}
		a := w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthOAuth2, "a@fabrikam.onmicrosoft.com")
		a.TokenConfig = "ms"
		// A name no DNS knows: only the proxy resolves it.
		a.Properties[connect.PropGraphURL] = "https://graph.no-dns-here.invalid/v1.0"
	}
	via := func(proxyURL string) Options {
		return Options{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(proxyURL) }}
	}

	t.Run("tunnel", func(t *testing.T) {
		p := startProxy(t, graphSrv.Listener.Addr().String(), basic)
		w := newWorld(t)
		newAccount(w)
		rep := w.run("box", via("http://user:s3cr3t-proxy-pw@"+p.l.Addr().String()))
		expect(t, rep, "dns", OK, "")
		expect(t, rep, "tcp", OK, "")
		// The handshake went through the tunnel: httptest's certificate
		// is for example.com, not for the Graph host asked for.
		expect(t, rep, "tls", Fail, "tls-name-mismatch")
		if got := checkText(rep, "dns"); !strings.Contains(got, "through the proxy http://user:xxxxx@"+p.l.Addr().String()) {
			t.Errorf("DNS check does not name the proxy (password hidden):\n%s", got)
		}
		if got := checkText(rep, "tcp"); !strings.Contains(got, "connected to the proxy "+p.l.Addr().String()) {
			t.Errorf("TCP check:\n%s", got)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.asked) == 0 || p.asked[0] != "graph.no-dns-here.invalid:443" || p.auth[0] != basic {
			t.Errorf("the proxy was asked %v with %v", p.asked, p.auth)
		}
		if strings.Contains(render(rep), "s3cr3t-proxy-pw") {
			t.Error("the report shows the proxy's password")
		}
	})

	t.Run("refused tunnel", func(t *testing.T) {
		p := startProxy(t, graphSrv.Listener.Addr().String(), basic)
		w := newWorld(t)
		newAccount(w)
		rep := w.run("box", via("http://"+p.l.Addr().String())) // no credentials
		expect(t, rep, "tls", Fail, "")
		got := checkText(rep, "tls")
		for _, want := range []string{"407 Proxy Authentication Required", "The proxy did not open a tunnel to graph.no-dns-here.invalid:443.", "HTTPS_PROXY"} {
			if !strings.Contains(got, want) {
				t.Errorf("TLS check lacks %q:\n%s", want, got)
			}
		}
	})

	t.Run("proxy down", func(t *testing.T) {
		w := newWorld(t)
		newAccount(w)
		down := closedPort(t)
		rep := w.run("box", via("http://"+down))
		expect(t, rep, "tcp", Fail, "")
		got := checkText(rep, "tcp")
		if !strings.Contains(got, "The proxy "+down+" cannot be reached.") || !strings.Contains(got, "HTTPS_PROXY") || strings.Contains(got, "--port") {
			t.Errorf("TCP check for a proxy that is down:\n%s", got)
		}
		expect(t, rep, "tls", Skip, "")
	})
}
