package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailport/mailport/pkg/oauth"
)

// assertionHeader decodes the JOSE header of a signed assertion.
func assertionHeader(t *testing.T, tok string) map[string]string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// A PEM or PKCS#12 bundle with a chain (intermediates before or after the
// leaf) is the leaf's credential: the thumbprints of the header and of
// token-config show are the leaf's, whatever the order.
func TestCertificateChainUsesTheLeaf(t *testing.T) {
	leaf := newClientCert(t, time.Now().AddDate(1, 0, 0))
	inter := newClientCert(t, time.Now().AddDate(2, 0, 0)) // stands for an intermediate CA
	keyPEM := leaf.PEM[len(leaf.CertPEM):]
	pfx, err := pkcs12.Modern.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{inter.Cert}, "pw-chain")
	if err != nil {
		t.Fatal(err)
	}
	s1, s256 := sha1.Sum(leaf.Cert.Raw), sha256.Sum256(leaf.Cert.Raw)
	for name, c := range map[string]struct {
		data []byte
		pass string
	}{
		"intermediate first": {append(append(append([]byte(nil), inter.CertPEM...), keyPEM...), leaf.CertPEM...), ""},
		"leaf first":         {append(append(append([]byte(nil), leaf.CertPEM...), inter.CertPEM...), keyPEM...), ""},
		"PKCS#12 with chain": {pfx, "pw-chain"},
	} {
		cert, err := oauth.ParseCertificate(c.data, c.pass)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := cert.Thumbprint(); got != hexOf(s256[:]) {
			t.Errorf("%s: thumbprint %s, want the leaf's %s", name, got, hexOf(s256[:]))
		}
		a, err := cert.Assertion(clientID, "https://login.microsoftonline.com/t/oauth2/v2.0/token", "PS256", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h := assertionHeader(t, a)
		if h["x5t"] != base64.RawURLEncoding.EncodeToString(s1[:]) || h["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) || h["alg"] != "PS256" {
			t.Errorf("%s: header %v, want the leaf's x5t and x5t#S256", name, h)
		}
		// The store keeps the leaf and its key only.
		p, err := cert.PEM()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(p), "BEGIN CERTIFICATE"); n != 1 {
			t.Errorf("%s: the stored PEM holds %d certificates, want the leaf alone", name, n)
		}
	}
}

// Keys mailport cannot use are refused in one sentence that says what to
// do: passphrase-protected PEM keys (PKCS #8 and legacy OpenSSL) and
// non-RSA keys.
func TestParseCertificateKeysItCannotUse(t *testing.T) {
	cc := newClientCert(t, time.Now().AddDate(1, 0, 0))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, headers map[string]string, b []byte) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: b})
	}
	const protected = "holds a passphrase-protected private key: export it without a passphrase, or as PKCS#12 with --certificate-password-env"
	for name, c := range map[string]struct {
		key  []byte
		want string
	}{
		"PKCS #8 encrypted": {block("ENCRYPTED PRIVATE KEY", nil, []byte("opaque")), protected},
		"OpenSSL legacy encrypted": {block("RSA PRIVATE KEY", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, []byte("opaque")),
			protected},
		"EC in PKCS #8": {block("PRIVATE KEY", nil, ecDER), "holds an ECDSA key, but Microsoft accepts only RSA keys for certificate credentials: make an RSA certificate (2048 bits or more)"},
	} {
		data := append(append([]byte(nil), cc.CertPEM...), c.key...)
		if _, err := oauth.ParseCertificate(data, ""); err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
	// A key too small for Entra, with its own certificate.
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "small"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &small.PublicKey, small)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		key  []byte
		want string
	}{
		"1024-bit RSA": {append(block("CERTIFICATE", nil, der), block("RSA PRIVATE KEY", nil, x509.MarshalPKCS1PrivateKey(small))...),
			"holds a 1024-bit RSA key, but Microsoft accepts only keys of 2048 bits or more for certificate credentials: make a new certificate with a larger key"},
	} {
		data := c.key
		if _, err := oauth.ParseCertificate(data, ""); err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// A mounted certificate_path replaced by a password-protected .pfx is
// refused at the token request in words that fit a mounted file (there
// is no password flag for it).
func TestCertificatePathProtectedPFXAtRunTime(t *testing.T) {
	e, cc := certEnv(t, "")
	pfx, err := pkcs12.Modern.Encode(cc.Key, cc.Cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tls.pfx")
	if err := os.WriteFile(path, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	e.tc().CertificatePath = path
	_, _, err = e.m.Client("tc")
	want := "token config tc: its certificate_path " + path + " is a password-protected PKCS#12 file, which mailport does not open at every run: mount it as PEM (openssl pkcs12 -in FILE -nodes -out FILE.pem)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
