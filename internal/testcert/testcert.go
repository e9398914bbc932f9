// Package testcert makes the throw-away TLS certificates of mailport's
// test servers (imaptest, pop3test, smtptest, the Dovecot/Postfix test bed
// and the demo): a private CA and a server certificate it signs for
// localhost, 127.0.0.1 and ::1. Clients verify them the normal way, with
// the CA as tls_ca_file, instead of skipping verification.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Lifetime is long enough that `mailport test` never warns about expiry.
const Lifetime = 365 * 24 * time.Hour

// Set is a CA and a server certificate, PEM-encoded.
type Set struct {
	CAPEM   []byte // the CA, for clients to trust
	CertPEM []byte // the server certificate followed by the CA, as servers send the chain
	KeyPEM  []byte // the server's private key (PKCS #8)
	cert    tls.Certificate
}

// New makes a CA named "<name> CA" and a server certificate it signs.
func New(name string) (*Set, error) { return NewFor(name) }

// NewFor is New with more DNS names in the server certificate (such as
// mail.example.test, for a test whose fake DNS points that name at
// 127.0.0.1), after localhost.
func NewFor(name string, names ...string) (*Set, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: generate CA key: %w", name, err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + " CA", Organization: []string{"mailport"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("%s: create CA certificate: %w", name, err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("%s: parse CA certificate: %w", name, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: generate server key: %w", name, err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"mailport"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     append([]string{"localhost"}, names...),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("%s: create server certificate: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: encode server key: %w", name, err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	return &Set{
		CAPEM:   caPEM,
		CertPEM: append(leafPEM, caPEM...),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		cert:    tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key},
	}, nil
}

// Certificate is the server certificate with its chain and key.
func (s *Set) Certificate() tls.Certificate { return s.cert }

// ServerConfig is a TLS server configuration presenting the certificate.
func (s *Set) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano()) // crypto/rand does not fail on Linux
	}
	return n
}
