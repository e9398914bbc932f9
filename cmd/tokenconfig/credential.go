package tokenconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// credFields are the flags of certificate and federated credentials.
type credFields struct {
	Certificate        string
	PasswordEnv        string
	CertificatePath    string
	AssertionAlg       string
	FederatedTokenFile string
	FederatedToken     string
	FederatedAudience  string
}

func (cf *credFields) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&cf.Certificate, "certificate", "", "authenticate the app with a certificate: a PEM `FILE` with the certificate and its private key, or PKCS#12 (.pfx/.p12); kept in the secret store, the file may be deleted afterwards")
	f.StringVar(&cf.PasswordEnv, "certificate-password-env", "", "read the PKCS#12 password of --certificate from the environment variable `VAR`")
	f.StringVar(&cf.CertificatePath, "certificate-path", "", "authenticate with the certificate in PEM `FILE`, read at every run (a mounted Kubernetes secret); nothing is stored")
	f.StringVar(&cf.AssertionAlg, "assertion-alg", "", "signature of certificate assertions: RS256 (default) or PS256")
	f.StringVar(&cf.FederatedTokenFile, "federated-token-file", "", "workload identity federation: send the token in `FILE` (re-read on every request) instead of a secret; empty means AZURE_FEDERATED_TOKEN_FILE at run time")
	f.StringVar(&cf.FederatedToken, "federated-token", "", "workload identity federation with a platform's token: github (GitHub Actions' OIDC token)")
	f.StringVar(&cf.FederatedAudience, "federated-audience", "", "audience to ask for federated tokens (default api://AzureADTokenExchange)")
}

// kind is the credential the flags ask for: certificate, federated, or ""
// when no credential flag was given.
func (fl *fields) credentialKind() string {
	switch {
	case fl.changed("certificate") || fl.changed("certificate-path"):
		return config.CredentialCertificate
	case fl.changed("federated-token-file") || fl.changed("federated-token") || fl.changed("federated-audience"):
		return config.CredentialFederated
	}
	return ""
}

// checkCredential validates the credential flags before anything is loaded.
func (fl *fields) checkCredential() error {
	cf := &fl.Cred
	cert := fl.changed("certificate") || fl.changed("certificate-path")
	fed := fl.changed("federated-token-file") || fl.changed("federated-token") || fl.changed("federated-audience")
	switch {
	case fl.changed("certificate") && fl.changed("certificate-path"):
		return cmdutil.FlagErrorf("use either --certificate (stored) or --certificate-path (read at every run), not both")
	case cert && fed:
		return cmdutil.FlagErrorf("use either a certificate or a federated token, not both")
	case (cert || fed) && fl.changed("key-file"):
		return cmdutil.FlagErrorf("a Google service account signs in with its --key-file: give no certificate or federated token with it")
	case (cert || fed) && fl.Secret.Given():
		return cmdutil.FlagErrorf("a certificate or a federated token replaces the client secret: drop --client-secret-stdin / --client-secret-env")
	case fl.changed("certificate-password-env") && !fl.changed("certificate"):
		return cmdutil.FlagErrorf("--certificate-password-env goes with --certificate FILE (a PKCS#12 file)")
	case fl.changed("federated-token-file") && fl.changed("federated-token"):
		return cmdutil.FlagErrorf("use either --federated-token-file or --federated-token, not both")
	}
	if fl.changed("assertion-alg") {
		if err := cmdutil.OneOf("assertion-alg", cf.AssertionAlg, config.AssertionAlgs); err != nil {
			return err
		}
	}
	if fl.changed("federated-token") {
		if err := cmdutil.OneOf("federated-token", cf.FederatedToken, []string{config.FederatedGitHub}); err != nil {
			return err
		}
	}
	if fl.changed("certificate") && cf.Certificate == "" || fl.changed("certificate-path") && cf.CertificatePath == "" {
		return cmdutil.FlagErrorf("--certificate and --certificate-path need a FILE")
	}
	return nil
}

// credential is what applyCredential decided about the secret store.
type credential struct {
	// PEM, when not empty, is stored under the token config's secret key.
	PEM string
	// Drop removes a stored secret (the credential lives elsewhere).
	Drop bool
	cert *oauth.Certificate
}

