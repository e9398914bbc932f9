package realtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// The tests here run other mail programs with mailport as their OAuth2
// credential helper (`mailport token`), as docs/integrations.md shows.

// helperSetup is a config with an OAuth2 IMAP account "work" for dave at
// the bed, authenticated, with its secrets in the file store beside the
// config so that a mailport process started by another program finds them.
type helperSetup struct {
	dir, config, bin string
	store            secret.Store
}

// requireProgram skips (or, with MAILPORT_REQUIRE_REALSERVERS=1, fails)
// when a program the test drives is not installed.
func requireProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testbed.Require(t, &testbed.UnavailableError{Reason: fmt.Sprintf("%s is not installed (Debian package %s; scripts/install-deps.sh installs it)", name, pkg)})
	}
	return p
}

// built is the mailport binary the tests build once for the package.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildMailport builds the mailport binary (once per package run).
func buildMailport(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "mailport-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "mailport")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// removeBuilt removes the binary buildMailport built (TestMain).
func removeBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

func newHelperSetup(t *testing.T, b *testbed.Bed, account, typ, proto string, port int, enc string) *helperSetup {
	t.Helper()
	dir := t.TempDir()
	h := &helperSetup{dir: dir, config: filepath.Join(dir, "config.yaml")}
	h.bin = buildMailport(t)
	run := func(args ...string) {
		t.Helper()
		ios, _, out, errOut := iostreams.Test()
		f := &cmdutil.Factory{
			IO: ios, Getenv: func(string) string { return "" }, Now: time.Now,
			OpenBrowser: (&cli{t: t}).browse,
			OpenStore: func(backend, configPath string) (secret.Store, error) {
				st, err := secret.Open("file", configPath, ios.ErrOut)
				h.store = st
				return st, err
			},
		}
		if code := cmd.Run(f, append([]string{"--config", h.config, "--secrets", "file"}, args...)); code != 0 {
			t.Fatalf("mailport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	run("token-config", "add", "outlook", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL(""),
		"--client-id", clientID, "--scopes", strings.Join(outlookScopes, " "))
	run("account", "add", account, "--type", typ, "--protocol", proto, "--host", b.Host, "--port", strconv.Itoa(port),
		"--encryption", enc, "--auth", "oauth2", "--token-config", "outlook", "--login", dave, "--property", "tls_ca_file="+b.CAFile)
	tokenMu.Lock()
	prov.SetUser(dave)
	run("authenticate", account, "--timeout", "20s")
	prov.SetUser(alice)
	tokenMu.Unlock()
	return h
}

// expire makes the stored access token of account look expired, as it is
// an hour after authenticate: the next `mailport token` must refresh it.
func (h *helperSetup) expire(t *testing.T, account string) string {
	t.Helper()
	tok, err := oauth.LoadToken(h.store, account)
	if err != nil {
		t.Fatal(err)
	}
	old := tok.AccessToken
	tok.Expiry = time.Now().Add(-time.Minute)
	if err := oauth.SaveToken(h.store, account, tok); err != nil {
		t.Fatal(err)
	}
	return old
}

// stored is the account's access token in the file store now.
func (h *helperSetup) stored(t *testing.T, account string) string {
	t.Helper()
	tok, err := oauth.LoadToken(h.store, account)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// tokenCmd is the command line another program runs to get the token.
func (h *helperSetup) tokenCmd(account string, extra ...string) string {
	return strings.Join(append([]string{h.bin, "--config", h.config, "--secrets", "file", "token", account}, extra...), " ")
}

// helperEnv is a clean environment for another program: its own HOME, so
// no user configuration is read.
func helperEnv(home string) []string {
	return []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C"}
}

// TestMbsyncWithMailportToken: mbsync (isync) signs in to Dovecot with
// XOAUTH2 using `PassCmd "mailport token work"`, and syncs INBOX into a
// local Maildir. The stored token has expired, so the mailport that mbsync
// starts refreshes it at the authorization server, stores the rotated one,
// and Dovecot accepts the new token after asking the authorization server.
func TestMbsyncWithMailportToken(t *testing.T) {
	mbsync := requireProgram(t, "mbsync", "isync")
	b := bed.Get(t)
	var ids []string
	for i := 1; i <= 3; i++ {
		id := "<mbsync-" + strconv.Itoa(i) + "-" + randomID() + "@example.test>"
		ids = append(ids, id)
		msg := "From: alice@example.test\r\nTo: " + dave + "\r\nSubject: mbsync " + strconv.Itoa(i) + "\r\nMessage-ID: " + id + "\r\n\r\nbody " + strconv.Itoa(i) + "\r\n"
		if _, err := b.Deliver(dave, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	}
	h := newHelperSetup(t, b, "work", "inbound", "imap", b.IMAPSPort, "ssl")
	old := h.expire(t, "work")
	refreshes, introspections := prov.Count("token:refresh_token"), prov.Count("introspect")

	local := filepath.Join(h.dir, "Mail")
	if err := os.Mkdir(local, 0o700); err != nil { // mbsync creates folders, not the store's root
		t.Fatal(err)
	}
	rc := filepath.Join(h.dir, "mbsyncrc")
	// mbsync matches the certificate's DNS names only, not its IP address.
	conf := fmt.Sprintf(`IMAPAccount work
Host %s
Port %d
User %s
PassCmd "%s"
AuthMechs XOAUTH2
SSLType IMAPS
CertificateFile %s

IMAPStore work-remote
Account work

MaildirStore work-local
Path %s/
Inbox %s/INBOX

Channel work
Far :work-remote:
Near :work-local:
Patterns INBOX
Create Near
SyncState *
`, "localhost", b.IMAPSPort, dave, h.tokenCmd("work"), b.CAFile, local, local)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(mbsync, "-c", rc, "-a")
	run.Env = helperEnv(h.dir)
	start := time.Now()
	out, err := run.CombinedOutput()
	t.Logf("mbsync ran in %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("mbsync -c %s -a: %v\n%s\n%s", rc, err, out, conf)
	}

	// The messages are in the local Maildir.
	files, err := filepath.Glob(filepath.Join(local, "INBOX", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	if len(files) != len(ids) {
		t.Errorf("mbsync left %d files in %s, want %d:\n%s", len(files), local, len(ids), out)
	}
	for _, id := range ids {
		if !strings.Contains(all.String(), "Message-ID: "+id) {
			t.Errorf("message %s is not in the local Maildir", id)
		}
	}
	// The token mbsync used was minted by the authorization server during
	// the run (a refresh), stored, and checked by Dovecot.
	if n := prov.Count("token:refresh_token") - refreshes; n != 1 {
		t.Errorf("the authorization server saw %d refreshes during mbsync's run, want 1", n)
	}
	now := h.stored(t, "work")
	if now == old {
		t.Error("the stored token did not change: mailport token did not refresh it")
	}
	if user, ok := prov.ActiveUser(now); !ok || user != dave {
		t.Errorf("the stored token is not a live token of %s at the authorization server (%q, %v)", dave, user, ok)
	}
	if prov.Count("introspect") <= introspections {
		t.Error("Dovecot did not check a token with the authorization server: mbsync did not sign in with XOAUTH2")
	}
	if strings.Contains(string(out), now) {
		t.Errorf("mbsync's output shows the token:\n%s", out)
	}
}

// TestMsmtpWithMailportToken: msmtp sends through Postfix's submission
// port with `passwordeval "mailport token work-out"`, once with XOAUTH2 and
// once with OAUTHBEARER; Postfix asks Dovecot, which asks the
// authorization server about the token. The first run finds the stored
// token expired, so the mailport msmtp starts refreshes it.
func TestMsmtpWithMailportToken(t *testing.T) {
	msmtp := requireProgram(t, "msmtp", "msmtp")
	b := bed.Get(t)
	h := newHelperSetup(t, b, "work-out", "outbound", "smtp", b.SubmissionPort, "starttls")
	old := h.expire(t, "work-out")
	refreshes := prov.Count("token:refresh_token")
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		introspections := prov.Count("introspect")
		rc := filepath.Join(h.dir, "msmtprc-"+mech)
		// msmtp checks the certificate against the host name, so localhost.
		conf := fmt.Sprintf(`account work
host localhost
port %d
tls on
tls_starttls on
tls_trust_file %s
auth %s
user %s
from %s
passwordeval "%s"

account default : work
`, b.SubmissionPort, b.CAFile, mech, dave, dave, h.tokenCmd("work-out"))
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		id := "<msmtp-" + mech + "-" + randomID() + "@example.test>"
		msg := "From: " + dave + "\r\nTo: " + dave + "\r\nSubject: msmtp " + mech + "\r\nMessage-ID: " + id + "\r\n\r\nsent by msmtp\r\n"
		run := exec.Command(msmtp, "-C", rc, dave)
		run.Env = helperEnv(h.dir)
		run.Stdin = strings.NewReader(msg)
		start := time.Now()
		out, err := run.CombinedOutput()
		t.Logf("msmtp (%s) ran in %v", mech, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("msmtp with auth %s: %v\n%s\n%s", mech, err, out, conf)
		}
		if _, err := b.WaitForMessage(dave, "", id, 10*time.Second); err != nil {
			t.Fatalf("auth %s: %v", mech, err)
		}
		if prov.Count("introspect") <= introspections {
			t.Errorf("auth %s: Dovecot did not check a token with the authorization server", mech)
		}
	}
	if n := prov.Count("token:refresh_token") - refreshes; n != 1 {
		t.Errorf("the authorization server saw %d refreshes during msmtp's runs, want 1 (the first run refreshes, the second uses the stored token)", n)
	}
	if now := h.stored(t, "work-out"); now == old {
		t.Error("the stored token did not change: mailport token did not refresh it")
	} else if user, ok := prov.ActiveUser(now); !ok || user != dave {
		t.Errorf("the stored token is not a live token of %s (%q, %v)", dave, user, ok)
	}
}
