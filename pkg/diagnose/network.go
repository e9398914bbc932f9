package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/resolver"
)

// target is the host, port and encryption the network checks use: the
// account's server, or Graph's for protocol microsoft.
func (r *runner) target() (host string, port int, enc mail.Encryption) {
	if r.acct.Protocol != config.Microsoft {
		return r.ep.Host, r.ep.Port, r.ep.Encryption
	}
	u, err := url.Parse(r.opts.Opener.GraphURL(r.acct))
	if err != nil || u.Host == "" {
		return "graph.microsoft.com", 443, mail.SSL
	}
	port = 443
	enc = mail.SSL
	if u.Scheme == "http" {
		port, enc = 80, mail.None
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return u.Hostname(), port, enc
}

// graphProxy is the proxy Graph requests go through for this account, nil
// when they go direct (not protocol microsoft, no HTTPS_PROXY, NO_PROXY).
func (r *runner) graphProxy() *url.URL {
	if r.acct.Protocol != config.Microsoft {
		return nil
	}
	proxy := r.opts.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	req, err := http.NewRequest(http.MethodGet, r.opts.Opener.GraphURL(r.acct), nil)
	if err != nil {
		return nil
	}
	u, err := proxy(req)
	if err != nil || u == nil || u.Host == "" {
		return nil
	}
	return u
}

// proxyAddr is a proxy URL's host:port (its scheme's port when it has none).
func proxyAddr(u *url.URL) (host string, port int) {
	port = 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	return u.Hostname(), port
}

// proxyFailure reports a proxy that cannot be reached or refuses the
// tunnel; the catalog's direct-connection advice does not apply.
func (r *runner) proxyFailure(c *Check, proxy *url.URL, text, cause string) {
	ev := r.evidence("proxy")
	ev.Text = text
	r.find(c, Fail, ev, cause, fmt.Sprintf("Graph requests go through the proxy in HTTPS_PROXY (%s): check that variable, the proxy's credentials in it, or add the Graph host to NO_PROXY if it is reached directly.", redactedURL(proxy)))
	r.block(needNet, "the proxy cannot be used")
}

// redactedURL is a proxy URL without its password.
func redactedURL(u *url.URL) string {
	v := *u
	if _, ok := v.User.Password(); ok {
		v.User = url.UserPassword(v.User.Username(), "xxxxx")
	}
	return v.String()
}

// checkDNS resolves the server's name.
func (r *runner) checkDNS(ctx context.Context, c *Check) {
	host, _, _ := r.target()
	if proxy := r.graphProxy(); proxy != nil {
		phost, _ := proxyAddr(proxy)
		if net.ParseIP(phost) != nil {
			c.Saw = "Graph is reached through the proxy " + redactedURL(proxy) + ", which resolves " + host
			return
		}
		sctx, cancel := r.stepCtx(ctx)
		defer cancel()
		addrs, err := lookupHost(sctx, phost)
		if err != nil {
			r.proxyFailure(c, proxy, err.Error(), fmt.Sprintf("The proxy's name %s could not be resolved.", phost))
			c.Saw = "no address for the proxy " + phost
			return
		}
		c.Saw = fmt.Sprintf("Graph is reached through the proxy %s (%s), which resolves %s", redactedURL(proxy), strings.Join(addrs, ", "), host)
		return
	}
	if ip := net.ParseIP(host); ip != nil {
		c.Saw = host + " is an IP address; nothing to look up"
		return
	}
	sctx, cancel := r.stepCtx(ctx)
	defer cancel()
	addrs, err := lookupHost(sctx, host)
	if err != nil {
		ev := r.evidence("dns")
		ev.Text = err.Error()
		var de *net.DNSError
		name := host
		if r.acct.Protocol == config.Microsoft {
			// Say where the name came from: the account has no host.
			if r.acct.Property(connect.PropGraphURL, "") != "" {
				name = host + " (the host of graph_url)"
			} else {
				name = host + " (the Graph of the token config's cloud)"
			}
		}
		cause := fmt.Sprintf("The name %s could not be resolved.", name)
		switch {
		case errors.As(err, &de) && de.IsNotFound:
			ev.Reason = "not-found"
			// The error names the host; the catalog says what it means.
			cause = ""
			if r.acct.Protocol == config.Microsoft {
				cause = fmt.Sprintf("The name is %s.", name)
			}
		case isTimeout(err):
			ev.Reason = "timeout"
			cause = fmt.Sprintf("The DNS server did not answer for %s within %s.", name, r.opts.Timeout)
		}
		r.find(c, Fail, ev, cause, "")
		c.Saw = "no address for " + host
		r.block(needNet, "the host name does not resolve")
		return
	}
	c.Saw = host + " → " + strings.Join(sortedCopy(addrs), ", ") + viaResolver()
}

// checkTCP connects to the server's port.
func (r *runner) checkTCP(ctx context.Context, c *Check) {
	host, port, _ := r.target()
	if proxy := r.graphProxy(); proxy != nil {
		phost, pport := proxyAddr(proxy)
		addr := net.JoinHostPort(phost, strconv.Itoa(pport))
		d := resolver.Dialer{Timeout: r.opts.Timeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			r.proxyFailure(c, proxy, err.Error(), fmt.Sprintf("The proxy %s cannot be reached.", addr))
			c.Saw = "cannot connect to the proxy " + addr
			return
		}
		conn.Close()
		c.Saw = "connected to the proxy " + addr
		return
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	d := resolver.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		ev := r.evidence("tcp")
		ev.Text = err.Error()
		var cause string
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			ev.Reason = "refused"
			cause = fmt.Sprintf("%s refused the connection on port %d.", host, port)
		case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
			ev.Reason = "unreachable" // the error names the address
		case isTimeout(err):
			ev.Reason = "timeout"
		}
		r.find(c, Fail, ev, cause, "")
		c.Saw = "cannot connect to " + addr
		if ev.Reason == "timeout" {
			c.Saw += fmt.Sprintf(" within %s", r.opts.Timeout)
		}
		r.block(needNet, "no TCP connection")
		return
	}
	r.netAddr = conn.RemoteAddr().String()
	conn.Close()
	c.Saw = "connected to " + r.netAddr
}

