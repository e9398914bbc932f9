package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
	"github.com/mailport/mailport/pkg/secret"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// finding returns the finding of check that names entry, failing the test
// when the check's status is not st or no finding names the entry.
func finding(t *testing.T, rep *Report, check string, st Status, entry string) Finding {
	t.Helper()
	expect(t, rep, check, st, entry)
	for _, c := range rep.Checks {
		if c.ID != check {
			continue
		}
		for _, f := range c.Findings {
			if f.Entry == entry {
				if f.Status != st {
					t.Errorf("check %s entry %s: finding status %s, want %s", check, entry, f.Status, st)
				}
				return f
			}
		}
	}
	t.FailNow()
	return Finding{}
}

func TestConfigInconsistent(t *testing.T) {
	// An engine caller that did not validate the file: the check's own rules.
	w := newWorld(t)
	w.account("box", config.Inbound, config.SMTP, closedPort(t), config.StartTLS, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{})
	f := finding(t, rep, "config", Fail, "config-inconsistent")
	if !strings.Contains(f.Cause, "protocol smtp sends mail; an inbound account uses imap, pop3 or microsoft") {
		t.Errorf("cause does not name the problem: %q", f.Cause)
	}
	if f.Said != "" {
		t.Errorf("mailport's own words shown as the server's: %q", f.Said)
	}
	for _, id := range []string{"secrets", "dns", "tcp", "auth", "folder"} {
		expect(t, rep, id, Skip, "")
	}

	// Graph with a password.
	w = newWorld(t)
	w.account("box", config.Inbound, config.Microsoft, "", config.SSL, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep = w.run("box", Options{})
	f = finding(t, rep, "config", Fail, "config-inconsistent")
	if !strings.Contains(f.Cause, "protocol microsoft (Graph) needs auth oauth2") {
		t.Errorf("cause: %q", f.Cause)
	}

	// The validator's problems, as `mailport test` passes them for a file
	// that does not validate; the same problem in both wordings is shown once.
	w = newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "a@example.test")
	a.TokenConfig = "nope"
	rep = w.run("box", Options{ConfigProblems: []string{`token config "nope" does not exist`}})
	f = finding(t, rep, "config", Fail, "config-inconsistent")
	if !strings.Contains(f.Cause, `token config "nope" does not exist`) {
		t.Errorf("cause: %q", f.Cause)
	}
	for _, c := range rep.Checks {
		if c.ID == "config" && len(c.Findings) != 1 {
			t.Errorf("the problem is reported %d times:\n%s", len(c.Findings), render(rep))
		}
	}
}

func TestPlaintextAuth(t *testing.T) {
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.None})
	s.AddUser("bob", "pw")
	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, hostPort(s.Endpoint()), config.None, config.AuthBasic, "bob")
	w.password("box", "pw")
	rep := w.run("box", Options{})
	finding(t, rep, "config", Fail, "plaintext-auth")
	// No password crossed the network: the login was not attempted.
	expect(t, rep, "auth", Skip, "")
	expect(t, rep, "tcp", OK, "")
	if strings.Contains(w.trace.String(), "LOGIN") || strings.Contains(w.trace.String(), "AUTHENTICATE") {
		t.Errorf("a login was attempted:\n%s", w.trace.String())
	}

	// The documented way out, on a trusted network.
	a.Properties[connect.PropAllowPlaintextAuth] = "true"
	rep = w.run("box", Options{})
	if rep.Result != OK {
		t.Fatalf("allow_plaintext_auth=true: %s", render(rep))
	}
}

func TestClientSecretMissing(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID, Secret: "app-secret"})
	w := newWorld(t)
	tc := microsoftTC(w, prov, "app", "mailport-test.onmicrosoft.com", config.IMAP)
	tc.Flow = config.FlowClientCredentials
	tc.Scopes = oauth.AppScopesFor(config.IMAP)
	a := w.account("box", config.Inbound, config.IMAP, closedPort(t), config.SSL, config.AuthOAuth2, "alice@mailport-test.onmicrosoft.com")
	a.TokenConfig = "app"
	rep := w.run("box", Options{})
	f := finding(t, rep, "secrets", Fail, "client-secret-missing")
	if !strings.Contains(f.Fix, "mailport token-config edit app --client-secret-stdin") {
		t.Errorf("fix does not name the token config: %q", f.Fix)
	}
	expect(t, rep, "token", Skip, "")
	expect(t, rep, "auth", Skip, "")
	if n := prov.Count("token"); n != 0 {
		t.Errorf("the provider was asked %d times without a secret", n)
	}

	// With the secret the app-only token is issued.
	w.store.Set(secret.ClientSecretKey("app"), "app-secret")
	rep = w.run("box", Options{})
	expect(t, rep, "secrets", OK, "")
	expect(t, rep, "token", OK, "")
}

