package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// SourceCertificatePath and SourceFederated are the sources status shows
// for credentials that are not in the secret store.
const (
	SourceCertificatePath secret.Source = "certificate_path"
	SourceFederated       secret.Source = "federated"
)

func (m *Manager) getenv(k string) string {
	if m.Secrets != nil && m.Secrets.Getenv != nil {
		return m.Secrets.Getenv(k)
	}
	return os.Getenv(k)
}

// setCredential gives c its token config's credential: the client secret
// (none for a public client), a certificate's signed assertions, or a
// federated token.
func (m *Manager) setCredential(c *Client) error {
	name, tc := c.Name, c.Config
	switch tc.CredentialKind() {
	case config.CredentialCertificate:
		cert, _, err := m.Certificate(name, tc)
		if err != nil {
			return err
		}
		// Signed with the machine's clock, which Microsoft compares with its own.
		c.Assertion = CertificateAssertions(cert, tc.ClientID, c.Endpoints.TokenURL, tc.Alg(), time.Now)
	case config.CredentialFederated:
		a, _, err := m.federated(name, tc)
		if err != nil {
			return err
		}
		c.Assertion = a
	default:
		sec, _, err := m.Secrets.ClientSecret(name)
		if err != nil && !secret.IsNotFound(err) {
			return fmt.Errorf("reading the client secret of token config %s: %w", name, err)
		}
		c.Secret = sec
	}
	return nil
}

// Certificate loads the certificate of a token config with credential
// certificate: from certificate_path when set, else from the secret store
// (or MAILPORT_CLIENT_SECRET_<TOKENCONFIG>), where token-config add
// keeps it. The source says which.
func (m *Manager) Certificate(name string, tc *config.TokenConfig) (*Certificate, secret.Source, error) {
	if tc.CertificatePath != "" {
		cert, err := ReadCertificateFile(tc.CertificatePath, "")
		if errors.Is(err, ErrPasswordNeeded) {
			return nil, SourceCertificatePath, fmt.Errorf("token config %s: its certificate_path %s is a password-protected PKCS#12 file, which mailport does not open at every run: mount it as PEM (openssl pkcs12 -in FILE -nodes -out FILE.pem)", name, tc.CertificatePath)
		}
		if err != nil {
			return nil, SourceCertificatePath, fmt.Errorf("token config %s: %w", name, err)
		}
		return cert, SourceCertificatePath, nil
	}
	pemText, src, err := m.Secrets.ClientSecret(name)
	if secret.IsNotFound(err) {
		return nil, src, fmt.Errorf("token config %s uses a certificate, but none is stored: store it with mailport token-config edit %s --certificate FILE", name, name)
	}
	if err != nil {
		return nil, src, fmt.Errorf("reading the certificate of token config %s: %w", name, err)
	}
	cert, err := ParseCertificate([]byte(pemText), "")
	if err != nil {
		return nil, src, fmt.Errorf("the certificate of token config %s in the %s %w: store it again with mailport token-config edit %s --certificate FILE", name, src, err, name)
	}
	return cert, src, nil
}

// ReadCertificateFile reads and parses a certificate file (PEM, or
// PKCS#12 opened with password). Errors name the file.
func ReadCertificateFile(path, password string) (*Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCertificateFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate %s: %w", path, err)
	}
	cert, err := ParseCertificate(data, password)
	if err != nil {
		return nil, fmt.Errorf("the certificate file %s %w", path, err)
	}
	return cert, nil
}

// federated returns the assertion source of a federated token config and
// a description of it (the file, or GitHub Actions).
func (m *Manager) federated(name string, tc *config.TokenConfig) (AssertionFunc, string, error) {
	if tc.FederatedToken == config.FederatedGitHub {
		return GitHubAssertions(m.HTTP, m.getenv, tc.Audience()), "GitHub Actions' OIDC token (audience " + tc.Audience() + ")", nil
	}
	path, what := tc.FederatedTokenFile, "federated_token_file"
	if path == "" {
		path, what = m.getenv(EnvAzureFederatedTokenFile), EnvAzureFederatedTokenFile
	}
	if path == "" {
		return nil, "", fmt.Errorf("token config %s uses a federated credential but names no token: set its file with mailport token-config edit %s --federated-token-file FILE (or --federated-token github), or set %s", name, name, EnvAzureFederatedTokenFile)
	}
	return FederatedFileAssertions(path), "the token in " + path + " (" + what + ")", nil
}

