package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Client credentials: how a token config's client proves itself at the
// token endpoint.
const (
	CredentialSecret      = "secret"      // a client secret in the secret store (or none: a public client)
	CredentialCertificate = "certificate" // an RFC 7523 assertion signed with a certificate's key
	CredentialFederated   = "federated"   // a token from another issuer (Kubernetes, GitHub Actions) as the assertion
)

// Assertion signature algorithms.
const (
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
)

// FederatedGitHub is the federated_token value that asks GitHub Actions
// for its OIDC token.
const FederatedGitHub = "github"

// DefaultFederatedAudience is the audience Entra expects in federated
// tokens.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// Choices of the credential fields.
var (
	Credentials   = []string{CredentialSecret, CredentialCertificate, CredentialFederated}
	AssertionAlgs = []string{AlgRS256, AlgPS256}
)

// CredentialServiceAccountKey is what `token-config show` names the
// credential of a Google service account: its JSON key. It is not a value
// of the credential field; the flow implies it.
const CredentialServiceAccountKey = "service_account_key"

// CredentialKind is tc's credential, secret when the field is empty (files
// written before certificates existed).
func (tc *TokenConfig) CredentialKind() string {
	if tc.Credential == "" {
		return CredentialSecret
	}
	return tc.Credential
}

// Alg is the assertion's signature algorithm, RS256 by default.
func (tc *TokenConfig) Alg() string {
	if tc.AssertionAlg == "" {
		return AlgRS256
	}
	return tc.AssertionAlg
}

// Audience is the audience a federated token is asked for.
func (tc *TokenConfig) Audience() string {
	if tc.FederatedAudience == "" {
		return DefaultFederatedAudience
	}
	return tc.FederatedAudience
}

// credential checks the credential fields of token config p.
func (v *validator) credential(p string, tc *TokenConfig) {
	kind := tc.CredentialKind()
	if tc.Credential != "" && !v.oneOf(p+".credential", tc.Credential, Credentials) {
		return
	}
	if kind != CredentialSecret && tc.Provider == ProviderGoogle {
		v.add(p+".credential", "%s credentials are Microsoft's (and generic providers'); Google OAuth clients take a client secret, and unattended Google access uses a service account", kind)
	}
	if kind != CredentialSecret && tc.Flow == FlowServiceAccount {
		v.add(p+".credential", "%s does not go with flow service_account: a service account signs in with its own key", kind)
	}
	only := func(field, value, want string) {
		if value != "" && kind != want {
			v.add(p+"."+field, "is set, but the credential is %s: it applies to credential: %s only", kind, want)
		}
	}
	only("certificate_path", tc.CertificatePath, CredentialCertificate)
	only("certificate_thumbprint", tc.CertificateThumbprint, CredentialCertificate)
	only("certificate_expires", tc.CertificateExpires, CredentialCertificate)
	only("assertion_alg", tc.AssertionAlg, CredentialCertificate)
	only("federated_token_file", tc.FederatedTokenFile, CredentialFederated)
	only("federated_token", tc.FederatedToken, CredentialFederated)
	only("federated_audience", tc.FederatedAudience, CredentialFederated)
	if tc.AssertionAlg != "" {
		v.oneOf(p+".assertion_alg", tc.AssertionAlg, AssertionAlgs)
	}
	if tc.CertificateExpires != "" {
		if _, err := time.Parse(DateLayout, tc.CertificateExpires); err != nil {
			v.add(p+".certificate_expires", "%q is not a date like 2027-05-01", tc.CertificateExpires)
		}
	}
	if tc.CertificateThumbprint != "" && !isHex(tc.CertificateThumbprint, 64) {
		v.add(p+".certificate_thumbprint", "%q is not a SHA-256 thumbprint (64 hex digits)", tc.CertificateThumbprint)
	}
	if tc.CertificatePath != "" && !filepath.IsAbs(tc.CertificatePath) {
		v.add(p+".certificate_path", "%q is not an absolute path: mailport may run from any directory", tc.CertificatePath)
	}
	if tc.FederatedTokenFile != "" && !filepath.IsAbs(tc.FederatedTokenFile) {
		v.add(p+".federated_token_file", "%q is not an absolute path: mailport may run from any directory", tc.FederatedTokenFile)
	}
	if tc.FederatedToken != "" && tc.FederatedToken != FederatedGitHub {
		v.add(p+".federated_token", "%q is not a token source mailport knows: use github (GitHub Actions' OIDC token) or federated_token_file", tc.FederatedToken)
	}
	if tc.FederatedToken != "" && tc.FederatedTokenFile != "" {
		v.add(p+".federated_token", "is set together with federated_token_file: keep one of them")
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}
