package cmd

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// leakCheck collects the secrets of a run and everything the run showed:
// stdout, stderr, the trace files and the config file.
type leakCheck struct {
	t       *testing.T
	e       *env
	secrets map[string]string // what → the secret
	shown   map[string]string // where → what was shown there
	n       int
}

func (l *leakCheck) secret(what, v string) {
	l.t.Helper()
	if len(v) < 12 {
		l.t.Fatalf("secret %s is too short (%q) to grep for", what, v)
	}
	l.secrets[what] = v
}

// jwt adds a JWT and, apart, its signature: a transcript may show a
// token's header and claims, never what makes it usable.
func (l *leakCheck) jwt(what, tok string) {
	l.t.Helper()
	l.secret(what, tok)
	l.secret(what+" (signature)", tok[strings.LastIndex(tok, ".")+1:])
}

// keyChunks adds pieces of a private key's DER encodings (PKCS #1 and
// PKCS #8, as base64 in a PEM body): a key shown in any form contains one.
func (l *leakCheck) keyChunks(what string, key any) {
	l.t.Helper()
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		l.t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(p8)
	l.secret(what+" (PKCS #8)", b64[len(b64)/2:len(b64)/2+40])
	l.secret(what+" (PKCS #8, raw)", string(p8[len(p8)/2:len(p8)/2+24]))
	l.secret(what+" (PEM)", "PRIVATE KEY-----")
}

