package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withTC adds lines to the ms365 (or, with gmail: first, the gmail) token
// config of goodHead.
func withTC(lines ...string) string {
	anchor := "    inbound: true\n"
	if len(lines) > 0 && lines[0] == "gmail:" {
		anchor, lines = "    token_url: https://oauth2.googleapis.com/token\n", lines[1:]
	}
	add := ""
	for _, l := range lines {
		add += "    " + l + "\n"
	}
	return strings.Replace(goodHead, anchor, anchor+add, 1)
}

func TestCredentialFieldsAreValidated(t *testing.T) {
	const thumb = "47504f46ba172ede5d4e5413cef9e62f0a1a1802228b69a6c608b2f4e5348b59"
	tests := []struct{ name, yaml, want string }{
		{"unknown kind", withTC("credential: password"), `config.yaml:9: token_configs.ms365.credential: "password" is not one of secret, certificate, federated`},
		{"field of another kind", withTC("certificate_path: /etc/mail/app.pem"), `config.yaml:9: token_configs.ms365.certificate_path: is set, but the credential is secret: it applies to credential: certificate only`},
		{"federated field on a certificate", withTC("credential: certificate", "federated_token: github"), `config.yaml:10: token_configs.ms365.federated_token: is set, but the credential is certificate: it applies to credential: federated only`},
		{"alg", withTC("credential: certificate", "assertion_alg: ES256"), `config.yaml:10: token_configs.ms365.assertion_alg: "ES256" is not one of RS256, PS256`},
		{"expiry date", withTC("credential: certificate", "certificate_expires: 2027-5-1"), `config.yaml:10: token_configs.ms365.certificate_expires: "2027-5-1" is not a date like 2027-05-01`},
		{"thumbprint", withTC("credential: certificate", "certificate_thumbprint: AB:CD"), `config.yaml:10: token_configs.ms365.certificate_thumbprint: "AB:CD" is not a SHA-256 thumbprint (64 hex digits)`},
		{"relative certificate", withTC("credential: certificate", "certificate_path: app.pem"), `config.yaml:10: token_configs.ms365.certificate_path: "app.pem" is not an absolute path: mailport may run from any directory`},
		{"relative token file", withTC("credential: federated", "federated_token_file: token"), `config.yaml:10: token_configs.ms365.federated_token_file: "token" is not an absolute path: mailport may run from any directory`},
		{"unknown token source", withTC("credential: federated", "federated_token: gitlab"), `config.yaml:10: token_configs.ms365.federated_token: "gitlab" is not a token source mailport knows: use github (GitHub Actions' OIDC token) or federated_token_file`},
		{"file and github", withTC("credential: federated", "federated_token: github", "federated_token_file: /t"), `config.yaml:10: token_configs.ms365.federated_token: is set together with federated_token_file: keep one of them`},
		{"service account with a federated token", withTC("gmail:", "flow: service_account", "credential: federated"), `config.yaml:16: token_configs.gmail.credential: federated does not go with flow service_account: a service account signs in with its own key`},
		{"google certificate", withTC("gmail:", "credential: certificate"), `config.yaml:15: token_configs.gmail.credential: certificate credentials are Microsoft's (and generic providers'); Google OAuth clients take a client secret, and unattended Google access uses a service account`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load: %v, want %q", err, tt.want)
			}
			for _, e := range errs {
				if e.Error() == tt.want {
					return
				}
			}
			t.Fatalf("errors:\n%v\nwant one exactly:\n%s\nconfig:\n%s", err, tt.want, tt.yaml)
		})
	}
	// Good ones load; a file without credential is a secret one.
	for _, y := range []string{
		goodHead,
		withTC("credential: certificate", "certificate_thumbprint: "+thumb, "certificate_expires: \"2027-05-01\"", "assertion_alg: PS256"),
		withTC("credential: certificate", "certificate_path: /var/run/secrets/mail/tls.pem"),
		withTC("credential: federated"),
		withTC("credential: federated", "federated_token: github", "federated_audience: api://mail"),
	} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("%v\n%s", err, y)
		}
		tc := cfg.TokenConfigs["ms365"]
		if y == goodHead && (tc.CredentialKind() != CredentialSecret || tc.Alg() != AlgRS256 || tc.Audience() != DefaultFederatedAudience) {
			t.Errorf("defaults: %q %q %q", tc.CredentialKind(), tc.Alg(), tc.Audience())
		}
	}
}