// checkTLS runs the TLS handshake the account's encryption asks for
// (implicit, or after STARTTLS) on a connection of its own, and inspects
// the certificate. For encryption none it reads the greeting only, to
// recognise a TLS port.
func (r *runner) checkTLS(ctx context.Context, c *Check) {
	host, port, enc := r.target()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if r.acct.Protocol == config.Microsoft && enc == mail.None {
		c.Saw = "plain HTTP (graph_url is http://); no TLS to check"
		return
	}
	if proxy := r.graphProxy(); proxy != nil {
		conn, err := r.tunnel(ctx, proxy, addr)
		if err != nil {
			r.proxyFailure(c, proxy, err.Error(), fmt.Sprintf("The proxy did not open a tunnel to %s.", addr))
			c.Saw = "no tunnel through the proxy"
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(r.opts.Timeout))
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
		r.handshake(ctx, c, conn, host, enc)
		return
	}
	d := resolver.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		ev := r.evidence("tls")
		ev.Text = err.Error()
		r.find(c, Fail, ev, "The second connection failed although the first succeeded.", "")
		r.block(needNet, "no TCP connection")
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(r.opts.Timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if enc != mail.SSL {
		br := bufio.NewReaderSize(conn, maxFirstLine)
		first, err := readLine(br)
		if first == "" && err != nil {
			r.noGreeting(ctx, c, conn, addr, err)
			return
		}
		if r.wrongPeer(c, identify([]byte(first)), first, false) {
			return
		}
		greeting := first
		if err == nil && r.acct.Protocol == config.SMTP && len(first) >= 4 && first[3] == '-' {
			_, err = readReply(br, config.SMTP) // the rest of a multi-line 220
		}
		if err != nil {
			ev := r.evidence("tls")
			ev.Text, ev.Reason = err.Error(), "greeting"
			r.find(c, Fail, ev, fmt.Sprintf("Reading the greeting from %s failed after %s.", addr, shown(first)), "")
			c.Saw = "no complete greeting"
			r.block(needNet, "the server sent no greeting")
			return
		}
		if enc == mail.None {
			c.Saw = "no encryption (greeting " + clip(greeting, 60) + ")"
			return
		}
		if err := r.startTLS(conn, br); err != nil {
			ev := r.evidence("tls")
			ev.Text, ev.Reason = err.Error(), "starttls"
			r.find(c, Fail, ev, fmt.Sprintf("%s did not accept STARTTLS: %v.", addr, err), fmt.Sprintf("Use encryption ssl on the implicit-TLS port, or none only on a trusted network: `mailport account edit %s --encryption ...`.", r.name))
			c.Saw = "STARTTLS refused"
			r.block(needNet, "STARTTLS failed")
			return
		}
	}
	tc := r.handshake(ctx, c, conn, host, enc)
	if tc != nil && enc == mail.SSL && r.acct.Protocol != config.Microsoft {
		r.greetingOverTLS(c, tc)
	}
}

// greetingOverTLS reads the first line after an implicit-TLS handshake:
// the account's protocol's greeting, or another protocol's, or (from a web
// server) nothing until asked.
func (r *runner) greetingOverTLS(c *Check, tc *tls.Conn) {
	tc.SetDeadline(time.Now().Add(r.opts.Timeout))
	first, _ := readLine(bufio.NewReaderSize(tc, maxFirstLine))
	if first == "" {
		first = askHTTP(tc, r.opts.Timeout)
		if identify([]byte(first)) != peerHTTP {
			return // silent after the handshake: the greeting check says so
		}
	}
	r.wrongPeer(c, identify([]byte(first)), first, true)
}

// noGreeting tells, for a port that sent no greeting on conn, a TLS port
// (the server waits for our handshake) and a web server (it waits for a
// request) from a server that accepts and says nothing. The two probes run
// side by side, each bounded by the timeout.
func (r *runner) noGreeting(ctx context.Context, c *Check, conn net.Conn, addr string, err error) {
	ev := r.evidence("tls")
	ev.Text = err.Error()
	r.block(needNet, "the server sent no greeting")
	if !isTimeout(err) {
		ev.Reason = "greeting"
		r.find(c, Fail, ev, fmt.Sprintf("Reading the greeting from %s failed.", addr), "")
		c.Saw = "no greeting"
		return
	}
	probe := make(chan tlsProbe, 1)
	go func() { probe <- r.probeTLS(ctx, addr) }()
	answer := askHTTP(conn, r.opts.Timeout)
	p := <-probe
	switch {
	case p.cert != nil:
		if kind := identify([]byte(p.first)); kind != peerSilent && r.wrongPeer(c, kind, p.first, true) {
			return
		}
		ev.Text = fmt.Sprintf("no greeting within %s; a TLS handshake on the same port succeeds", r.opts.Timeout)
		ev.own = true
		r.tlsOnPlainPort(c, ev)
		c.Saw = "no greeting in plain text; TLS on this port (certificate for " + strings.Join(certNames(p.cert), ", ") + ")"
		return
	case identify([]byte(answer)) == peerHTTP:
		r.wrongPeer(c, peerHTTP, answer, false)
		return
	case identify([]byte(answer)) == peerTLS:
		ev.Text = fmt.Sprintf("no greeting within %s; the server answered an HTTP request with a TLS record", r.opts.Timeout)
		ev.own = true
		r.tlsOnPlainPort(c, ev)
		c.Saw = "no greeting in plain text; TLS on this port"
		return
	}
	ev.Reason = "silent"
	ev.Text = fmt.Sprintf("no greeting within %s", r.opts.Timeout)
	ev.own = true
	r.findExact(c, Fail, ev, fmt.Sprintf("%s accepted the connection but sent nothing within %s, and answered neither a TLS handshake nor an HTTP request: a firewall or proxy that holds connections, or an overloaded server.", addr, r.opts.Timeout), "")
	c.Saw = "no greeting"
}

// tlsProbe is what a TLS handshake on a port found: the certificate and
// the first line after the handshake when it succeeded.
type tlsProbe struct {
	cert  *x509.Certificate
	first string
}

// probeTLS tries a handshake, certificates unchecked, to learn whether a
// port speaks TLS, and then what speaks over it: it sends an HTTP request
// at once and reads the first line, a mail server's greeting (which comes
// before any answer) or a web server's status line.
func (r *runner) probeTLS(ctx context.Context, addr string) tlsProbe {
	d := resolver.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tlsProbe{}
	}
	defer conn.Close()
	host, _, _ := r.target()
	tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true}) //nolint:gosec // only probing
	hctx, cancel := r.stepCtx(ctx)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return tlsProbe{}
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return tlsProbe{}
	}
	return tlsProbe{cert: certs[0], first: askHTTP(tc, r.opts.Timeout)}
}

