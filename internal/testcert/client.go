package testcert

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"time"
)

// Client is a self-signed RSA client certificate, as an admin makes for an
// Entra app registration's certificate credential.
type Client struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
	// PEM is the certificate followed by its PKCS #8 private key.
	PEM []byte
	// CertPEM is the certificate alone (what is uploaded to the app).
	CertPEM []byte
}

// NewClient makes a 2048-bit RSA certificate for cn valid until notAfter.
func NewClient(cn string, notAfter time.Time) (*Client, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("%s: generate RSA key: %w", cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("%s: create certificate: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: parse certificate: %w", cn, err)
	}
	k8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: encode key: %w", cn, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	all := append(append([]byte(nil), certPEM...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})...)
	return &Client{Cert: cert, Key: key, PEM: all, CertPEM: certPEM}, nil
}
