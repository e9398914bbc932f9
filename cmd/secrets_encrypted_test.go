package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// encrypt makes e.runFile's secrets file encrypted with passphrase, at a
// work factor that keeps the tests fast.
func (e *env) encrypt(passphrase string) {
	e.vars[secret.EnvPassphrase] = passphrase
	e.vars[secret.EnvWorkFactor] = fmt.Sprint(secret.MinWorkFactor)
}

func (e *env) secretsFile() string { return filepath.Join(e.dir, secret.FileName) }

// expireEncryptedToken makes the access token kept in the encrypted
// secrets file look expired, so the next command refreshes it.
func (e *env) expireEncryptedToken(account string) {
	e.t.Helper()
	st := secret.NewEncryptedFile(e.secretsFile(), secret.Passphrase{Value: e.vars[secret.EnvPassphrase], From: secret.EnvPassphrase}, nil)
	st.WorkFactor = secret.MinWorkFactor
	tok, err := oauth.LoadToken(st, account)
	if err != nil {
		e.t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if err := oauth.SaveToken(st, account, tok); err != nil {
		e.t.Fatal(err)
	}
}

// graphCI is a Graph account "support" whose provider accepts each
// refresh token once and revokes the whole sign-in when one comes back.
func graphCI(t *testing.T, e *env, run func(string, ...string) result) *oauthtest.Server {
	t.Helper()
	const alice = "support@contoso.com"
	prov := oauthtest.New(oauthtest.Options{User: alice, Tenant: "contoso.com", RevokeFamilyOnReuse: true})
	t.Cleanup(prov.Close)
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(tok string) (string, error) {
		if u, ok := prov.ActiveUser(tok); ok {
			return u, nil
		}
		return "", errors.New("the access token is unknown, expired or revoked")
	}})
	g.AddUser(alice)
	for i := 0; i < 3; i++ {
		g.AddMessage(alice, "Inbox", []byte(fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", i)))
	}
	for _, args := range [][]string{
		{"token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph"},
		{"account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
			"--login", alice, "--property", "graph_url=" + g.URL},
	} {
		if r := run("", args...); r.code != 0 {
			t.Fatalf("mailport %s: exit %d\n%s", strings.Join(args, " "), r.code, r.err)
		}
	}
	return prov
}

// TestCIRefreshTokenSurvivesRotationInEncryptedFile: a CI job keeps its
// encrypted secrets file on a persistent volume and the same
// MAILPORT_REFRESH_TOKEN_SUPPORT in every run. The provider rotates the
// refresh token on each use and revokes the sign-in when a used one comes
// back. Every run succeeds: the rotated token is kept in the file, and
// presented instead of the variable's spent one. A new value in the
// variable (a new sign-in) is taken at once.
func TestCIRefreshTokenSurvivesRotationInEncryptedFile(t *testing.T) {
	e := newEnv(t)
	e.encrypt("ci passphrase")
	prov := graphCI(t, e, e.runFile)

	ciSecret := prov.IssueRefreshToken(clientID, config.MicrosoftGraphScopes)
	e.vars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = ciSecret
	rotatedWarning := oauth.RotatedOverrideWarning("support")
	for run := 1; run <= 5; run++ {
		if run == 4 {
			// Someone signs in again and updates the CI secret.
			ciSecret = prov.IssueRefreshToken(clientID, config.MicrosoftGraphScopes)
			e.vars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = ciSecret
		}
		if run > 1 {
			// The access token of the last run has expired.
			prov.ExpireAccessTokens()
			e.expireEncryptedToken("support")
		}
		r := e.runFile("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
		if r.code != 0 {
			t.Fatalf("run %d: exit %d\nstdout: %s\nstderr: %s", run, r.code, r.out, r.err)
		}
		if n := prov.Count("token:refresh_token"); n != run {
			t.Errorf("run %d: %d refreshes at the provider so far, want %d", run, n, run)
		}
		if n := prov.Count("refresh_reuse"); n != 0 {
			t.Fatalf("run %d presented a redeemed refresh token (%d times): the provider revoked the sign-in", run, n)
		}
		if strings.Contains(r.err, rotatedWarning) || strings.Contains(r.err, "plain text") {
			t.Errorf("run %d warned:\n%s", run, r.err)
		}
		b, err := os.ReadFile(e.secretsFile())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "-----BEGIN AGE ENCRYPTED FILE-----\n") || strings.Contains(string(b), ciSecret) || strings.Contains(string(b), "refresh_token") {
			t.Fatalf("run %d: the secrets file is not encrypted:\n%s", run, b)
		}
	}
}

// Without a store that keeps it, the rotated token dies with the run: a
// second run with the same variable presents a redeemed token, the
// provider revokes the sign-in, and the run must ask for a new one. This
// is what the encrypted file fixes.
func TestCIRefreshTokenWithoutKeptRotationFailsSecondRun(t *testing.T) {
	e := newEnv(t)
	prov := graphCI(t, e, e.run)
	e.vars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = prov.IssueRefreshToken(clientID, config.MicrosoftGraphScopes)
	if r := e.run("", "fetch", "support", "--to", filepath.Join(e.dir, "in")); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s", r.code, r.err)
	}
	prov.ExpireAccessTokens()
	r := e.run("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
	if r.code != 3 || prov.Count("refresh_reuse") != 1 || !strings.Contains(r.err, "the refresh token in MAILPORT_REFRESH_TOKEN_SUPPORT was refused") {
		t.Fatalf("second run: exit %d, %d reuses\n%s", r.code, prov.Count("refresh_reuse"), r.err)
	}
}

// A kept token the provider refuses says so, and how to fix it.
func TestCIKeptRefreshTokenRefused(t *testing.T) {
	e := newEnv(t)
	e.encrypt("ci passphrase")
	prov := graphCI(t, e, e.runFile)
	e.vars["MAILPORT_REFRESH_TOKEN_SUPPORT"] = prov.IssueRefreshToken(clientID, config.MicrosoftGraphScopes)
	e.mustRunFile("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
	prov.RevokeUser("support@contoso.com")
	e.expireEncryptedToken("support")
	r := e.runFile("", "fetch", "support", "--to", filepath.Join(e.dir, "in"))
	want := "the refresh token rotated from the one in MAILPORT_REFRESH_TOKEN_SUPPORT and kept in the secrets file was refused: "
	if r.code != 3 || !strings.Contains(r.err, want) || !strings.Contains(r.err, "; set MAILPORT_REFRESH_TOKEN_SUPPORT to a new refresh token") {
		t.Fatalf("exit %d, stderr:\n%s\nwant it to contain %q", r.code, r.err, want)
	}
}

func TestEncryptedSecretsFileCommands(t *testing.T) {
	e := newEnv(t)
	// Secrets kept in plain text first, as before this feature.
	e.mustRunFile("old-password-value", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "smtp.example.com",
		"--login", "out@example.com", "--password-stdin")
	r := e.mustRunFile("", "config", "validate")
	if want := "secret store: file (plain) at " + e.secretsFile() + "\n"; !strings.HasSuffix(r.out, want) {
		t.Errorf("config validate, plain:\n%s\nwant the line %q", r.out, want)
	}

	// The job now sets a passphrase: reading works at once, the first
	// write encrypts the file, keeping what was there.
	e.encrypt("s3cret")
	r = e.mustRunFile("", "status")
	if want := "secret store: file (plain; encrypted with age scrypt at the next write) at " + e.secretsFile() + "\n"; !strings.Contains(r.err, want) {
		t.Errorf("status before migration, stderr:\n%s\nwant %q", r.err, want)
	}
	if !strings.Contains(r.err, "warning: secrets are still in plain text at "+e.secretsFile()+"; mailport encrypts the file with MAILPORT_SECRETS_PASSPHRASE at its next write\n") {
		t.Errorf("no warning that the file is still plain:\n%s", r.err)
	}
	e.mustRunFile("new-password-value", "account", "add", "outbox2", "--type", "outbound", "--protocol", "smtp", "--host", "smtp.example.com",
		"--login", "out2@example.com", "--password-stdin")
	b, err := os.ReadFile(e.secretsFile())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "password-value") || !strings.HasPrefix(string(b), "-----BEGIN AGE ENCRYPTED FILE-----\n") {
		t.Fatalf("after the first write with a passphrase the file is not encrypted:\n%s", b)
	}
	for _, acct := range []string{"outbox", "outbox2"} {
		r := e.mustRunFile("", "account", "show", acct, "--json")
		if !strings.Contains(r.out, `"password": "file"`) {
			t.Errorf("account show %s: the password is not in the file any more:\n%s", acct, r.out)
		}
	}
	r = e.mustRunFile("", "status")
	if want := "secret store: file (encrypted, age scrypt) at " + e.secretsFile() + "\n"; !strings.Contains(r.err, want) || strings.Contains(r.err, "plain text") {
		t.Errorf("status, encrypted, stderr:\n%s\nwant %q", r.err, want)
	}
	r = e.mustRunFile("", "config", "validate", "--json")
	if !strings.Contains(r.out, `"secret_store": "file (encrypted, age scrypt)"`) || !strings.Contains(r.out, `"secrets_file": "`+e.secretsFile()+`"`) {
		t.Errorf("config validate --json:\n%s", r.out)
	}

	// The passphrase from a mounted file, with its trailing newline.
	delete(e.vars, secret.EnvPassphrase)
	pfile := filepath.Join(e.dir, "passphrase")
	if err := os.WriteFile(pfile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars[secret.EnvPassphraseFile] = pfile
	e.mustRunFile("", "account", "show", "outbox", "--json")

	// A wrong passphrase: one sentence, exit 2, and nothing written.
	before, _ := os.ReadFile(e.secretsFile())
	delete(e.vars, secret.EnvPassphraseFile)
	e.vars[secret.EnvPassphrase] = "wrong"
	wrong := "error: secrets file " + e.secretsFile() + ": the passphrase in MAILPORT_SECRETS_PASSPHRASE does not open it\n"
	for _, args := range [][]string{
		{"status"},
		{"account", "show", "outbox"},
		{"account", "add", "outbox3", "--type", "outbound", "--protocol", "smtp", "--host", "h", "--login", "l", "--password-stdin"},
		{"send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b"},
	} {
		r := e.runFile("pw", args...)
		if r.code != 2 || r.err != wrong {
			t.Errorf("mailport %s with a wrong passphrase: exit %d, stderr %q\nwant exit 2 and %q", strings.Join(args, " "), r.code, r.err, wrong)
		}
	}
	// No passphrase at all.
	delete(e.vars, secret.EnvPassphrase)
	r = e.runFile("", "status")
	if want := "error: secrets file " + e.secretsFile() + " is encrypted: set MAILPORT_SECRETS_PASSPHRASE (or MAILPORT_SECRETS_PASSPHRASE_FILE, a file holding it) to the passphrase that opens it\n"; r.code != 2 || r.err != want {
		t.Errorf("status without a passphrase: exit %d, stderr %q\nwant %q", r.code, r.err, want)
	}
	if after, _ := os.ReadFile(e.secretsFile()); string(after) != string(before) {
		t.Error("a run that could not open the secrets file changed it")
	}
	// A damaged file.
	e.encrypt("s3cret")
	if err := os.WriteFile(e.secretsFile(), before[:len(before)-60], 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.runFile("", "account", "show", "outbox")
	if r.code != 2 || !strings.HasPrefix(r.err, "error: secrets file "+e.secretsFile()+" is damaged or was changed since mailport encrypted it (age: ") || strings.Count(r.err, "\n") != 1 {
		t.Errorf("a damaged file: exit %d, stderr %q", r.code, r.err)
	}
}

// MAILPORT_SECRETS_FILE puts the secrets file elsewhere, e.g. on a CI cache
// while the config comes from the repository.
func TestSecretsFileEnvPath(t *testing.T) {
	e := newEnv(t)
	e.encrypt("pw")
	elsewhere := filepath.Join(t.TempDir(), "cache", "secrets.age")
	e.vars[secret.EnvSecretsFile] = elsewhere
	e.mustRunFile("pw-value", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "h", "--login", "l", "--password-stdin")
	if _, err := os.Stat(e.secretsFile()); err == nil {
		t.Error("a secrets file was written beside the config")
	}
	if b, err := os.ReadFile(elsewhere); err != nil || !strings.HasPrefix(string(b), "-----BEGIN AGE ENCRYPTED FILE-----") {
		t.Errorf("no encrypted file at MAILPORT_SECRETS_FILE: %v", err)
	}
	r := e.mustRunFile("", "status")
	if !strings.Contains(r.err, "secret store: file (encrypted, age scrypt) at "+elsewhere+"\n") {
		t.Errorf("status:\n%s", r.err)
	}
}