func TestGraphMailboxNotEnabled(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	alice := "alice@mailport-test.onmicrosoft.com"
	g := graphtest.New(t, graphtest.Options{})
	g.AddUser(alice)
	w, _ := graphWorld(t, prov, g, alice)
	rep := w.run("box", Options{})
	if rep.Failed() {
		t.Fatalf("good Graph account: %s", render(rep))
	}
	// The default Graph scopes read but do not write.
	expect(t, rep, "scopes", Warn, "token-missing-scope")
	g.DisableREST(alice)
	rep = w.run("box", Options{})
	f := finding(t, rep, "auth", Fail, "graph-mailbox-not-enabled")
	if want := "MailboxNotEnabledForRESTAPI: The mailbox is either inactive, soft-deleted, or is hosted on-premise."; f.Said != want {
		t.Errorf("server said %q, want %q", f.Said, want)
	}
	expect(t, rep, "folder", Skip, "")
}

// TestGraphTokenRefused: a token for Outlook (IMAP scopes) sent to Graph,
// refused the way Graph refuses a token of another audience.
func TestGraphTokenRefused(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	alice := "alice@mailport-test.onmicrosoft.com"
	g := graphtest.New(t, graphtest.Options{})
	g.AddUser(alice)
	w, _ := graphWorld(t, prov, g, alice)
	g.SetAuthorize(func(tok string) (string, error) {
		c, ok := oauth.ParseJWT(tok)
		if !ok || !containsFold(c.Audience, oauth.ResourceGraph) {
			return "", errors.New("Access token validation failure. Invalid audience.")
		}
		return c.User(), nil
	})
	if rep := w.run("box", Options{}); rep.Failed() {
		t.Fatalf("good Graph account: %s", render(rep))
	}
	// The scopes change after sign-in: the refresh yields an Outlook token.
	w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.IMAP)
	rep := w.run("box", Options{})
	expect(t, rep, "config", Fail, "scopes-wrong-resource")
	expect(t, rep, "scopes", Fail, "token-wrong-audience")
	f := finding(t, rep, "auth", Fail, "graph-token-refused")
	if want := "InvalidAuthenticationToken: Access token validation failure. Invalid audience."; f.Said != want {
		t.Errorf("server said %q, want %q", f.Said, want)
	}
}

