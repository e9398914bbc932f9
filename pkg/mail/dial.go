package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/mailport/mailport/pkg/resolver"
)

// Encryption is how a connection is protected.
type Encryption string

const (
	SSL      Encryption = "ssl"      // TLS from the first byte (implicit TLS)
	StartTLS Encryption = "starttls" // plain text, upgraded with STARTTLS / STLS
	None     Encryption = "none"     // plain text throughout
)

// Endpoint is where and how to connect, resolved from an account.
type Endpoint struct {
	Host       string
	Port       int
	Encryption Encryption
	// CAFile adds a private CA (the account property tls_ca_file).
	CAFile string
	// InsecureSkipVerify disables certificate checks (property tls_insecure=true; tests only).
	InsecureSkipVerify bool
	// AllowPlaintextAuth permits a password over an unencrypted connection
	// (property allow_plaintext_auth=true).
	AllowPlaintextAuth bool
	// Timeout bounds the dial and each protocol step; 0 means 30 s.
	Timeout time.Duration
	// Trace, when set, receives the protocol transcript. Adapters wrap it
	// in a Redactor so secrets never reach it.
	Trace io.Writer
	// Properties are the account's protocol switches (e.g. pop3.xoauth2.two_line).
	Properties map[string]string
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// StepTimeout is the timeout for one network step.
func (e Endpoint) StepTimeout() time.Duration {
	if e.Timeout > 0 {
		return e.Timeout
	}
	return 30 * time.Second
}

// TLSConfig is the client TLS configuration for the endpoint: the host as
// server name, the system roots plus CAFile.
func (e Endpoint) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.InsecureSkipVerify}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read tls_ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate", e.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Dial connects to the endpoint, the host looked up by pkg/resolver
// (MAILPORT_RESOLVER, else the system's resolver). For SSL it completes
// the TLS handshake; for StartTLS and None it returns the plain connection
// (the protocol adapter upgrades it after the greeting).
func Dial(ctx context.Context, e Endpoint) (net.Conn, error) {
	d := resolver.Dialer{Timeout: e.StepTimeout()}
	conn, err := d.DialContext(ctx, "tcp", e.Addr())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", e.Addr(), err)
	}
	if e.Encryption != SSL {
		return conn, nil
	}
	cfg, err := e.TLSConfig()
	if err != nil {
		conn.Close()
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, e.StepTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", e.Addr(), err)
	}
	return tc, nil
}

// UpgradeTLS runs the client side of a TLS handshake on conn after a
// successful STARTTLS / STLS exchange.
func UpgradeTLS(ctx context.Context, conn net.Conn, e Endpoint) (*tls.Conn, error) {
	cfg, err := e.TLSConfig()
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, e.StepTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("tls handshake with %s after STARTTLS: %w", e.Addr(), err)
	}
	return tc, nil
}

// CheckPlaintextAuth refuses basic credentials over an unencrypted
// connection unless the endpoint allows it.
func (e Endpoint) CheckPlaintextAuth(c Credentials) error {
	if e.Encryption == None && c.Kind == AuthBasic && !e.AllowPlaintextAuth {
		return &PlaintextAuthError{Host: e.Host}
	}
	return nil
}
