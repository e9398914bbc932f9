package oauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailport/mailport/pkg/config"
)

// ClientAssertionType is the client_assertion_type of RFC 7523 client
// authentication, for certificates and federated tokens alike.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a signed client assertion is valid;
// Microsoft refuses assertions valid for more than 10 minutes.
const AssertionLifetime = 10 * time.Minute

// MaxCertificateFile is the largest certificate file mailport reads: a PEM
// or PKCS#12 bundle with a chain is a few kilobytes.
const MaxCertificateFile = 1 << 20

// ErrPasswordNeeded matches (errors.Is) the error of ParseCertificate and
// ReadCertificateFile for a PKCS#12 file that needs a password and was
// given none.
var ErrPasswordNeeded = errors.New("the PKCS#12 file needs a password")

type passwordNeededError struct{}

func (passwordNeededError) Error() string {
	return "is a PKCS#12 file protected by a password: name the environment variable holding it with --certificate-password-env"
}

func (passwordNeededError) Is(target error) bool { return target == ErrPasswordNeeded }

// Certificate is a client certificate with its RSA private key, the
// credential of certificate-based client authentication.
type Certificate struct {
	Leaf *x509.Certificate
	Key  *rsa.PrivateKey
}

// ParseCertificate reads a PEM bundle (a CERTIFICATE and its PRIVATE KEY
// or RSA PRIVATE KEY, in any order) or, when data is not PEM, a PKCS#12
// (.pfx, .p12) file opened with password. Errors are one sentence saying
// what is wrong with the file.
func ParseCertificate(data []byte, password string) (*Certificate, error) {
	if len(data) > MaxCertificateFile {
		return nil, fmt.Errorf("is larger than %d bytes, which no certificate file is", MaxCertificateFile)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEMCertificate(data)
	}
	key, leaf, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			if password == "" {
				return nil, passwordNeededError{}
			}
			return nil, errors.New("is a PKCS#12 file whose password is not the one given: check the variable named by --certificate-password-env")
		}
		return nil, fmt.Errorf("is neither PEM (a certificate and its private key) nor a PKCS#12 file mailport can read: %v", err)
	}
	return pairUp(key, []*x509.Certificate{leaf})
}

func parsePEMCertificate(data []byte) (*Certificate, error) {
	var certs []*x509.Certificate
	var key any
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("holds a CERTIFICATE block that is not a valid X.509 certificate: %v", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("holds a PRIVATE KEY block that is not a valid PKCS #8 key: %v", err)
			}
			key = k
		case "RSA PRIVATE KEY":
			if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, errors.New("holds a passphrase-protected private key: export it without a passphrase, or as PKCS#12 with --certificate-password-env")
			}
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("holds an RSA PRIVATE KEY block that is not a valid key: %v", err)
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("holds a passphrase-protected private key: export it without a passphrase, or as PKCS#12 with --certificate-password-env")
		case "EC PRIVATE KEY":
			return nil, errors.New("holds an EC private key, but Microsoft accepts only RSA keys for certificate credentials: make an RSA certificate (2048 bits or more)")
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no CERTIFICATE: give a PEM file with the certificate and its private key")
	}
	if key == nil {
		return nil, errors.New("holds no private key: give a PEM file with the certificate and its private key (PRIVATE KEY or RSA PRIVATE KEY), not the certificate alone")
	}
	return pairUp(key, certs)
}

// minRSABits is the smallest RSA key Microsoft Entra takes for a
// certificate credential.
const minRSABits = 2048

// pairUp finds the certificate of key among certs.
func pairUp(key any, certs []*x509.Certificate) (*Certificate, error) {
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("holds %s, but Microsoft accepts only RSA keys for certificate credentials: make an RSA certificate (2048 bits or more)", keyKind(key))
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rk.PublicKey) {
			if bits := rk.N.BitLen(); bits < minRSABits {
				return nil, fmt.Errorf("holds a %d-bit RSA key, but Microsoft accepts only keys of %d bits or more for certificate credentials: make a new certificate with a larger key", bits, minRSABits)
			}
			return &Certificate{Leaf: c, Key: rk}, nil
		}
	}
	return nil, errors.New("holds a private key that belongs to none of its certificates: put the certificate and its own key together")
}

