package cmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

func TestSendComposedAndRawThroughSMTP(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))
	att := filepath.Join(e.dir, "report.csv")
	os.WriteFile(att, []byte("a,b\n1,2\n"), 0o600)
	r := e.mustRun("", "send", "outbox", "--to", "a@example.com,b@example.com", "--bcc", "hidden@example.com", "--subject", "Report", "--body", "See attached.", "--attach", att, "--json")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("send --json: %v %q", err, r.out)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	m := msgs[0]
	if strings.Join(m.To, ",") != "a@example.com,b@example.com,hidden@example.com" || m.From != "out@example.com" {
		t.Fatalf("envelope: %+v", m)
	}
	body := string(m.Data)
	if !strings.Contains(body, "Subject: Report") || strings.Contains(body, "hidden@example.com") || !strings.Contains(body, "report.csv") {
		t.Fatalf("message:\n%s", body)
	}
	if !strings.Contains(body, res["message_id"].(string)) {
		t.Fatalf("printed Message-ID %v not in the message", res["message_id"])
	}

	raw := "From: out@example.com\r\nTo: c@example.com\r\nSubject: raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\n.leading dot\r\n" + strings.Repeat("x", 10000) + "\r\n"
	rawFile := filepath.Join(e.dir, "m.eml")
	os.WriteFile(rawFile, []byte(raw), 0o600)
	r = e.mustRun("", "send", "outbox", "--raw", rawFile)
	if r.out != "Sent <raw-1@example.com> to c@example.com\n" {
		t.Fatalf("raw send output %q", r.out)
	}
	msgs = srv.Messages()
	if got := msgs[len(msgs)-1].Data; !bytes.Equal(got, []byte(raw)) {
		t.Fatalf("raw message altered:\n%q", got)
	}
}

func TestSendRefusesBeforeConnecting(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1", "--login", "out@example.com", "--password-stdin")
	e.mustRun("pw", "account", "add", "inbox", "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", "1", "--login", "in@example.com", "--password-stdin")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "inbox", "--to", "a@example.com"}, "error: account inbox is an inbound account; send needs an outbound one (smtp or microsoft)\n"},
		{[]string{"send", "outbox", "--subject", "x", "--body", "y"}, ""},
		{[]string{"send", "outbox", "--to", "a@example.com", "--body", "x", "--attach", "/nonexistent/file.pdf"}, ""},
		{[]string{"send", "outbox", "--to", "not an address"}, ""},
		{[]string{"send", "outbox", "--raw", "m.eml", "--subject", "x"}, "error: --raw sends a message as it is; --subject cannot be combined with it\n"},
		{[]string{"send", "nope", "--to", "a@example.com"}, "error: no account named \"nope\" (known: inbox, outbox)\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d (%q), want 2", tt.args, r.code, r.err)
		}
		if tt.want != "" && r.err != tt.want {
			t.Errorf("%v: stderr %q, want %q", tt.args, r.err, tt.want)
		}
		t.Logf("%v: %s", tt.args, r.err)
		if strings.Contains(r.err, "connect") || strings.Count(r.err, "\n") != 1 {
			t.Errorf("%v: not one sentence before connecting: %q", tt.args, r.err)
		}
	}
	e.mustRun("", "account", "disable", "outbox")
	r := e.run("", "send", "outbox", "--to", "a@example.com", "--body", "x")
	if r.code != 2 || r.err != "error: account outbox is disabled; enable it with `mailport account enable outbox`\n" {
		t.Errorf("disabled: %d %q", r.code, r.err)
	}
}

func TestSendWithOAuth2RefreshesAndRevokedTokenExitsThree(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{User: "out@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID})
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Token: func(user, token string) error { return nil }})
	e := newEnv(t)
	e.open = browser(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"), "--client-id", clientID, "--for", "smtp")
	e.mustRun("", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--auth", "oauth2", "--token-config", "ms", "--login", "out@contoso.com", "--property", "tls_ca_file="+caFile(t, srv))
	e.mustRun("", "authenticate", "outbox", "--timeout", "20s")
	// An expired access token is refreshed transparently.
	prov.ExpireAccessTokens()
	e.expireStoredToken("outbox")
	e.mustRun("", "send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b")
	if prov.Count("token:refresh_token") != 1 {
		t.Fatalf("refreshes: %d", prov.Count("token:refresh_token"))
	}
	prov.RevokeUser("out@contoso.com")
	prov.ExpireAccessTokens()
	e.expireStoredToken("outbox")
	r := e.run("", "send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b")
	if r.code != 3 || !strings.Contains(r.err, "run: mailport authenticate outbox") {
		t.Fatalf("revoked: exit %d stderr %q", r.code, r.err)
	}
	r = e.mustRun("", "status", "outbox")
	if !strings.Contains(r.out, "NEEDS REAUTH") {
		t.Fatalf("status after revocation: %q", r.out)
	}
}

func startSMTP(t *testing.T, opts smtptest.Options) *smtptest.Server {
	t.Helper()
	srv, err := smtptest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func caFile(t *testing.T, srv *smtptest.Server) string {
	t.Helper()
	p, err := srv.CAFile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// expireStoredToken makes the stored access token look expired, as it is
// an hour after authenticate.
func (e *env) expireStoredToken(account string) {
	e.t.Helper()
	tok, err := oauth.LoadToken(e.store, account)
	if err != nil {
		e.t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if err := oauth.SaveToken(e.store, account, tok); err != nil {
		e.t.Fatal(err)
	}
}

func TestVerboseShowsARedactedTranscript(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "hunter2-password"}})
	e := newEnv(t)
	e.mustRun("hunter2-password", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))
	r := e.mustRun("", "-v", "send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b")
	if !strings.Contains(r.err, "EHLO") || !strings.Contains(r.err, "AUTH PLAIN") {
		t.Fatalf("no transcript on stderr:\n%s", r.err)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00out@example.com\x00hunter2-password"))
	if strings.Contains(r.err, "hunter2-password") || strings.Contains(r.err, "aHVudGVyMi1wYXNzd29yZA") || strings.Contains(r.err, plain) {
		t.Fatalf("the transcript shows the password:\n%s", r.err)
	}
	if strings.Contains(r.out, "EHLO") {
		t.Fatal("the transcript went to stdout")
	}
}