func TestSMTPSenderRefused(t *testing.T) {
	const relay = "554 5.7.1 <ops@elsewhere.test>: Relay access denied"
	s, err := smtptest.Start(smtptest.Options{
		Security: smtptest.StartTLS,
		Users:    map[string]string{"alice@example.test": "pw"},
		// Postfix's answer to a recipient it does not relay for.
		Rcpt: func(to string) error {
			if !strings.HasSuffix(to, "@example.test") {
				return smtptest.ParseReply(relay)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ca, err := s.CAFile()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	a := w.account("out", config.Outbound, config.SMTP, s.Addr(), config.StartTLS, config.AuthBasic, "alice@example.test")
	a.Properties[connect.PropTLSCAFile] = ca
	w.password("out", "pw")
	rep := w.run("out", Options{})
	expect(t, rep, "send", OK, "") // the probe: MAIL FROM and RCPT TO the login

	rep = w.run("out", Options{SendTo: "ops@elsewhere.test"})
	expect(t, rep, "auth", OK, "")
	f := finding(t, rep, "send", Fail, "smtp-sender-refused")
	if f.Said != relay {
		t.Errorf("server said %q, want %q", f.Said, relay)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages were accepted", n)
	}
}

// TestNotConnected: Microsoft's answer when the token is fine but its user
// may not open the mailbox named by the login (a shared mailbox without
// Full Access). Microsoft sends the XOAUTH2 challenge, then the words.
func TestNotConnected(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	const refusal = "-ERR User is authenticated but not connected."
	alice := "alice@mailport-test.onmicrosoft.com"
	s := pop3test.NewServer(t, pop3test.Options{ImplicitTLS: true, XOAUTH2Challenge: true, FailText: refusal,
		ValidToken: func(user, tok string) bool { return user == alice }})
	w, a := oauthWorld(t, prov, s.Addr(), config.POP3)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	if rep := w.run("box", Options{}); rep.Failed() {
		t.Fatalf("own mailbox: %s", render(rep))
	}
	a.Login = "shared@mailport-test.onmicrosoft.com"
	rep := w.run("box", Options{})
	expect(t, rep, "scopes", Warn, "token-user-mismatch")
	f := finding(t, rep, "auth", Fail, "not-connected")
	if !strings.HasPrefix(f.Said, refusal) || !strings.Contains(f.Said, pop3test.Challenge) {
		t.Errorf("server said %q, want %q with the challenge", f.Said, refusal)
	}
}

// TestAuthenticateFailedMailbox: a Microsoft token with the right audience,
// scope and user, refused with "AUTHENTICATE failed." (IMAP disabled for
// the mailbox, or an app without mailbox permission).
func TestAuthenticateFailedMailbox(t *testing.T) {
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: testClientID})
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.SSL, TokenCheck: func(user, tok string) error {
		return errors.New("IMAP is disabled for this mailbox")
	}})
	s.AddUser("alice@mailport-test.onmicrosoft.com", "unused")
	w, a := oauthWorld(t, prov, hostPort(s.Endpoint()), config.IMAP)
	a.Properties[connect.PropTLSCAFile] = s.CAFile()
	rep := w.run("box", Options{})
	expect(t, rep, "token", OK, "")
	expect(t, rep, "scopes", OK, "")
	f := finding(t, rep, "auth", Fail, "authenticate-failed-mailbox")
	if !strings.Contains(f.Said, "AUTHENTICATE failed.") {
		t.Errorf("server said %q", f.Said)
	}

	// The same refusal of a token that does not fit is the token's fault,
	// not the mailbox's: the scopes change after sign-in, and the refresh
	// yields a POP token, then a Graph token.
	w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.POP3)
	rep = w.run("box", Options{})
	expect(t, rep, "scopes", Fail, "token-missing-scope")
	expect(t, rep, "auth", Fail, "token-refused-unfit")
	w.cfg.TokenConfigs["ms"].Scopes = oauth.ScopesFor(config.ProviderMicrosoft, config.Microsoft)
	rep = w.run("box", Options{})
	expect(t, rep, "config", Fail, "scopes-wrong-resource")
	expect(t, rep, "scopes", Fail, "token-wrong-audience")
	expect(t, rep, "auth", Fail, "authenticate-failed-graph-token")
}

// TestAuthenticateFailedPasswordAtMicrosoft: a password account whose host
// is Microsoft's. The host name resolves to the local server through a
// DNS server in the test, as Go's resolver is asked by every check.
func TestAuthenticateFailedPasswordAtMicrosoft(t *testing.T) {
	fakeDNS(t, map[string]string{"outlook.office365.com.": "127.0.0.1"})
	s := imaptest.Start(t, imaptest.Config{Encryption: mail.None})
	s.AddUser("a@contoso.com", "right") // basic authentication is off: every password fails
	w := newWorld(t)
	a := w.account("box", config.Inbound, config.IMAP, "outlook.office365.com:"+portOf(t, s.Addr()), config.None, config.AuthBasic, "a@contoso.com")
	// The certificate of the local server is not Microsoft's, so the
	// session runs in plain text, which the account must allow.
	a.Properties[connect.PropAllowPlaintextAuth] = "true"
	w.password("box", "wrong")
	rep := w.run("box", Options{})
	expect(t, rep, "dns", OK, "")
	f := finding(t, rep, "auth", Fail, "authenticate-failed-protocol-auth-type")
	if f.Said == "" {
		t.Error("the server's words are missing")
	}
	if !strings.Contains(f.Fix, "--protocol microsoft --auth oauth2") {
		t.Errorf("fix: %q", f.Fix)
	}
}