// plainFirstLine connects to addr again and reads what a plain-text
// server says first, or (for a web server, which says nothing first) its
// answer to an HTTP request; "" when the connection fails.
func (r *runner) plainFirstLine(ctx context.Context, addr string, asHTTP bool) string {
	d := resolver.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ""
	}
	defer conn.Close()
	if asHTTP {
		return askHTTP(conn, r.opts.Timeout)
	}
	return firstLine(readFirst(conn, nil, r.opts.Timeout))
}

// handshake does the TLS handshake with checks of our own, so a bad
// certificate is named precisely and still shown. It returns the TLS
// connection, nil when the handshake failed.
func (r *runner) handshake(ctx context.Context, c *Check, conn net.Conn, host string, enc mail.Encryption) *tls.Conn {
	cfg, err := r.ep.TLSConfig()
	if err != nil {
		ev := r.evidence("tls")
		ev.Text, ev.Reason = err.Error(), "config"
		ev.own = true
		r.find(c, Fail, ev, "The TLS settings are unusable: "+err.Error()+".", fmt.Sprintf("Fix the property tls_ca_file with `mailport account edit %s --property tls_ca_file=/path/ca.pem`.", r.name))
		r.block(needNet, "the TLS settings are unusable")
		return nil
	}
	cfg.ServerName = host
	insecure := cfg.InsecureSkipVerify
	cfg.InsecureSkipVerify = true //nolint:gosec // verified below, to name the problem
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		ev := r.evidence("tls")
		ev.Text = err.Error()
		var rh tls.RecordHeaderError
		_, port, _ := r.target()
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		switch {
		case errors.As(err, &rh):
			// Plain text where a TLS record was due: what speaks?
			first := string(rh.RecordHeader[:])
			kind := identify(rh.RecordHeader[:])
			if more := r.plainFirstLine(ctx, addr, kind == peerHTTP); identify([]byte(more)) == kind {
				first = more // the whole line, from a connection of its own
			}
			if !r.wrongPeer(c, kind, first, false) {
				r.plainOnTLSPort(c, ev, first)
				c.Saw = "plain text on port " + strconv.Itoa(port)
			}
		case isTimeout(err):
			// A web server reads a ClientHello as a request line that
			// never ends; asked in HTTP, it answers.
			if answer := r.plainFirstLine(ctx, addr, true); r.wrongPeer(c, identify([]byte(answer)), answer, false) {
				break
			}
			ev.Reason = "silent"
			r.findExact(c, Fail, ev, fmt.Sprintf("%s accepted the connection but did not complete a TLS handshake within %s, nor answer an HTTP request: a firewall or proxy that holds connections, or an overloaded server.", conn.RemoteAddr(), r.opts.Timeout), "")
			c.Saw = "no TLS handshake"
		default:
			ev.Reason = "handshake"
			r.find(c, Fail, ev, "The TLS handshake failed.", "")
			c.Saw = "TLS handshake failed"
		}
		r.block(needNet, "no TLS connection")
		return nil
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		c.Saw = tlsVersion(st.Version) + ", no certificate"
		return tc
	}
	leaf := st.PeerCertificates[0]
	days := int(leaf.NotAfter.Sub(r.now()).Hours() / 24)
	saw := []string{tlsVersion(st.Version), "certificate for " + strings.Join(certNames(leaf), ", "), "issued by " + leaf.Issuer.CommonName, fmt.Sprintf("expires %s (in %s)", leaf.NotAfter.Format("2006-01-02"), plural(days, "day", "days"))}
	if enc == mail.StartTLS {
		saw[0] = "STARTTLS, " + saw[0]
	}
	c.Saw = strings.Join(saw, "; ")

	reason, detail := verifyCert(st, cfg, host, r.now())
	if reason != "" {
		ev := r.evidence("tls")
		ev.Reason, ev.Text = reason, detail
		st := Fail
		if insecure {
			st = Warn
		}
		r.find(c, st, ev, "", "")
		if insecure {
			r.find(c, Warn, &Evidence{Check: "tls", Reason: "insecure", Text: "tls_insecure=true", own: true},
				"Certificate checks are switched off for this account (property tls_insecure=true), so the problem above does not stop it; anyone between here and the server could read the mail.",
				fmt.Sprintf("Fix the certificate problem, then remove the property: `mailport account edit %s --property tls_insecure=false`.", r.name))
			return tc
		}
		r.block(needNet, "the certificate is not trusted")
		return tc
	}
	if days <= 14 {
		r.find(c, Warn, &Evidence{Check: "tls", Reason: "expiring", own: true, Text: fmt.Sprintf("certificate expires in %s", plural(days, "day", "days"))},
			fmt.Sprintf("The server's certificate expires on %s, in %s.", leaf.NotAfter.Format("2006-01-02"), plural(days, "day", "days")),
			"Tell the server's administrator to renew the certificate before it expires.")
	}
	return tc
}

