package resolver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Dialer connects to host:port, looking the host up with its Resolver.
type Dialer struct {
	// Resolver does the lookups; nil means FromEnv at each dial.
	Resolver *Resolver
	// Timeout bounds the lookup and each connection attempt; 0 means 30 s.
	Timeout time.Duration
	// KeepAlive is net.Dialer's KeepAlive.
	KeepAlive time.Duration
}

// DialContext connects to addr ("host:port") over network (tcp, tcp4,
// tcp6). With the system's resolver it is net.Dialer's DialContext; with a
// named DNS server it looks the host up there and tries each address in
// turn.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	r := d.Resolver
	if r == nil {
		var err error
		if r, err = FromEnv(); err != nil {
			return nil, err
		}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	nd := &net.Dialer{Timeout: timeout, KeepAlive: d.KeepAlive}
	if !r.Custom() {
		return nd.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	lr := *r
	if lr.Timeout <= 0 || lr.Timeout > timeout {
		lr.Timeout = timeout
	}
	addrs, err := lr.LookupHost(ctx, host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var errs []error
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || (network == "tcp4" && ip.To4() == nil) || (network == "tcp6" && ip.To4() != nil) {
			continue
		}
		conn, err := nd.DialContext(ctx, network, net.JoinHostPort(a, port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no address of the right family", Name: host, Server: r.Server, IsNotFound: true}}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// MaxResponseHeader bounds the headers of one HTTP response (Go's default
// is 10 MB; the services mailport talks to send a few KB).
const MaxResponseHeader = 256 << 10

// Transport is a clone of http.DefaultTransport (proxy from the
// environment, HTTP/2) whose connections go through a Dialer with timeout,
// whose TLS handshake and response headers are bounded by it too, and
// whose response headers are at most MaxResponseHeader bytes.
func Transport(r *Resolver, timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&Dialer{Resolver: r, Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = timeout
	tr.ResponseHeaderTimeout = timeout
	tr.MaxResponseHeaderBytes = MaxResponseHeader
	return tr
}