// run runs mailport with -v and its own --trace file and keeps what it
// showed; code is the exit code wanted (-1: any).
func (l *leakCheck) run(code int, args ...string) result {
	l.t.Helper()
	l.n++
	trace := filepath.Join(l.e.dir, fmt.Sprintf("run%d.trace", l.n))
	r := l.e.run("", append([]string{"-v", "--trace", trace}, args...)...)
	if code >= 0 && r.code != code {
		l.t.Fatalf("mailport %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	tr, err := os.ReadFile(trace)
	if err != nil && !os.IsNotExist(err) {
		l.t.Fatal(err)
	}
	where := fmt.Sprintf("run %d (mailport %s)", l.n, strings.Join(args, " "))
	l.shown[where+": stdout"] = r.out
	l.shown[where+": stderr"] = r.err
	l.shown[where+": trace"] = string(tr)
	return r
}

func (l *leakCheck) check() {
	l.t.Helper()
	l.shown["config file"] = l.e.configText()
	for where, text := range l.shown {
		for what, s := range l.secrets {
			if strings.Contains(text, s) {
				l.t.Errorf("%s shows %s", where, what)
			}
		}
	}
}

// TestNoCredentialSecretInAnyOutput runs each CI credential kind end to
// end with -v and --trace (setup, authenticate, fetch, status, test, and
// the failures of a wrong password and a refused request) and greps every
// stdout, stderr, trace file and the config file for the secrets: the
// certificate's private key, the PKCS#12 password, every client assertion
// sent, the federated token, GitHub's request token and OIDC token, the
// service account's private_key and its JWT-bearer assertion.
func TestNoCredentialSecretInAnyOutput(t *testing.T) {
	w := newCredWorld(t)
	gh := oauthtest.NewGitHubOIDC(w.githubIssuer, repoSubject)
	defer gh.Close()
	w.graph.AddMessage(alice, "Inbox", []byte("From: a@example.com\r\nSubject: m0\r\n\r\nbody\r\n"))
	e := newEnv(t)
	l := &leakCheck{t: t, e: e, secrets: map[string]string{}, shown: map[string]string{}}

	const pfxPassword = "pfx-Pa55-leak-check-7f3a"
	pfx, err := pkcs12.Modern.Encode(w.cert.Key, w.cert.Cert, nil, pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	pfxFile := filepath.Join(e.dir, "app.pfx")
	if err := os.WriteFile(pfxFile, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	l.secret("the PKCS#12 password", pfxPassword)
	l.keyChunks("the certificate's private key", w.cert.Key)
	fed := w.issuer.Sign(podSubject, "api://AzureADTokenExchange", time.Now(), time.Hour)
	tokenFile := filepath.Join(e.dir, "sa-token")
	if err := os.WriteFile(tokenFile, []byte(fed), 0o600); err != nil {
		t.Fatal(err)
	}
	l.jwt("the federated token", fed)
	l.secret("GitHub's request token", gh.RequestToken)
	e.vars[oauth.EnvGitHubTokenURL], e.vars[oauth.EnvGitHubTokenRequestToken] = gh.URL, gh.RequestToken

	base := []string{"--provider", "microsoft", "--base-url", w.prov.MicrosoftBaseURL(tenant), "--client-id", clientID, "--for", "graph"}
	pfxArgs := append([]string{"token-config", "add", "cert", "--flow", "client_credentials", "--certificate", pfxFile, "--certificate-password-env", "PFX_PASS"}, base...)
	e.vars["PFX_PASS"] = "wrong-" + pfxPassword
	l.secret("the wrong PKCS#12 password", e.vars["PFX_PASS"])
	l.run(2, pfxArgs...)
	e.vars["PFX_PASS"] = pfxPassword
	l.run(0, pfxArgs...)
	l.run(0, append([]string{"token-config", "add", "k8s", "--federated-token-file", tokenFile}, base...)...)
	l.run(0, append([]string{"token-config", "add", "gh", "--federated-token", "github"}, base...)...)
	for _, kind := range []string{"cert", "k8s", "gh"} {
		box := kind + "-box"
		l.run(0, "account", "add", box, "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", kind,
			"--login", alice, "--property", "graph_url="+w.graph.URL)
		l.run(0, "fetch", box, "--to", filepath.Join(e.dir, "in-"+kind))
		l.jwt("the client assertion of "+kind+" (fetch)", w.prov.LastTokenRequest().Get("client_assertion"))
		l.run(0, "test", box, "--timeout", "5s")
		l.jwt("the client assertion of "+kind+" (test)", w.prov.LastTokenRequest().Get("client_assertion"))
		l.run(-1, "authenticate", box)
		l.run(0, "status", box)
		l.run(0, "token-config", "show", kind)
		l.run(0, "--json", "token-config", "show", kind)
		l.run(0, "--json", "account", "show", box)
	}
	// GitHub's OIDC token is the assertion gh sent.
	if a := w.prov.LastTokenRequest().Get("client_assertion"); !strings.Contains(a, ".") {
		t.Fatalf("no assertion recorded for gh: %q", a)
	}
	// A refused request: the error names GitHub, not the token.
	e.vars[oauth.EnvGitHubTokenRequestToken] = "wrong-request-token-9c1e"
	l.secret("a wrong GitHub request token", e.vars[oauth.EnvGitHubTokenRequestToken])
	l.run(-1, "fetch", "gh-box", "--to", filepath.Join(e.dir, "in-gh-refused"))

	// A Google service account.
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	key, sa := oauthtest.NewServiceAccountKey(saEmail, saID, prov.GoogleTokenURL())
	sa.Domains, sa.Delegated = []string{"acme.example"}, []string{"https://mail.google.com/"}
	prov.AddServiceAccount(sa)
	var kf struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &kf); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(kf.PrivateKey))
	saKey, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	l.keyChunks("the service account's private_key", saKey)
	l.secret("the service account's private_key (JSON-escaped)", strings.ReplaceAll(kf.PrivateKey, "\n", `\n`)[40:100])
	keyFile := filepath.Join(e.dir, "sa.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	l.run(0, "token-config", "add", "workspace", "--provider", "google", "--flow", "service_account", "--key-file", keyFile)
	l.run(0, "account", "add", "erin", "--preset", "gmail", "--type", "inbound", "--login", "erin@acme.example", "--token-config", "workspace")
	l.run(0, "authenticate", "erin")
	l.jwt("the service account's assertion", prov.LastTokenRequest().Get("assertion"))
	l.run(0, "status", "erin")
	l.run(-1, "test", "erin", "--timeout", "1s")
	l.run(0, "token-config", "show", "workspace")
	l.run(0, "--json", "token-config", "show", "workspace")
	sa.Delegated = nil
	prov.AddServiceAccount(sa)
	l.run(-1, "authenticate", "erin")
	l.run(-1, "test", "erin", "--timeout", "1s")
	l.run(0, "--json", "account", "show", "erin")

	l.check()
	t.Logf("%d secrets checked in %d outputs", len(l.secrets), len(l.shown))
}
