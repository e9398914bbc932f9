package cmd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/secret"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// runFile runs mailport like e.run, but with MAILPORT_SECRETS=file and
// the real file backend (secrets.yaml beside e.config, encrypted when
// e.vars sets a passphrase), whose warnings go to stderr as they would for
// a user. It fails the test when
// the process opens the store more than once.
func (e *env) runFile(stdin string, args ...string) result {
	e.t.Helper()
	opened := 0
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	vars := map[string]string{"MAILPORT_SECRETS": "file"}
	for k, v := range e.vars {
		vars[k] = v
	}
	f := &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(k string) string { return vars[k] },
		Now:         time.Now,
		OpenBrowser: e.open,
		OpenStore: func(backend, configPath string) (secret.Store, error) {
			if backend != secret.BackendFile {
				return nil, errors.New("this test keeps secrets in the file backend, not " + backend)
			}
			opened++
			return secret.OpenEnv(backend, configPath, func(k string) string { return vars[k] }, ios.ErrOut)
		},
	}
	code := Run(f, append([]string{"--config", e.config}, args...))
	if opened > 1 {
		e.t.Errorf("mailport %s opened the secret store %d times", strings.Join(args, " "), opened)
	}
	return result{out.String(), errOut.String(), code}
}

func (e *env) mustRunFile(stdin string, args ...string) result {
	e.t.Helper()
	r := e.runFile(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("mailport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

const plainTextWarning = "warning: secrets are kept in plain text at "

// With the file backend each mailport process warns once that secrets are
// in plain text, however many accounts, tokens and refreshes it handles.
func TestPlainTextWarningOncePerProcess(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: g\r\n\r\nbody\r\n"))
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})

	e := newEnv(t)
	e.open = browser(t)
	e.mustRunFile("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "graph")
	e.mustRunFile("", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--folder", "Inbox", "--property", "graph_url="+g.URL)
	e.mustRunFile("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))
	e.mustRunFile("", "authenticate", "support", "--timeout", "20s")

	for _, args := range [][]string{
		{"test", "support"},
		{"test", "outbox"},
		{"test", "--all"},
		{"fetch", "support", "--to", t.TempDir()},
		{"send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b"},
	} {
		// An expired token makes each command refresh and store the
		// rotated one: a read and a write of the file.
		prov.ExpireAccessTokens()
		e.expireFileToken("support")
		r := e.runFile("", args...)
		if r.code != 0 {
			t.Errorf("mailport %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
		}
		if n := strings.Count(r.err, plainTextWarning); n != 1 {
			t.Errorf("mailport %s: %d plain-text warnings, want 1:\n%s", strings.Join(args, " "), n, r.err)
		}
	}
	// test support, test --all and fetch support each refreshed the token.
	if n := prov.Count("token:refresh_token"); n != 3 {
		t.Errorf("%d refreshes, want 3", n)
	}
}

// expireFileToken makes the access token kept in the secrets file look
// expired, so the next command refreshes it.
func (e *env) expireFileToken(account string) {
	e.t.Helper()
	st := secret.NewFile(secret.FilePath(e.config), nil)
	tok, err := oauth.LoadToken(st, account)
	if err != nil {
		e.t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if err := oauth.SaveToken(st, account, tok); err != nil {
		e.t.Fatal(err)
	}
}