// TestGoogleChallengeAtLogin: Gmail refuses a token without the mail scope
// at login with the base64 JSON challenge {"status":"400",...}, which the
// token check cannot see when the scopes granted look right.
func TestGoogleChallengeAtLogin(t *testing.T) {
	const challenge = `{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`
	const refusal = "-ERR [AUTH] Invalid credentials."
	addr, ca := gmailPOP3(t, challenge, refusal)
	prov := oauthtest.New(oauthtest.Options{})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: "1234-abc.apps.googleusercontent.com", Secret: "gsecret"})
	w := googleWorld(t, prov, []string{oauth.ScopeGoogleMail})
	a := w.cfg.Accounts["box"]
	a.Protocol = config.POP3
	host, port, _ := net.SplitHostPort(addr)
	a.Host = host
	a.Port, _ = strconv.Atoi(port)
	a.Properties[connect.PropTLSCAFile] = ca
	rep := w.run("box", Options{})
	expect(t, rep, "scopes", OK, "")
	f := finding(t, rep, "auth", Fail, "google-mail-scope")
	if want := refusal + " (challenge: " + challenge + ")"; f.Said != want {
		t.Errorf("server said %q, want %q", f.Said, want)
	}
}

// TestNetworkUnreachable: Linux refuses a TCP connection to a multicast
// address with ENETUNREACH at once, the error a machine without a route
// gives.
func TestNetworkUnreachable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ENETUNREACH for a multicast destination is Linux's behaviour")
	}
	w := newWorld(t)
	w.account("box", config.Inbound, config.IMAP, "224.0.0.1:993", config.SSL, config.AuthBasic, "a@example.test")
	w.password("box", "pw")
	rep := w.run("box", Options{})
	f := finding(t, rep, "tcp", Fail, "tcp-unreachable")
	if !strings.Contains(f.Error, "network is unreachable") {
		t.Errorf("error %q", f.Error)
	}
	expect(t, rep, "tls", Skip, "")
}

func portOf(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// gmailPOP3 serves POP3 over TLS the way Gmail answers a token it refuses
// (pop3test's challenge is Microsoft's 401): CAPA lists SASL XOAUTH2, AUTH
// XOAUTH2 gets the challenge, the client's empty answer gets refusal.
func gmailPOP3(t *testing.T, challenge, refusal string) (addr, caFile string) {
	t.Helper()
	certs, err := testcert.New("gmail test")
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certs.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", certs.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, wr := bufio.NewReader(c), bufio.NewWriter(c)
				say := func(s string) { wr.WriteString(s + "\r\n"); wr.Flush() }
				read := func() (string, bool) {
					line, err := r.ReadString('\n')
					return strings.TrimRight(line, "\r\n"), err == nil
				}
				say("+OK Gpop ready for requests from 127.0.0.1")
				for {
					line, ok := read()
					if !ok {
						return
					}
					switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
					case "CAPA":
						say("+OK Capability list follows\r\nUSER\r\nRESP-CODES\r\nEXPIRE 0\r\nLOGIN-DELAY 300\r\nTOP\r\nUIDL\r\nX-GOOGLE-RICO\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.")
					case "AUTH":
						if len(strings.Fields(line)) == 2 {
							say("+ ")
							if _, ok := read(); !ok {
								return
							}
						}
						say("+ " + base64.StdEncoding.EncodeToString([]byte(challenge)))
						if _, ok := read(); !ok {
							return
						}
						say(refusal)
					case "QUIT":
						say("+OK Farewell.")
						return
					default:
						say("-ERR bad command")
					}
				}
			}()
		}
	}()
	return l.Addr().String(), caFile
}

// fakeDNS answers A queries for names (fully qualified, with the final
// dot) and NXDOMAIN for the rest, and makes it the resolver of every
// lookup in the process until the test ends. Tests of this package do not
// run in parallel, so swapping net.DefaultResolver is safe.
func fakeDNS(t *testing.T, names map[string]string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], names); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	old := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	t.Cleanup(func() { net.DefaultResolver = old })
}

// dnsAnswer builds the reply to one query (RFC 1035 4.1).
func dnsAnswer(q []byte, names map[string]string) []byte {
	if len(q) < 12 {
		return nil
	}
	off, name := 12, ""
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		if l == 0 {
			off++
			break
		}
		if off+1+l > len(q) {
			return nil
		}
		name += strings.ToLower(string(q[off+1:off+1+l])) + "."
		off += 1 + l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	ip, known := names[name]
	resp := make([]byte, 12, 64)
	copy(resp, q[:2])                            // id
	binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion desired and available, NOERROR
	if !known {
		binary.BigEndian.PutUint16(resp[2:], 0x8183) // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[4:], 1) // one question
	resp = append(resp, question...)
	if known && qtype == 1 { // A
		binary.BigEndian.PutUint16(resp[6:], 1)
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, net.ParseIP(ip).To4()...)
	}
	return resp
}
