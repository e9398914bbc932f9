package diagnose

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// The tests of this file pin, with golden outputs, which cause `mailport
// test` names first when several could explain a failure. -update rewrites
// the golden files.

var (
	durationRE = regexp.MustCompile(`\(\d+(\.\d+)?m?s\)`)
	expiresRE  = regexp.MustCompile(`expires \d{4}-\d\d-\d\d \(in \d+ days?\)`)
	// Which deadline fires first, the context's or the connection's, varies.
	timeoutRE = regexp.MustCompile(`(?m)^(\s+error: ).*(context deadline exceeded|i/o timeout)$`)
)

// rankGolden compares the rendered report with testdata/name, after
// replacing durations by (T), certificate dates by DATE, a step's timeout
// error by TIMEOUT and each of ports by PORT.
func rankGolden(t *testing.T, name string, rep *Report, ports ...int) string {
	t.Helper()
	got := durationRE.ReplaceAllString(render(rep), "(T)")
	got = expiresRE.ReplaceAllString(got, "expires DATE")
	got = timeoutRE.ReplaceAllString(got, "${1}TIMEOUT")
	for _, p := range ports {
		got = strings.ReplaceAll(got, strconv.Itoa(p), "PORT")
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./pkg/diagnose -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
	return got
}

// noEmptyWords fails when a finding points at words that are not there.
func noEmptyWords(t *testing.T, rep *Report) {
	t.Helper()
	for _, c := range rep.Checks {
		for _, f := range c.Findings {
			if f.Said == "" && strings.Contains(f.Cause, "words are above") {
				t.Errorf("check %s: cause %q points at the server's words, but there are none", c.ID, f.Cause)
			}
		}
	}
}

// TestSMTPAuthOnlyAfterSTARTTLS: a submission port that offers AUTH only
// after STARTTLS, used with encryption none, is not "a relay port".
func TestSMTPAuthOnlyAfterSTARTTLS(t *testing.T) {
	s, err := smtptest.Start(smtptest.Options{
		Security: smtptest.StartTLS,
		Users:    map[string]string{"alice@example.test": "pw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := newWorld(t)
	a := w.account("out", config.Outbound, config.SMTP, s.Addr(), config.None, config.AuthBasic, "alice@example.test")
	a.Properties[connect.PropAllowPlaintextAuth] = "true"
	w.password("out", "pw")
	rep := w.run("out", Options{})
	expect(t, rep, "capabilities", Fail, "smtp-auth-after-starttls")
	_, port, _ := strings.Cut(s.Addr(), ":")
	p, _ := strconv.Atoi(port)
	out := rankGolden(t, "smtp-auth-after-starttls.golden", rep, p)
	if strings.Contains(out, "relay port") {
		t.Errorf("the submission port is called a relay port:\n%s", out)
	}
	if !strings.HasPrefix(Summary(rep), "out\tFAIL\tcapabilities: This server offers AUTH only after STARTTLS") {
		t.Errorf("summary %q does not lead with AUTH after STARTTLS", Summary(rep))
	}
}

// realBed starts a bed of its own, with Postfix and Dovecot's failed-login
// delay, for the real-server cases of this file.
func realBed(t *testing.T, delay time.Duration) *testbed.Bed {
	t.Helper()
	b, err := testbed.Start(testbed.Options{AuthFailureDelay: delay})
	testbed.Require(t, err)
	t.Cleanup(b.Stop)
	b.LogOnFailure(t)
	return b
}

// TestRankingAgainstRealServers runs the ranking cases that real Dovecot
// and Postfix produce: Postfix's submission port with
// smtpd_tls_auth_only=yes used without encryption, and a wrong password
// behind Dovecot's auth_failure_delay (2s, its default) with a shorter
// --timeout.
func TestRankingAgainstRealServers(t *testing.T) {
	b := realBed(t, 2*time.Second)

	t.Run("postfix AUTH only after STARTTLS", func(t *testing.T) {
		w := newWorld(t)
		a := w.account("out", config.Outbound, config.SMTP, b.Addr(b.SubmissionPort), config.None, config.AuthBasic, "alice@example.test")
		a.Properties[connect.PropAllowPlaintextAuth] = "true"
		w.password("out", "alice-password")
		rep := w.run("out", Options{})
		expect(t, rep, "capabilities", Fail, "smtp-auth-after-starttls")
		rankGolden(t, "postfix-auth-after-starttls.golden", rep, b.SubmissionPort)

		// The fix it names works.
		a.Encryption = config.StartTLS
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		if rep := w.run("out", Options{}); rep.Failed() {
			t.Errorf("with --encryption starttls:\n%s", render(rep))
		}
	})

	t.Run("dovecot holds the answer to a wrong password", func(t *testing.T) {
		w := newWorld(t)
		a := w.account("box", config.Inbound, config.IMAP, b.Addr(b.IMAPSPort), config.SSL, config.AuthBasic, "alice@example.test")
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		w.password("box", "not-her-password")
		start := time.Now()
		rep := w.run("box", Options{Timeout: time.Second})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the diagnosis took %s with --timeout 1s", d)
		}
		expect(t, rep, "auth", Fail, "auth-answer-held")
		noEmptyWords(t, rep)
		rankGolden(t, "auth-answer-held.golden", rep, b.IMAPSPort)

		// With a --timeout beyond the delay the refusal itself shows.
		rep = w.run("box", Options{Timeout: 5 * time.Second})
		expect(t, rep, "auth", Fail, "wrong-password")
	})

	t.Run("postfix holds the answer to a wrong password", func(t *testing.T) {
		w := newWorld(t)
		a := w.account("out", config.Outbound, config.SMTP, b.Addr(b.SubmissionPort), config.StartTLS, config.AuthBasic, "alice@example.test")
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		w.password("out", "not-her-password")
		rep := w.run("out", Options{Timeout: time.Second})
		f := finding(t, rep, "auth", Fail, "auth-answer-held")
		if f.Said != "" || f.Error == "" {
			t.Errorf("server said %q, error %q: the timeout is mailport's error, not the server's words", f.Said, f.Error)
		}
		noEmptyWords(t, rep)
	})

	t.Run("dovecot holds the answer to a refused token", func(t *testing.T) {
		// This bed's Dovecot refuses every token, after its delay.
		w := newWorld(t)
		microsoftTC(w, bedProvider, "ms", "example.test", config.IMAP)
		a := w.account("box", config.Inbound, config.IMAP, b.Addr(b.IMAPSPort), config.SSL, config.AuthOAuth2, "alice@example.test")
		a.TokenConfig = "ms"
		a.Properties[connect.PropTLSCAFile] = b.CAFile
		mustToken(t, w, "box")
		rep := w.run("box", Options{Timeout: time.Second})
		expect(t, rep, "scopes", OK, "")
		expect(t, rep, "auth", Fail, "auth-answer-held-token")
		noEmptyWords(t, rep)

		// Given the time, Dovecot refuses the token; from a Microsoft token
		// config that fits, the mailbox is to blame.
		rep = w.run("box", Options{Timeout: 5 * time.Second})
		expect(t, rep, "auth", Fail, "authenticate-failed-mailbox")

		// From a generic token config the token check has nothing against
		// the token, and the refusal says so.
		w.cfg.TokenConfigs["gen"] = genericTC(bedProvider, "mail")
		a.TokenConfig = "gen"
		mustToken(t, w, "box")
		rep = w.run("box", Options{Timeout: 5 * time.Second})
		expect(t, rep, "scopes", OK, "")
		expect(t, rep, "auth", Fail, "token-refused")
	})
}

// genericTC is a generic provider's token config on prov.
func genericTC(prov *oauthtest.Server, scopes ...string) *config.TokenConfig {
	return &config.TokenConfig{Provider: config.ProviderGeneric, Flow: config.FlowUser, ClientID: testClientID,
		AuthURL: prov.GoogleAuthURL(), TokenURL: prov.GoogleTokenURL(), Scopes: scopes, Inbound: true, Outbound: true}
}