// inspectCredential is status for an app-only token config whose
// credential is a certificate or a federated token: authenticated when
// the credential is at hand.
func (m *Manager) inspectCredential(name string, tc *config.TokenConfig, st *Status) error {
	var err error
	if tc.CredentialKind() == config.CredentialCertificate {
		st.Source = secret.SourceNotSet
		var src secret.Source
		_, src, err = m.Certificate(name, tc)
		if err == nil {
			st.Source = src
		}
	} else {
		st.Source = SourceFederated
		var a AssertionFunc
		a, _, err = m.federated(name, tc)
		if err == nil {
			err = m.federatedReady(tc, a)
		}
	}
	if err != nil {
		st.State, st.Cause = StateNotAuthenticated, err.Error()
		return nil
	}
	st.State, st.Refreshable = StateAuthenticated, true
	return nil
}

// CredentialExpiryWarning warns when a token config's client secret (by
// secret_expires) or certificate (by its notAfter: from the file when
// certificate_path is set, else certificate_expires) expires within 30
// days or has expired; "" otherwise.
func CredentialExpiryWarning(name string, tc *config.TokenConfig, now time.Time) string {
	if tc.CredentialKind() != config.CredentialCertificate {
		return SecretExpiryWarning(name, tc, now)
	}
	expires := tc.CertificateExpires
	if tc.CertificatePath != "" {
		cert, err := ReadCertificateFile(tc.CertificatePath, "")
		if err != nil {
			return "" // an unreadable file is the credential's own failure, reported with it
		}
		expires = cert.Expires()
	}
	return CertificateExpiryWarning(name, tc.CertificatePath, expires, now)
}

// CredentialSaw says what credential a token config has and where it
// comes from, for the diagnosis ("certificate 1a2b... from the keyring"),
// or why it is unusable.
func (m *Manager) CredentialSaw(name string, tc *config.TokenConfig) (string, error) {
	switch tc.CredentialKind() {
	case config.CredentialCertificate:
		cert, src, err := m.Certificate(name, tc)
		if err != nil {
			return "", err
		}
		where := "the " + string(src)
		if src == SourceCertificatePath {
			where = tc.CertificatePath
		}
		return fmt.Sprintf("certificate %s (SHA-256) from %s, valid until %s", cert.Thumbprint(), where, cert.Expires()), nil
	case config.CredentialFederated:
		a, what, err := m.federated(name, tc)
		if err != nil {
			return "", err
		}
		if err := m.federatedReady(tc, a); err != nil {
			return "", err
		}
		return "federated credential: " + what, nil
	}
	return "", nil
}

// CertificateExpiryWarning is the warning for a certificate that expires
// on the date expires (YYYY-MM-DD), 30 days ahead; "" when later or
// unknown. path is the certificate_path ("" when the store keeps it).
func CertificateExpiryWarning(name, path, expires string, now time.Time) string {
	if expires == "" {
		return ""
	}
	d, err := time.Parse(config.DateLayout, expires)
	if err != nil {
		return fmt.Sprintf("token config %s: certificate_expires %q is not a date (YYYY-MM-DD)", name, expires)
	}
	fix := fmt.Sprintf("upload a new certificate to the app registration (Certificates & secrets) and store it with mailport token-config edit %s --certificate FILE", name)
	if path != "" {
		fix = fmt.Sprintf("upload a new certificate to the app registration (Certificates & secrets) and put it with its key at %s", path)
	}
	days := int(d.Sub(now.Truncate(24*time.Hour)).Hours() / 24)
	switch {
	case days < 0:
		return fmt.Sprintf("the certificate of token config %s expired on %s: %s", name, expires, fix)
	case days <= 30:
		return fmt.Sprintf("the certificate of token config %s expires on %s, in %s: %s", name, expires, plural.Of(days, "day", "days"), fix)
	}
	return ""
}

// federatedReady says why a federated credential cannot work now: a token
// file that is missing or empty, or GitHub's variables not set. GitHub is
// not asked for a token.
func (m *Manager) federatedReady(tc *config.TokenConfig, a AssertionFunc) error {
	if tc.FederatedToken == config.FederatedGitHub {
		for _, k := range []string{EnvGitHubTokenURL, EnvGitHubTokenRequestToken} {
			if m.getenv(k) == "" {
				return fmt.Errorf("%s is not set: the workflow needs `permissions: id-token: write` (or this is not a GitHub Actions job)", k)
			}
		}
		_, _, err := gitHubRequest(m.getenv)
		return err
	}
	_, err := a(context.Background())
	return err
}
