package testbed

// Raw protocol clients for the tests: they speak IMAP, POP3 and SMTP
// directly, so the bed is proven without any of mailport's adapters.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// introspection is the tests' stand-in for the authorization server: tokens
// it knows are active for their user, everything else gets a 401.
type introspection struct {
	mu     sync.Mutex
	tokens map[string]string // token -> username
	calls  int
}

func (h *introspection) add(token, user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[token] = user
}

func (h *introspection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if q := r.URL.Query().Get("access_token"); q != "" && q != token {
		token = "" // the token validation request must carry the same token twice
	}
	h.mu.Lock()
	h.calls++
	user, ok := h.tokens[token]
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok || r.URL.Path != "/introspect" || r.Method != http.MethodGet {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_token"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "username": user, "scope": "mail"})
}

func tlsConfig(t *testing.T, b *Bed) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CAPEM) {
		t.Fatal("the bed's CA PEM does not parse")
	}
	// ServerName "localhost": the certificate must be valid for the name as
	// well as for 127.0.0.1, which Go checks when dialing the IP.
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

// lineConn is a line-oriented connection with an optional STARTTLS upgrade.
type lineConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialLine(t *testing.T, b *Bed, port int, implicitTLS bool) *lineConn {
	t.Helper()
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", b.Addr(port), tlsConfig(t, b))
	} else {
		conn, err = net.DialTimeout("tcp", b.Addr(port), 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", b.Addr(port), err)
	}
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &lineConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *lineConn) startTLS(b *Bed) {
	c.t.Helper()
	tc := tls.Client(c.conn, tlsConfig(c.t, b))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake after STARTTLS: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func (c *lineConn) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *lineConn) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

var literalRE = regexp.MustCompile(`\{(\d+)\}$`)

// imapCmd sends "tag line" and returns the untagged lines (literals inlined
// verbatim) and the tagged completion line.
func (c *lineConn) imapCmd(tag, line string) (untagged []string, done string) {
	c.t.Helper()
	c.send(tag + " " + line)
	return c.imapResult(tag)
}

func (c *lineConn) imapResult(tag string) (untagged []string, done string) {
	c.t.Helper()
	for {
		l := c.line()
		for {
			m := literalRE.FindStringSubmatch(l)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			lit := make([]byte, n)
			if _, err := io.ReadFull(c.r, lit); err != nil {
				c.t.Fatalf("read literal: %v", err)
			}
			l += "\r\n" + string(lit) + c.line()
		}
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// pop3Cmd sends a command and returns the status line.
func (c *lineConn) pop3Cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// pop3Multi reads a dot-terminated multi-line body after a +OK status.
func (c *lineConn) pop3Multi() string {
	c.t.Helper()
	body, err := io.ReadAll(textproto.NewReader(c.r).DotReader())
	if err != nil {
		c.t.Fatalf("read POP3 multi-line reply: %v", err)
	}
	return string(body)
}

func xoauth2(user, token string) string {
	return base64.StdEncoding.EncodeToString([]byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01"))
}

func oauthbearer(user, host string, port int, token string) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01", user, host, port, token)))
}

// xoauth2Auth is net/smtp's Auth for XOAUTH2; after a failure challenge it
// answers with an empty response, as RFC 7628 clients do, to get the final 535.
type xoauth2Auth struct{ user, token string }

func (a xoauth2Auth) Start(*smtp.ServerInfo) (string, []byte, error) {
	raw, _ := base64.StdEncoding.DecodeString(xoauth2(a.user, a.token))
	return "XOAUTH2", raw, nil
}

func (a xoauth2Auth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}