// applyCredential sets tc's credential fields from the flags; with
// --certificate it reads the file (and the PKCS#12 password from its
// variable). kind is credentialKind(). A certificate that has expired by
// now is refused: Microsoft refuses every assertion it signs.
func (fl *fields) applyCredential(getenv func(string) string, now func() time.Time, tc *config.TokenConfig) (*credential, error) {
	cf := &fl.Cred
	kind := fl.credentialKind()
	res := &credential{}
	switch {
	case kind == "" && fl.Secret.Given() && tc.CredentialKind() != config.CredentialSecret:
		// A new client secret switches a certificate or federated
		// token config back to the secret.
		clearCredential(tc)
		return res, nil
	case kind == "":
		if fl.changed("assertion-alg") {
			if tc.CredentialKind() != config.CredentialCertificate {
				return nil, cmdutil.FlagErrorf("--assertion-alg applies to a certificate credential: give --certificate or --certificate-path too")
			}
			tc.AssertionAlg = cf.AssertionAlg
		}
		return res, nil
	}
	if fl.changed("assertion-alg") && kind != config.CredentialCertificate {
		return nil, cmdutil.FlagErrorf("--assertion-alg applies to a certificate credential, not a federated one")
	}
	alg := tc.AssertionAlg
	old := *tc
	clearCredential(tc)
	tc.Credential = kind
	res.Drop = true
	if kind == config.CredentialFederated {
		if err := fl.applyFederated(&old, tc); err != nil {
			return nil, err
		}
		return res, nil
	}
	if fl.changed("assertion-alg") {
		alg = cf.AssertionAlg
	}
	if alg != config.AlgPS256 {
		alg = ""
	}
	tc.AssertionAlg = alg
	var cert *oauth.Certificate
	var err error
	if fl.changed("certificate-path") {
		abs, aerr := filepath.Abs(cf.CertificatePath)
		if aerr != nil {
			return nil, cmdutil.FlagErrorf("--certificate-path %s: %v", cf.CertificatePath, aerr)
		}
		if cert, err = oauth.ReadCertificateFile(abs, ""); err != nil {
			if errors.Is(err, oauth.ErrPasswordNeeded) {
				return nil, cmdutil.FlagErrorf("--certificate-path: %s is a password-protected PKCS#12 file, which mailport does not open at every run: mount it as PEM (openssl pkcs12 -in FILE -nodes -out FILE.pem), or store it once with --certificate FILE --certificate-password-env VAR", abs)
			}
			return nil, cmdutil.FlagErrorf("--certificate-path: %v", err)
		}
		if err := refuseExpired("--certificate-path", abs, cert, now); err != nil {
			return nil, err
		}
		tc.CertificatePath = abs
	} else {
		password := ""
		if cf.PasswordEnv != "" {
			if password = getenv(cf.PasswordEnv); password == "" {
				return nil, cmdutil.FlagErrorf("--certificate-password-env %s: the environment variable %s is empty or not set", cf.PasswordEnv, cf.PasswordEnv)
			}
		}
		if cert, err = oauth.ReadCertificateFile(cf.Certificate, password); err != nil {
			return nil, cmdutil.FlagErrorf("--certificate: %v", err)
		}
		if err := refuseExpired("--certificate", cf.Certificate, cert, now); err != nil {
			return nil, err
		}
		p, err := cert.PEM()
		if err != nil {
			return nil, err
		}
		res.PEM, res.Drop = string(p), false
	}
	tc.CertificateThumbprint, tc.CertificateExpires = cert.Thumbprint(), cert.Expires()
	res.cert = cert
	return res, nil
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

// refuseExpired refuses a certificate whose notAfter has passed (or whose
// notBefore is still to come): Entra answers every assertion it signs
// with AADSTS700027, so saving it would only defer the failure.
func refuseExpired(flag, path string, cert *oauth.Certificate, now func() time.Time) error {
	t := clock(now)
	switch {
	case t.After(cert.Leaf.NotAfter):
		return cmdutil.FlagErrorf("%s: the certificate in %s expired on %s, and Microsoft refuses assertions signed with an expired certificate (AADSTS700027): make a new one and upload it to the app registration (Certificates & secrets)",
			flag, path, cert.Expires())
	case t.Before(cert.Leaf.NotBefore):
		return cmdutil.FlagErrorf("%s: the certificate in %s is not valid before %s (UTC): check this machine's clock, or wait until then",
			flag, path, cert.Leaf.NotBefore.UTC().Format(time.DateTime))
	}
	return nil
}

// applyFederated sets tc's federated token from the flags. Flags not
// given keep what old (the token config before the edit) had, when it was
// federated: `edit --federated-audience` changes the audience only. The
// audience is asked of GitHub; a token file's audience is fixed where the
// token is made, so it goes with --federated-token github only.
func (fl *fields) applyFederated(old, tc *config.TokenConfig) error {
	cf := &fl.Cred
	if old.CredentialKind() == config.CredentialFederated && !fl.changed("federated-token-file") && !fl.changed("federated-token") {
		tc.FederatedTokenFile, tc.FederatedToken = old.FederatedTokenFile, old.FederatedToken
		tc.FederatedAudience = old.FederatedAudience
	} else {
		tc.FederatedToken = cf.FederatedToken
	}
	if cf.FederatedTokenFile != "" {
		abs, err := filepath.Abs(cf.FederatedTokenFile)
		if err != nil {
			return cmdutil.FlagErrorf("--federated-token-file %s: %v", cf.FederatedTokenFile, err)
		}
		tc.FederatedTokenFile = abs
	}
	if fl.changed("federated-audience") {
		if tc.FederatedToken != config.FederatedGitHub {
			return cmdutil.FlagErrorf("--federated-audience goes with --federated-token github: a token file's audience is set where the token is made (the projected volume's audience, the CI job's id_tokens aud)")
		}
		tc.FederatedAudience = cf.FederatedAudience
	}
	if tc.FederatedToken != config.FederatedGitHub || tc.FederatedAudience == config.DefaultFederatedAudience {
		tc.FederatedAudience = ""
	}
	return nil
}

func clearCredential(tc *config.TokenConfig) {
	tc.Credential, tc.CertificatePath, tc.CertificateThumbprint, tc.CertificateExpires = "", "", "", ""
	tc.AssertionAlg, tc.FederatedTokenFile, tc.FederatedToken, tc.FederatedAudience = "", "", "", ""
}

// expiryWarning is the warning add and edit print when the certificate
// just given expires within 30 days; "" otherwise.
func expiryWarning(name string, tc *config.TokenConfig, c *credential, now func() time.Time) string {
	if c.cert == nil {
		return ""
	}
	return oauth.CertificateExpiryWarning(name, tc.CertificatePath, tc.CertificateExpires, clock(now))
}

// credentialNote is the line add and edit print about the credential.
func credentialNote(tc *config.TokenConfig, c *credential, storeWord string) string {
	switch {
	case c.cert != nil && tc.CertificatePath != "":
		return fmt.Sprintf("Certificate %s (expires %s) is read from %s at every run; nothing stored.", tc.CertificateThumbprint, tc.CertificateExpires, tc.CertificatePath)
	case c.cert != nil:
		return fmt.Sprintf("Certificate %s (expires %s) and its key stored in the %s; the file may be deleted.", tc.CertificateThumbprint, tc.CertificateExpires, storeWord)
	case tc.Credential == config.CredentialFederated && tc.FederatedToken == config.FederatedGitHub:
		return fmt.Sprintf("No secret stored: each token request sends GitHub Actions' OIDC token for %s.", tc.Audience())
	case tc.Credential == config.CredentialFederated && tc.FederatedTokenFile != "":
		return fmt.Sprintf("No secret stored: each token request sends the token in %s.", tc.FederatedTokenFile)
	case tc.Credential == config.CredentialFederated:
		return fmt.Sprintf("No secret stored: each token request sends the token in the file %s names.", oauth.EnvAzureFederatedTokenFile)
	}
	return ""
}
