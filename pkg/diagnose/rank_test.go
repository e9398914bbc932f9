package diagnose

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
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
	instantRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`)
	validRE   = regexp.MustCompile(`valid for [0-9hms]+`)
)

// rankGolden compares the rendered report with testdata/name, after
// replacing durations by (T), certificate dates by DATE, a step's timeout
// error by TIMEOUT, instants by TIME, token lifetimes by D and each of
// ports by PORT.
func rankGolden(t *testing.T, name string, rep *Report, ports ...int) string {
	t.Helper()
	got := durationRE.ReplaceAllString(render(rep), "(T)")
	got = expiresRE.ReplaceAllString(got, "expires DATE")
	got = timeoutRE.ReplaceAllString(got, "${1}TIMEOUT")
	got = instantRE.ReplaceAllString(got, "TIME")
	got = validRE.ReplaceAllString(got, "valid for D")
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

// TestTokenConfigCannotServe: an account whose token config cannot serve
// it is a configuration error first, with the fix `mailport authenticate`
// names, not "the account is not authenticated; run mailport authenticate",
// which would then be refused.
func TestTokenConfigCannotServe(t *testing.T) {
	port := closedPort(t)
	_, ps, _ := strings.Cut(port, ":")
	p, _ := strconv.Atoi(ps)
	authErr := func(w *world, account string) error {
		m := &oauth.Manager{Config: w.cfg, Secrets: w.resolver(), LockDir: filepath.Dir(w.cfg.Path)}
		_, err := m.Authenticate(context.Background(), account, oauth.AuthenticateOptions{Timeout: time.Second, Out: io.Discard})
		return err
	}

	t.Run("Graph scopes on an IMAP account", func(t *testing.T) {
		w := newWorld(t)
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		microsoftTC(w, prov, "ms", "example.test", config.Microsoft)
		a := w.account("box", config.Inbound, config.IMAP, port, config.SSL, config.AuthOAuth2, "alice@example.test")
		a.TokenConfig = "ms"
		rep := w.run("box", Options{})
		expect(t, rep, "config", Fail, "scopes-wrong-resource")
		out := rankGolden(t, "config-scopes.golden", rep, p)
		err := authErr(w, "box")
		if err == nil {
			t.Fatal("authenticate accepted the token config")
		}
		_, fix, ok := ConfigAdvice(rep)
		if !ok {
			t.Fatalf("no configuration advice:\n%s", out)
		}
		// authenticate's fix: mailport token-config edit ms --scopes "..."
		msg := err.Error()
		cmd := strings.TrimSuffix(msg[strings.LastIndex(msg, "(mailport ")+1:], ")")
		if cmd == "" || !strings.Contains(fix, "`"+cmd+"`") || !strings.Contains(Verdict(rep), cmd) {
			t.Errorf("authenticate says %q; the verdict %q does not name its fix", err, Verdict(rep))
		}
		if strings.Contains(Verdict(rep), "not authenticated") {
			t.Errorf("verdict %q leads with the token", Verdict(rep))
		}
	})

	t.Run("Google device flow on Gmail", func(t *testing.T) {
		w := newWorld(t)
		w.cfg.TokenConfigs["gd"] = &config.TokenConfig{Provider: config.ProviderGoogle, Flow: config.FlowDevice, ClientID: testClientID,
			AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token", DeviceURL: "https://oauth2.googleapis.com/device/code",
			Scopes: []string{oauth.ScopeGoogleMail}, Inbound: true, Outbound: true}
		a := w.account("gbox", config.Inbound, config.IMAP, port, config.SSL, config.AuthOAuth2, "a@gmail.com")
		a.TokenConfig = "gd"
		rep := w.run("gbox", Options{})
		expect(t, rep, "config", Fail, "google-device-flow-mail")
		rankGolden(t, "config-google-device.golden", rep, p)
		err := authErr(w, "gbox")
		if !errors.Is(err, oauth.ErrGoogleDeviceMail) {
			t.Fatalf("authenticate: %v", err)
		}
		const cmd = "mailport token-config edit gd --flow user"
		if !strings.Contains(err.Error(), cmd) || !strings.Contains(Verdict(rep), cmd) {
			t.Errorf("authenticate says %q; the verdict %q does not name %q", err, Verdict(rep), cmd)
		}
	})

	t.Run("inbound account, token config with inbound false", func(t *testing.T) {
		w := newWorld(t)
		prov := oauthtest.New(oauthtest.Options{})
		defer prov.Close()
		microsoftTC(w, prov, "ms", "example.test", config.IMAP).Inbound = false
		a := w.account("box", config.Inbound, config.IMAP, port, config.SSL, config.AuthOAuth2, "alice@example.test")
		a.TokenConfig = "ms"
		// As `mailport test` hands over the validator's words.
		var verrs config.Errors
		if !errors.As(w.cfg.Validate(), &verrs) {
			t.Fatal("the configuration validates")
		}
		var problems []string
		for _, fe := range verrs {
			problems = append(problems, fe.Field+": "+fe.Msg)
		}
		if len(problems) == 0 {
			t.Fatal("the configuration validates")
		}
		rep := w.run("box", Options{ConfigProblems: problems})
		expect(t, rep, "config", Fail, "token-config-direction")
		out := rankGolden(t, "config-direction.golden", rep, p)
		if n := strings.Count(out, "cause:"); n != 1 {
			t.Errorf("%d causes, want one:\n%s", n, out)
		}
		if !strings.Contains(Verdict(rep), "`mailport token-config edit ms --inbound=true`") {
			t.Errorf("verdict %q", Verdict(rep))
		}
	})
}

// TestTokenFitsAgreesWithAuth: the token fits check never says ok about a
// token whose scopes do not grant the protocol, so the login's refusal
// never points at findings that are not there.
func TestTokenFitsAgreesWithAuth(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, TokenCheck: func(user, tok string) error {
		return errors.New("AUTHENTICATE failed.")
	}})
	s.AddUser("alice@mailport-test.onmicrosoft.com", "unused")
	const login = "alice@mailport-test.onmicrosoft.com"
	box := func(t *testing.T, tc *config.TokenConfig) *world {
		w := newWorld(t)
		w.cfg.TokenConfigs["tc"] = tc
		a := w.account("box", config.Inbound, config.IMAP, hostPort(s.Endpoint()), config.SSL, config.AuthOAuth2, login)
		a.TokenConfig = "tc"
		a.Properties[connect.PropTLSCAFile] = s.CAFile()
		return w
	}
	// contradiction fails when the token fits check is ok while the login's
	// refusal blames the token, or the other way round.
	contradiction := func(t *testing.T, rep *Report) {
		t.Helper()
		var scopes Status
		for _, c := range rep.Checks {
			if c.ID == "scopes" {
				scopes = c.Status
			}
		}
		for _, c := range rep.Checks {
			for _, f := range c.Findings {
				if c.ID == "auth" && f.Entry == "token-refused-unfit" && scopes == OK {
					t.Errorf("token fits: ok, yet the login blames the token:\n%s", render(rep))
				}
				if c.ID == "auth" && f.Entry == "token-refused" && scopes != OK {
					t.Errorf("token fits: %s, yet the login says it found nothing:\n%s", scopes, render(rep))
				}
			}
		}
	}

	t.Run("Microsoft opaque token with only SMTP.Send, for IMAP", func(t *testing.T) {
		w := box(t, &config.TokenConfig{Provider: config.ProviderMicrosoft, Flow: config.FlowUser, ClientID: testClientID,
			BaseURL: prov.MicrosoftBaseURL(""), Scopes: oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP), Inbound: true, Outbound: true})
		// An opaque access token (as Microsoft gives personal accounts),
		// granted SMTP.Send only; no refresh token, so it is used as stored.
		tok := &oauth.Token{AccessToken: "EwBopaque" + strings.Repeat("x", 40), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour),
			Scopes: []string{"https://outlook.office.com/SMTP.Send", "offline_access"}, ObtainedAt: time.Now(), Flow: config.FlowUser, ClientID: testClientID, User: login}
		if err := oauth.SaveToken(w.store, "box", tok); err != nil {
			t.Fatal(err)
		}
		rep := w.run("box", Options{})
		f := finding(t, rep, "scopes", Fail, "token-missing-scope")
		if !strings.Contains(f.Cause, "IMAP.AccessAsUser.All") || !strings.Contains(f.Cause, "SMTP.Send") {
			t.Errorf("cause %q does not name the scope needed and the one granted", f.Cause)
		}
		expect(t, rep, "auth", Fail, "token-refused-unfit")
		contradiction(t, rep)
		rankGolden(t, "token-fits-opaque.golden", rep, s.Endpoint().Port)
	})

	t.Run("Graph-audience token from a generic token config", func(t *testing.T) {
		base := prov.MicrosoftBaseURL("")
		w := box(t, &config.TokenConfig{Provider: config.ProviderGeneric, Flow: config.FlowUser, ClientID: testClientID,
			AuthURL: base + "oauth2/v2.0/authorize", TokenURL: base + "oauth2/v2.0/token", Scopes: []string{"mail.read", "offline_access"}, Inbound: true, Outbound: true})
		mustToken(t, w, "box")
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", Fail, "token-wrong-audience")
		expect(t, rep, "auth", Fail, "authenticate-failed-graph-token")
		contradiction(t, rep)
	})

	t.Run("generic token config with Outlook's SMTP.Send, for IMAP", func(t *testing.T) {
		w := box(t, genericTC(prov, "https://outlook.office.com/SMTP.Send", "offline_access"))
		mustToken(t, w, "box")
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", Fail, "token-missing-scope")
		expect(t, rep, "auth", Fail, "token-refused-unfit")
		contradiction(t, rep)
	})

	t.Run("generic token config with Google API scopes but not Gmail's", func(t *testing.T) {
		w := box(t, genericTC(prov, "https://www.googleapis.com/auth/gmail.readonly"))
		mustToken(t, w, "box")
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", Warn, "google-mail-scope")
		expect(t, rep, "auth", Fail, "token-refused-unfit")
		contradiction(t, rep)
	})

	t.Run("generic token config with scopes mailport does not know", func(t *testing.T) {
		w := box(t, genericTC(prov, "mail", "offline_access"))
		mustToken(t, w, "box")
		rep := w.run("box", Options{})
		expect(t, rep, "scopes", OK, "")
		expect(t, rep, "auth", Fail, "token-refused")
		contradiction(t, rep)
	})
}

// repeated returns a run of four words that a cause says twice, or "".
func repeated(cause string) string {
	w := regexp.MustCompile(`[a-z0-9_.]+`).FindAllString(strings.ToLower(cause), -1)
	const n = 4
	first := map[string]int{}
	for i := 0; i+n <= len(w); i++ {
		g := strings.Join(w[i:i+n], " ")
		if j, ok := first[g]; ok && i-j >= n {
			return g
		}
		if _, ok := first[g]; !ok {
			first[g] = i
		}
	}
	return ""
}

// parallel are entries whose cause names two things in the same words on
// purpose ("IMAP accepts only tokens for X; Graph accepts only tokens for
// Y"), and findings that name one address twice.
var parallel = map[string]bool{"token-wrong-audience": true, "public-confidential-client": true, "token-user-mismatch": true}

// TestOneStatementPerFinding: a cause says each thing once. The check's
// own words with the account's specifics and the catalog's general words
// for the same thing are not both printed.
func TestOneStatementPerFinding(t *testing.T) {
	for _, e := range Catalog {
		if g := repeated(e.Cause); g != "" && !parallel[e.ID] {
			t.Errorf("entry %s says %q twice: %s", e.ID, g, e.Cause)
		}
	}
	var reports []*Report
	add := func(rep *Report) { reports = append(reports, rep) }

	// No password; a well-known port with the other encryption; nothing
	// listening; a host that does not exist.
	w := newWorld(t)
	w.account("nopw", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "a@example.test")
	w.account("port", config.Inbound, config.IMAP, "127.0.0.1:993", config.StartTLS, config.AuthBasic, "a@example.test")
	w.password("port", "pw")
	w.account("refused", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthBasic, "a@example.test")
	w.password("refused", "pw")
	w.account("nxdomain", config.Inbound, config.IMAP, "no-such-host.invalid", config.SSL, config.AuthBasic, "a@example.test")
	w.password("nxdomain", "pw")
	for _, n := range []string{"nopw", "port", "refused", "nxdomain"} {
		add(w.run(n, Options{Timeout: 500 * time.Millisecond}))
	}
	expect(t, reports[0], "secrets", Fail, "password-missing")
	expect(t, reports[1], "config", Warn, "tls-on-plain-port")
	expect(t, reports[2], "tcp", Fail, "tcp-refused")
	expect(t, reports[3], "dns", Fail, "dns-failure")

	// The provider refuses the refresh token; the secret has expired; the
	// token's user is not the login; the server takes no token.
	newProv := func() *oauthtest.Server {
		prov := oauthtest.New(oauthtest.Options{})
		t.Cleanup(prov.Close)
		prov.AddClient(oauthtest.Client{ID: testClientID})
		return prov
	}
	for _, r := range []struct {
		aadsts int
		code   string
		entry  string
	}{{54005, "invalid_grant", "aadsts54005"}, {70043, "invalid_grant", "aadsts70043"}, {700082, "invalid_grant", "aadsts700082"}} {
		prov := newProv()
		w, _ := oauthWorld(t, prov, closedPort(t), config.IMAP)
		prov.FailToken("refresh_token", oauthtest.Error{Code: r.code, AADSTS: r.aadsts, Description: "scripted refusal"})
		rep := w.run("box", Options{})
		expect(t, rep, "token", Fail, r.entry)
		add(rep)
	}
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL}) // no OAuth mechanism
	w, a := oauthWorld(t, newProv(), hostPort(s.Endpoint()), config.IMAP)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	a.Login = "bob@mailport-test.onmicrosoft.com"
	w.cfg.TokenConfigs["ms"].SecretExpires = "2020-01-01"
	rep := w.run("box", Options{})
	expect(t, rep, "config", Fail, "client-secret-expiring")
	expect(t, rep, "scopes", Warn, "token-user-mismatch")
	expect(t, rep, "capabilities", Fail, "no-xoauth2")
	add(rep)

	for _, rep := range reports {
		for _, c := range rep.Checks {
			for _, f := range c.Findings {
				if g := repeated(f.Cause); g != "" && !parallel[f.Entry] {
					t.Errorf("%s, check %s (%s) says %q twice: %s", rep.Account, c.ID, f.Entry, g, f.Cause)
				}
			}
		}
	}
}

// TestLoginAnswerHeldInProcess: an IMAP server that greets, lists its
// capabilities and then never answers the login (as Dovecot holds a
// failed login's answer) is named as such, within the timeout, without
// pointing at server words that are not there.
func TestLoginAnswerHeldInProcess(t *testing.T) {
	var srv *hostile.Server
	srv = hostile.StartTLS(t, func(c net.Conn) {
		io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			tag, cmd, _ := strings.Cut(line, " ")
			switch verb, _, _ := strings.Cut(strings.ToUpper(cmd), " "); verb {
			case "LOGIN", "AUTHENTICATE":
				hostile.Stall(srv, c)
				return
			case "CAPABILITY":
				io.WriteString(c, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"+tag+" OK done\r\n")
			case "LOGOUT":
				io.WriteString(c, "* BYE\r\n"+tag+" OK bye\r\n")
				return
			default:
				io.WriteString(c, tag+" OK done\r\n")
			}
		}
	})
	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, srv.Addr(), config.SSL, config.AuthBasic, "alice@example.test")
	a.Properties[connect.PropTLSCAFile] = srv.CAFile
	w.password("box", "pw")
	start := time.Now()
	rep := w.run("box", Options{Timeout: 500 * time.Millisecond})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the diagnosis took %s with a 500ms timeout", d)
	}
	f := finding(t, rep, "auth", Fail, "auth-answer-held")
	if f.Said != "" || f.Error == "" {
		t.Errorf("server said %q, error %q: the timeout is mailport's error, not the server's words", f.Said, f.Error)
	}
	noEmptyWords(t, rep)
}