// keyKind names a parsed private key's algorithm for a message ("an ECDSA
// key"), rather than its Go type.
func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey:
		return "an RSA key"
	case *ecdsa.PrivateKey:
		return "an ECDSA key"
	case ed25519.PrivateKey:
		return "an Ed25519 key"
	case *ecdh.PrivateKey:
		return "an X25519 key"
	}
	return "a key of an unknown kind"
}

// PEM is the certificate and its key as one PEM bundle (PKCS #8 key), the
// form the secret store keeps.
func (c *Certificate) PEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...), nil
}

// Thumbprint is the hex SHA-256 of the DER certificate, as Entra's
// "Certificates & secrets" page shows it.
func (c *Certificate) Thumbprint() string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// Expires is the certificate's notAfter as a date (YYYY-MM-DD, UTC).
func (c *Certificate) Expires() string {
	return c.Leaf.NotAfter.UTC().Format(config.DateLayout)
}

// Assertion signs an RFC 7523 client assertion for clientID at the token
// endpoint aud, valid from now for AssertionLifetime, with alg (RS256 or
// PS256). Each call has a new jti.
func (c *Certificate) Assertion(clientID, aud, alg string, now time.Time) (string, error) {
	s256 := sha256.Sum256(c.Leaf.Raw)
	s1 := sha1.Sum(c.Leaf.Raw)
	header := map[string]string{
		"alg": alg, "typ": "JWT",
		"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]),
		"x5t":      base64.RawURLEncoding.EncodeToString(s1[:]),
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	claims := map[string]any{
		"aud": aud, "iss": clientID, "sub": clientID, "jti": jti,
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encoding the assertion header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding the assertion claims: %w", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	switch alg {
	case config.AlgRS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, c.Key, crypto.SHA256, digest[:])
	case config.AlgPS256:
		sig, err = rsa.SignPSS(rand.Reader, c.Key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		return "", fmt.Errorf("assertion_alg %q is not RS256 or PS256", alg)
	}
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// newJTI is a random GUID-shaped assertion id.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("no randomness for the assertion id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:], nil
}

// AssertionFunc makes the client_assertion of one token request; it is
// called once per request, so each request carries a fresh assertion (or
// the federated token as it is now).
type AssertionFunc func(ctx context.Context) (string, error)

// CertificateAssertions signs a new assertion per request with cert.
func CertificateAssertions(cert *Certificate, clientID, tokenURL, alg string, now func() time.Time) AssertionFunc {
	return func(context.Context) (string, error) {
		return cert.Assertion(clientID, tokenURL, alg, now())
	}
}

// authenticate adds the client's credential to a token request's form:
// a fresh client assertion, or the client secret, or nothing (a public
// client).
func (c *Client) authenticate(ctx context.Context, form url.Values) error {
	if c.Assertion == nil {
		if c.Secret != "" {
			form.Set("client_secret", c.Secret)
		}
		return nil
	}
	a, err := c.Assertion(ctx)
	if err != nil {
		return fmt.Errorf("token config %s: %w", c.Name, err)
	}
	form.Set("client_assertion_type", ClientAssertionType)
	form.Set("client_assertion", a)
	return nil
}

// assertionOptions are the code redemption's options with the client
// assertion added, when the client has one (x/oauth2 sends the secret
// itself).
func (c *Client) assertionOptions(ctx context.Context, opts ...oauth2.AuthCodeOption) ([]oauth2.AuthCodeOption, error) {
	if c.Assertion == nil {
		return opts, nil
	}
	a, err := c.Assertion(ctx)
	if err != nil {
		return nil, fmt.Errorf("token config %s: %w", c.Name, err)
	}
	return append(opts, oauth2.SetAuthURLParam("client_assertion_type", ClientAssertionType), oauth2.SetAuthURLParam("client_assertion", a)), nil
}