// verifyCert checks name, dates and chain, in that order, and returns the
// first problem's reason and text.
func verifyCert(st tls.ConnectionState, cfg *tls.Config, host string, now time.Time) (string, string) {
	leaf := st.PeerCertificates[0]
	if err := leaf.VerifyHostname(host); err != nil {
		return "name-mismatch", err.Error()
	}
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return "expired", fmt.Sprintf("x509: certificate has expired or is not yet valid: valid from %s to %s", leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, ic := range st.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: inter, CurrentTime: now})
	if err != nil {
		text := err.Error()
		if leaf.CheckSignatureFrom(leaf) == nil {
			text += " (the certificate is self-signed)"
		}
		return "untrusted", text
	}
	return "", ""
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	return names
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS10:
		return "TLS 1.0"
	}
	return "TLS"
}

// readReply reads a greeting: one line, or SMTP's multi-line 220 reply;
// at most 100 lines of at most br's buffer size.
func readReply(br *bufio.Reader, protocol string) (string, error) {
	var first string
	for i := 0; i < 100; i++ {
		line, err := readLine(br)
		if err != nil {
			return "", err
		}
		if i == 0 {
			first = line
		}
		if protocol != config.SMTP || len(line) < 4 || line[3] != '-' {
			return first, nil
		}
	}
	return first, errors.New("endless reply")
}

