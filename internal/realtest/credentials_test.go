package realtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
)

// appClientID is an app registration with a certificate and a federated
// credential and no client secret; its service principal was given the
// robot mailbox (Exchange's Add-MailboxPermission).
const appClientID = "7e1d2c3b-0000-4000-8000-0000000ce27f"

// TestFetchFromDovecotWithCertificateAndFederatedToken: `mailport fetch`
// reads the real Dovecot with app-only tokens got (a) with a certificate
// kept in the secret store, its file deleted, over IMAP, and (b) with a
// federated token file, rotated between runs, over POP3. No client secret
// and no refresh token exist anywhere; Dovecot checks each token at the
// fake Entra's introspection endpoint.
func TestFetchFromDovecotWithCertificateAndFederatedToken(t *testing.T) {
	b := bed.Get(t)
	cc, err := testcert.NewClient("mailport-realtest", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const subject = "system:serviceaccount:mail:fetcher"
	iss := oauthtest.NewIssuer("https://oidc.example.test/cluster")
	prov.AddClient(oauthtest.Client{ID: appClientID, Certificate: cc.Cert, AppMailbox: robot,
		Federated: []oauthtest.FederatedIdentity{iss.Identity(subject, "api://AzureADTokenExchange")}})

	var sent [][]byte
	for i := 0; i < 2; i++ {
		raw := roundTripMessage(fmt.Sprintf("app-only %d", i), "<app-"+randomID()+"@example.test>", robot)
		if _, err := b.Deliver(robot, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, raw)
	}

	c := newCLI(t)
	certFile := filepath.Join(c.dir, "app.pem")
	if err := os.WriteFile(certFile, cc.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(c.dir, "sa-token")
	writeToken := func() {
		if err := os.WriteFile(tokenFile, []byte(iss.Sign(subject, "api://AzureADTokenExchange", time.Now(), time.Hour)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeToken()
	c.mustRun("", "token-config", "add", "cert", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL(""), "--client-id", appClientID,
		"--flow", "client_credentials", "--for", "imap", "--certificate", certFile)
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	c.mustRun("", "token-config", "add", "k8s", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL(""), "--client-id", appClientID,
		"--for", "pop3", "--federated-token-file", tokenFile)
	c.mustRun("", "account", "add", "robot-imap", "--type", "inbound", "--protocol", "imap", "--host", b.Host, "--port", strconv.Itoa(b.IMAPSPort),
		"--encryption", "ssl", "--auth", "oauth2", "--token-config", "cert", "--login", robot, "--property", "tls_ca_file="+b.CAFile)
	c.mustRun("", "account", "add", "robot-pop3", "--type", "inbound", "--protocol", "pop3", "--host", b.Host, "--port", strconv.Itoa(b.POP3Port),
		"--encryption", "starttls", "--auth", "oauth2", "--token-config", "k8s", "--login", robot, "--property", "tls_ca_file="+b.CAFile)

	check := func(kind, account string, runs int) {
		t.Helper()
		dir := filepath.Join(c.dir, "in-"+account)
		for run := 1; run <= runs; run++ {
			if kind == "federated" {
				writeToken() // the kubelet rotated the projected token
			}
			want := strings.TrimSpace(mustRead(t, tokenFile))
			r := c.run("", "fetch", account, "--to", dir)
			if r.code != 0 {
				t.Fatalf("fetch %s (run %d): exit %d\nstdout: %s\nstderr: %s", account, run, r.code, r.out, r.err)
			}
			form := prov.LastTokenRequest()
			t.Logf("run %d: the request the token endpoint received for a %s credential (secrets redacted):\n%s", run, kind, oauthtest.RedactForm(form))
			if form.Get("client_id") != appClientID || form.Get("grant_type") != "client_credentials" || form.Get("client_assertion_type") != oauth.ClientAssertionType || form.Has("client_secret") {
				t.Fatalf("%s: the token request was\n%s\nwant client credentials with a client assertion and no secret", account, oauthtest.RedactForm(form))
			}
			if kind == "federated" && form.Get("client_assertion") != want {
				t.Fatalf("%s run %d: the assertion is not the token the file holds now", account, run)
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
		if err != nil || len(files) != len(sent) {
			t.Fatalf("%s: %d .eml files (%v), want %d", account, len(files), err, len(sent))
		}
		sort.Strings(files)
		var got [][]byte
		for _, f := range files {
			got = append(got, []byte(mustRead(t, f)))
		}
		sort.Slice(got, func(i, j int) bool {
			return bytes.Compare(got[i][bytes.Index(got[i], []byte("Subject:")):], got[j][bytes.Index(got[j], []byte("Subject:")):]) < 0
		})
		for i := range sent {
			delivered(t, account, got[i], sent[i])
		}
		if _, err := c.store.Get(secret.TokenKey(account)); !secret.IsNotFound(err) {
			t.Errorf("%s: a token was stored (%v); app-only tokens are fetched on demand", account, err)
		}
	}
	check("certificate", "robot-imap", 1)
	requireScope(t, "POP.AccessAsUser.All")
	check("federated", "robot-pop3", 2)
	if _, err := c.store.Get(secret.ClientSecretKey("k8s")); !secret.IsNotFound(err) {
		t.Errorf("the federated token config has something stored as its secret (%v)", err)
	}
	if v, err := c.store.Get(secret.ClientSecretKey("cert")); err != nil || !strings.Contains(v, "PRIVATE KEY") {
		t.Errorf("the certificate token config's key is not in the store (%v)", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
