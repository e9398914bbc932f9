package cmd

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// noonIn is noon UTC of the day days from today: a notAfter that is that
// many calendar days away whatever the time of day the test runs.
func noonIn(days int) time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(12 * time.Hour)
}

func clientCert(t *testing.T, notAfter time.Time) *testcert.Client {
	t.Helper()
	cc, err := testcert.NewClient("mailport-ci", notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// TestTokenConfigStoresAPKCS12Certificate: --certificate with a .pfx and
// its password in a named variable keeps the certificate and key (as PEM)
// in the secret store and only the thumbprint and expiry in the config;
// the file may go.
func TestTokenConfigStoresAPKCS12Certificate(t *testing.T) {
	e := newEnv(t)
	cc := clientCert(t, time.Date(2028, 3, 1, 12, 0, 0, 0, time.UTC))
	pfx, err := pkcs12.Modern.Encode(cc.Key, cc.Cert, nil, "pfx-Pa55")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "app.pfx")
	if err := os.WriteFile(file, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"token-config", "add", "ms", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--flow", "client_credentials", "--for", "imap", "--certificate", file, "--certificate-password-env", "PFX_PASS"}

	r := e.run("", args...)
	if want := "--certificate-password-env PFX_PASS: the environment variable PFX_PASS is empty or not set"; r.code != 2 || !strings.Contains(r.err, want) {
		t.Fatalf("no password: exit %d, stderr %q; want 2 and %q", r.code, r.err, want)
	}
	e.vars["PFX_PASS"] = "wrong"
	r = e.run("", args...)
	if want := "app.pfx is a PKCS#12 file whose password is not the one given: check the variable named by --certificate-password-env"; r.code != 2 || !strings.Contains(r.err, want) {
		t.Fatalf("wrong password: exit %d, stderr %q; want 2 and %q", r.code, r.err, want)
	}
	e.vars["PFX_PASS"] = "pfx-Pa55"
	r = e.mustRun("", args...)
	cert, err := oauth.ParseCertificate(pfx, "pfx-Pa55")
	if err != nil {
		t.Fatal(err)
	}
	thumb := cert.Thumbprint()
	if want := "Certificate " + thumb + " (expires 2028-03-01) and its key stored in the memory; the file may be deleted.\n"; !strings.HasSuffix(r.out, want) {
		t.Errorf("stdout %q, want it to end with %q", r.out, want)
	}
	stored, err := e.store.Get(secret.ClientSecretKey("ms"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := oauth.ParseCertificate([]byte(stored), ""); err != nil || again.Thumbprint() != thumb {
		t.Fatalf("stored %q: %v", stored, err)
	}
	text := e.configText()
	for _, want := range []string{"credential: certificate", "certificate_thumbprint: " + thumb, "certificate_expires: \"2028-03-01\""} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "pfx-Pa55") {
		t.Fatalf("config holds the key or the password:\n%s", text)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	out := e.mustRun("", "token-config", "show", "ms").out
	for _, want := range []string{"credential:     certificate\n", "thumbprint:     " + thumb + "\n", "cert expires:   2028-03-01\n", "assertion alg:  RS256\n", "stored in:      memory\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// A new client secret switches back, and forgets the certificate.
	e.mustRun("s3cret-value", "token-config", "edit", "ms", "--client-secret-stdin")
	if text := e.configText(); strings.Contains(text, "certificate") {
		t.Errorf("config after --client-secret-stdin still names a certificate:\n%s", text)
	}
	if v, _ := e.store.Get(secret.ClientSecretKey("ms")); v != "s3cret-value" {
		t.Errorf("store holds %q, want the new secret", v)
	}
}

// credWorld is a fake Entra whose app has a certificate and a federated
// credential and no secret, and a fake Graph that lets its app-only tokens
// into alice's mailbox.
type credWorld struct {
	prov   *oauthtest.Server
	graph  *graphtest.Server
	cert   *testcert.Client
	issuer *oauthtest.Issuer
	// githubIssuer signs GitHub Actions' OIDC tokens.
	githubIssuer *oauthtest.Issuer
}

const (
	alice        = "alice@contoso.com"
	podSubject   = "system:serviceaccount:mail:fetcher"
	repoSubject  = "repo:contoso/mail-jobs:ref:refs/heads/main"
	githubIssuer = "https://token.actions.githubusercontent.com"
	tenant       = "mailport-ci.onmicrosoft.com"
)

func newCredWorld(t *testing.T) *credWorld {
	w := &credWorld{cert: clientCert(t, time.Now().AddDate(1, 0, 0)), issuer: oauthtest.NewIssuer("https://oidc.example.test/cluster")}
	w.prov = oauthtest.New(oauthtest.Options{User: alice, Tenant: tenant})
	t.Cleanup(w.prov.Close)
	gh := oauthtest.NewIssuer(githubIssuer)
	w.prov.AddClient(oauthtest.Client{ID: clientID, Certificate: w.cert.Cert, AppMailbox: alice, Federated: []oauthtest.FederatedIdentity{
		w.issuer.Identity(podSubject, "api://AzureADTokenExchange"), gh.Identity(repoSubject, "api://AzureADTokenExchange"),
	}})
	w.graph = graphtest.New(t, graphtest.Options{Authorize: func(tok string) (string, error) {
		if u, ok := w.prov.ActiveUser(tok); ok {
			return u, nil
		}
		return "", errors.New("the access token is unknown, expired or revoked")
	}})
	w.graph.AddUser(alice)
	w.githubIssuer = gh
	return w
}

// TestFetchOverGraphWithCertificateAndFederatedCredentials: `mailport
// fetch` of a Graph mailbox with app-only tokens got with a certificate
// (stored, its file deleted), a rotating federated token file and GitHub
// Actions' OIDC token: no client secret and no refresh token anywhere,
// the mail on disk, and each token request carried a client assertion.
func TestFetchOverGraphWithCertificateAndFederatedCredentials(t *testing.T) {
	w := newCredWorld(t)
	gh := oauthtest.NewGitHubOIDC(w.githubIssuer, repoSubject)
	defer gh.Close()
	msgs := [][]byte{[]byte("From: a@example.com\r\nSubject: m0\r\n\r\nfirst body\r\n"), []byte("From: b@example.com\r\nSubject: m1\r\n\r\nsecond body\r\n")}
	for _, m := range msgs {
		w.graph.AddMessage(alice, "Inbox", m)
	}
	e := newEnv(t)
	certFile := filepath.Join(e.dir, "app.pem")
	if err := os.WriteFile(certFile, w.cert.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(e.dir, "sa-token")
	if err := os.WriteFile(tokenFile, []byte(w.issuer.Sign(podSubject, "api://AzureADTokenExchange", time.Now(), time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars[oauth.EnvGitHubTokenURL], e.vars[oauth.EnvGitHubTokenRequestToken] = gh.URL, gh.RequestToken
	base := []string{"--provider", "microsoft", "--base-url", w.prov.MicrosoftBaseURL(tenant), "--client-id", clientID, "--for", "graph"}
	e.mustRun("", append([]string{"token-config", "add", "cert", "--flow", "client_credentials", "--certificate", certFile}, base...)...)
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	e.mustRun("", append([]string{"token-config", "add", "k8s", "--federated-token-file", tokenFile}, base...)...)
	e.mustRun("", append([]string{"token-config", "add", "gh", "--federated-token", "github"}, base...)...)
	for _, kind := range []string{"cert", "k8s", "gh"} {
		e.mustRun("", "account", "add", kind+"-box", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", kind,
			"--login", alice, "--property", "graph_url="+w.graph.URL)
	}
	// Nothing is stored for a federated token config: show says so
	// rather than "not set".
	for kind, want := range map[string]string{"cert": "memory", "k8s": "federated", "gh": "federated"} {
		r := e.mustRun("", "--json", "account", "show", kind+"-box")
		var d struct{ Secrets map[string]string }
		if err := json.Unmarshal([]byte(r.out), &d); err != nil || d.Secrets["client_secret"] != want {
			t.Errorf("account show %s-box: secrets %v (%v), want client_secret %q", kind, d.Secrets, err, want)
		}
	}
	if text := e.configText(); !strings.Contains(text, "flow: client_credentials") || !strings.Contains(text, "https://graph.microsoft.com/.default") {
		t.Fatalf("federated token configs are not app-only:\n%s", text)
	}

	for _, kind := range []string{"cert", "k8s", "gh"} {
		dir := filepath.Join(e.dir, "in-"+kind)
		trace := filepath.Join(e.dir, kind+".trace")
		r := e.run("", "fetch", kind+"-box", "--to", dir, "--trace", trace, "-v")
		if r.code != 0 {
			t.Fatalf("fetch %s-box: exit %d\nstdout: %s\nstderr: %s", kind, r.code, r.out, r.err)
		}
		form := w.prov.LastTokenRequest()
		t.Logf("the request the token endpoint received for a %s credential (secrets redacted):\n%s", kind, oauthtest.RedactForm(form))
		if form.Get("grant_type") != "client_credentials" || form.Get("client_assertion_type") != oauth.ClientAssertionType || form.Get("client_assertion") == "" || form.Has("client_secret") {
			t.Fatalf("%s: the token request was %s, want client credentials with a client assertion and no secret", kind, oauthtest.RedactForm(form))
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
		if err != nil || len(files) != len(msgs) {
			t.Fatalf("%s: %d .eml files in %s (%v), want %d", kind, len(files), dir, err, len(msgs))
		}
		var got []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(b))
		}
		sort.Strings(got)
		for i, m := range msgs {
			if got[i] != string(m) {
				t.Errorf("%s: message %d on disk is %q, want %q", kind, i, got[i], m)
			}
		}
		tr, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		for _, leak := range []string{form.Get("client_assertion"), "PRIVATE KEY", gh.RequestToken} {
			if strings.Contains(string(tr), leak) || strings.Contains(r.err, leak) || strings.Contains(r.out, leak) {
				t.Fatalf("%s: the trace or the output holds a secret (%.20s...)", kind, leak)
			}
		}
		if _, err := e.store.Get(secret.TokenKey(kind + "-box")); !secret.IsNotFound(err) {
			t.Errorf("%s: a token was stored (%v): app-only tokens are fetched on demand", kind, err)
		}
	}
	for _, kind := range []string{"k8s", "gh"} {
		if _, err := e.store.Get(secret.ClientSecretKey(kind)); !secret.IsNotFound(err) {
			t.Errorf("%s: something is stored as its secret (%v), want nothing", kind, err)
		}
	}
	if got := gh.Audiences(); len(got) == 0 || got[0] != "api://AzureADTokenExchange" {
		t.Errorf("GitHub was asked for %q, want api://AzureADTokenExchange", got)
	}
	st := e.mustRun("", "status", "k8s-box", "cert-box", "gh-box").out
	for _, kind := range []string{"cert", "k8s", "gh"} {
		if !strings.Contains(st, kind+"-box") || strings.Count(st, "AUTHENTICATED") < 3 || strings.Contains(st, "NOT AUTHENTICATED") {
			t.Fatalf("status:\n%s\nwant the three accounts AUTHENTICATED", st)
		}
	}
}

// TestStatusAndTestWarnBeforeTheCertificateExpires: a certificate that
// expires in 10 days (a mounted file, read at run time) makes status and
// test warn, as for a client secret.
func TestStatusAndTestWarnBeforeTheCertificateExpires(t *testing.T) {
	w := newCredWorld(t)
	soon := clientCert(t, noonIn(10))
	w.prov.AddClient(oauthtest.Client{ID: clientID, Certificate: soon.Cert, AppMailbox: alice})
	w.graph.AddMessage(alice, "Inbox", []byte("Subject: x\r\n\r\nx\r\n"))
	e := newEnv(t)
	mounted := filepath.Join(e.dir, "tls.pem")
	if err := os.WriteFile(mounted, soon.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustRun("", "token-config", "add", "cert", "--provider", "microsoft", "--base-url", w.prov.MicrosoftBaseURL(tenant), "--client-id", clientID,
		"--flow", "client_credentials", "--for", "graph", "--certificate-path", mounted)
	e.mustRun("", "account", "add", "box", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "cert",
		"--login", alice, "--property", "graph_url="+w.graph.URL)
	date := soon.Cert.NotAfter.UTC().Format("2006-01-02")
	want := "the certificate of token config cert expires on " + date + ", in 10 days: upload a new certificate to the app registration (Certificates & secrets) and put it with its key at " + mounted
	r := e.mustRun("", "status")
	if !strings.Contains(r.out+r.err, want) {
		t.Errorf("status says:\n%s%s\nwant %q", r.out, r.err, want)
	}
	r = e.run("", "test", "box", "--timeout", "5s")
	cause := "The certificate of token config cert expires on " + date + ", in 10 days; once it has expired, Microsoft refuses every token request"
	if r.code != 0 || !strings.Contains(r.out, "  warn  configuration") || !strings.Contains(r.out, cause) {
		t.Errorf("test: exit %d\n%s\nwant exit 0, the configuration check warn and %q", r.code, r.out, cause)
	}
	if !strings.Contains(r.out, "see:   mailport explain aadsts700027") {
		t.Errorf("test's warning does not name what Microsoft answers once the certificate expired (AADSTS700027):\n%s", r.out)
	}
}

// TestTokenConfigRefusesAnExpiredCertificate: an expired certificate is
// refused at token-config add and edit, with nothing saved (Microsoft
// refuses every assertion it signs); one that expires within 30 days is
// saved with a warning.
func TestTokenConfigRefusesAnExpiredCertificate(t *testing.T) {
	e := newEnv(t)
	old := clientCert(t, time.Now().Add(-48*time.Hour))
	soon := clientCert(t, noonIn(5))
	oldFile, soonFile := filepath.Join(e.dir, "old.pem"), filepath.Join(e.dir, "soon.pem")
	for f, b := range map[string][]byte{oldFile: old.PEM, soonFile: soon.PEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"token-config", "add", "ms", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--flow", "client_credentials", "--for", "imap"}
	date := old.Cert.NotAfter.UTC().Format("2006-01-02")
	for _, flag := range []string{"--certificate", "--certificate-path"} {
		r := e.run("", append(base, flag, oldFile)...)
		want := flag + ": the certificate in " + oldFile + " expired on " + date + ", and Microsoft refuses assertions signed with an expired certificate (AADSTS700027): make a new one and upload it to the app registration (Certificates & secrets)"
		if r.code != 2 || !strings.Contains(r.err, want) {
			t.Fatalf("add %s with an expired certificate: exit %d, stderr %q; want 2 and %q", flag, r.code, r.err, want)
		}
		if _, err := os.Stat(e.config); err == nil && strings.Contains(e.configText(), "ms:") {
			t.Fatalf("add %s saved the token config:\n%s", flag, e.configText())
		}
		if _, err := e.store.Get(secret.ClientSecretKey("ms")); !secret.IsNotFound(err) {
			t.Fatalf("add %s stored something (%v)", flag, err)
		}
	}
	r := e.mustRun("", append(base, "--certificate", soonFile)...)
	warn := "warning: the certificate of token config ms expires on " + soon.Cert.NotAfter.UTC().Format("2006-01-02") + ", in 5 days"
	if !strings.Contains(r.err, warn) {
		t.Errorf("add with a certificate expiring in 5 days: stderr %q, want %q", r.err, warn)
	}
	stored, err := e.store.Get(secret.ClientSecretKey("ms"))
	if err != nil {
		t.Fatal(err)
	}
	r = e.run("", "token-config", "edit", "ms", "--certificate", oldFile)
	if r.code != 2 || !strings.Contains(r.err, "expired on "+date) {
		t.Fatalf("edit with an expired certificate: exit %d, stderr %q; want 2 and the refusal", r.code, r.err)
	}
	if again, _ := e.store.Get(secret.ClientSecretKey("ms")); again != stored {
		t.Fatal("edit with an expired certificate replaced the stored one")
	}
}

// TestCertificatePathRefusesAPasswordProtectedPFX: --certificate-path
// reads its file at every run, with no password, so a protected .pfx is
// refused at add with what to do instead (the flag the generic message
// names does not go with --certificate-path).
func TestCertificatePathRefusesAPasswordProtectedPFX(t *testing.T) {
	e := newEnv(t)
	cc := clientCert(t, time.Now().AddDate(1, 0, 0))
	pfx, err := pkcs12.Modern.Encode(cc.Key, cc.Cert, nil, "pfx-pw")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "mounted.pfx")
	if err := os.WriteFile(file, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "token-config", "add", "ms", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--flow", "client_credentials", "--for", "imap", "--certificate-path", file)
	want := "error: --certificate-path: " + file + " is a password-protected PKCS#12 file, which mailport does not open at every run: mount it as PEM (openssl pkcs12 -in FILE -nodes -out FILE.pem), or store it once with --certificate FILE --certificate-password-env VAR\n"
	if r.code != 2 || !strings.HasPrefix(r.err, want) {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.err, want)
	}
}

// TestFederatedEditKeepsWhatIsNotGiven: `token-config edit --federated-
// audience` changes the audience of a GitHub Actions token config and
// keeps it a GitHub one (it used to switch it to AZURE_FEDERATED_TOKEN_FILE);
// an audience for a token file, which mailport cannot choose, is refused.
func TestFederatedEditKeepsWhatIsNotGiven(t *testing.T) {
	e := newEnv(t)
	base := []string{"--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID, "--for", "graph"}
	e.mustRun("", append([]string{"token-config", "add", "gh", "--federated-token", "github"}, base...)...)
	r := e.mustRun("", "token-config", "edit", "gh", "--federated-audience", "api://mail-jobs")
	if want := "No secret stored: each token request sends GitHub Actions' OIDC token for api://mail-jobs.\n"; !strings.Contains(r.out, want) {
		t.Errorf("edit --federated-audience printed %q, want %q", r.out, want)
	}
	text := e.configText()
	for _, want := range []string{"federated_token: github", "federated_audience: api://mail-jobs"} {
		if !strings.Contains(text, want) {
			t.Errorf("after edit --federated-audience the config lacks %q:\n%s", want, text)
		}
	}
	// Back to the default audience: the field goes.
	e.mustRun("", "token-config", "edit", "gh", "--federated-audience", "api://AzureADTokenExchange")
	if text := e.configText(); !strings.Contains(text, "federated_token: github") || strings.Contains(text, "federated_audience") {
		t.Errorf("after edit back to the default audience:\n%s", text)
	}

	tokenFile := filepath.Join(e.dir, "token")
	e.mustRun("", append([]string{"token-config", "add", "k8s", "--federated-token-file", tokenFile}, base...)...)
	want := "--federated-audience goes with --federated-token github: a token file's audience is set where the token is made (the projected volume's audience, the CI job's id_tokens aud)"
	for _, args := range [][]string{
		{"token-config", "edit", "k8s", "--federated-audience", "api://other"},
		append([]string{"token-config", "add", "k8s2", "--federated-token-file", tokenFile, "--federated-audience", "api://other"}, base...),
		append([]string{"token-config", "add", "azure", "--federated-audience", "api://other"}, base...),
	} {
		r := e.run("", args...)
		if r.code != 2 || !strings.Contains(r.err, want) {
			t.Errorf("mailport %s: exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), r.code, r.err, want)
		}
	}
	if text := e.configText(); !strings.Contains(text, "federated_token_file: "+tokenFile) || strings.Contains(text, "api://other") || strings.Contains(text, "k8s2:") {
		t.Errorf("a refused audience changed the config:\n%s", text)
	}
	// Switching the GitHub config to a file drops its audience.
	e.mustRun("", "token-config", "edit", "gh", "--federated-audience", "api://mail-jobs")
	e.mustRun("", "token-config", "edit", "gh", "--federated-token-file", tokenFile)
	if text := e.configText(); strings.Contains(text, "api://mail-jobs") || strings.Contains(text, "federated_token: github") {
		t.Errorf("after switching gh to a token file:\n%s", text)
	}
}

// TestTokenConfigRefusesAKeyOfAnotherCertificate: a PEM whose key belongs
// to none of its certificates is refused at add in one sentence, and
// nothing is saved.
func TestTokenConfigRefusesAKeyOfAnotherCertificate(t *testing.T) {
	e := newEnv(t)
	a, b := clientCert(t, time.Now().AddDate(1, 0, 0)), clientCert(t, time.Now().AddDate(1, 0, 0))
	file := filepath.Join(e.dir, "mixed.pem")
	if err := os.WriteFile(file, append(append([]byte(nil), a.CertPEM...), b.PEM[len(b.CertPEM):]...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "token-config", "add", "ms", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--flow", "client_credentials", "--for", "imap", "--certificate", file)
	want := "error: --certificate: the certificate file " + file + " holds a private key that belongs to none of its certificates: put the certificate and its own key together\n"
	if r.code != 2 || !strings.HasPrefix(r.err, want) || strings.Count(r.err, "\n") > 2 {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.err, want)
	}
	if _, err := e.store.Get(secret.ClientSecretKey("ms")); !secret.IsNotFound(err) || strings.Contains(e.configText(), "ms:") {
		t.Fatalf("something was saved (%v):\n%s", err, e.configText())
	}
}