// startTLS asks for STARTTLS in the account's protocol.
func (r *runner) startTLS(conn net.Conn, br *bufio.Reader) error {
	send := func(s string) error {
		_, err := conn.Write([]byte(s + "\r\n"))
		return err
	}
	switch r.acct.Protocol {
	case config.IMAP:
		if err := send("m1 STARTTLS"); err != nil {
			return err
		}
		for i := 0; i < 100; i++ {
			line, err := readLine(br)
			if err != nil {
				return err
			}
			if strings.HasPrefix(line, "m1 ") {
				if strings.HasPrefix(strings.ToUpper(line[3:]), "OK") {
					return nil
				}
				return errors.New(strings.TrimSpace(line[3:]))
			}
		}
	case config.POP3:
		if err := send("STLS"); err != nil {
			return err
		}
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+OK") {
			return errors.New(strings.TrimSpace(line))
		}
		return nil
	case config.SMTP:
		if err := send("EHLO " + heloName()); err != nil {
			return err
		}
		reply, err := readReply(br, config.SMTP)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "250") {
			return errors.New(reply)
		}
		if err := send("STARTTLS"); err != nil {
			return err
		}
		reply, err = readReply(br, config.SMTP)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "220") {
			return errors.New(reply)
		}
		return nil
	}
	return errors.New("no STARTTLS for this protocol")
}

func heloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// tunnel opens an HTTP CONNECT tunnel to addr through proxy, as Go's
// transport does for an https:// request (credentials from the proxy URL).
func (r *runner) tunnel(ctx context.Context, proxy *url.URL, addr string) (net.Conn, error) {
	phost, pport := proxyAddr(proxy)
	d := resolver.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(phost, strconv.Itoa(pport)))
	if err != nil {
		return nil, err
	}
	if proxy.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: phost})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS to the proxy: %w", err)
		}
		conn = tc
	}
	conn.SetDeadline(time.Now().Add(r.opts.Timeout))
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("CONNECT %s: %s", addr, resp.Status)
	}
	if br.Buffered() > 0 {
		conn.Close()
		return nil, fmt.Errorf("CONNECT %s: the proxy sent data before the tunnel opened", addr)
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// lookupHost resolves host where all of mailport's lookups go:
// MAILPORT_RESOLVER's server, else the system's resolver.
func lookupHost(ctx context.Context, host string) ([]string, error) {
	res, err := resolver.FromEnv()
	if err != nil {
		return nil, err
	}
	return res.LookupHost(ctx, host)
}

// viaResolver names MAILPORT_RESOLVER's server for the DNS check's words,
// "" with the system's resolver.
func viaResolver() string {
	if res, err := resolver.FromEnv(); err == nil && res.Custom() {
		return " (asked " + res.String() + ")"
	}
	return ""
}
