package pop3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

const (
	user     = "alice@example.com"
	password = "s3cret-Passw0rd"
	token    = "ya29.an-access-token-that-is-long-enough"
)

func basic() mail.Credentials {
	return mail.Credentials{Kind: mail.AuthBasic, Username: user, Password: password}
}

func oauth(tok string) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthOAuth2, Username: user,
		Token: func(context.Context) (string, error) { return tok, nil }}
}

func newServer(t *testing.T, o pop3test.Options) *pop3test.Server {
	t.Helper()
	o.Users = map[string]string{user: password}
	o.ValidToken = func(u, tok string) bool { return u == user && tok == token }
	return pop3test.NewServer(t, o)
}

func dial(t testing.TB, ep mail.Endpoint) *pop3.Client {
	t.Helper()
	c, err := pop3.Dial(context.Background(), ep)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func login(t testing.TB, ep mail.Endpoint, cr mail.Credentials) *pop3.Client {
	t.Helper()
	c := dial(t, ep)
	if err := c.Authenticate(context.Background(), cr); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if _, err := c.Open(context.Background(), ""); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

// fetchAll lists and retrieves every message, keyed by UIDL.
func fetchAll(t *testing.T, c *pop3.Client) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := map[string][]byte{}
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(len(b)) != m.Size {
			t.Errorf("message %s: %d octets read, LIST said %d", m.ID, len(b), m.Size)
		}
		got[m.ID] = b
		return nil
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return got
}

// tricky are messages that a careless POP3 client corrupts.
func tricky() map[string][]byte {
	long := strings.Repeat("0123456789", 1024) // a 10 KB line
	return map[string][]byte{
		"dots": []byte("From: a@example.com\r\nSubject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n..two\r\n...\r\nend\r\n.last\r\n"),
		"long": []byte("Subject: long\r\n\r\n" + long + "\r\n." + long + "\r\n"),
		"8bit": []byte("Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 \xff\xfe\x80 \x00 tab\there\r\nbare\rCR and end\r\n"),
		"crlf": []byte("Subject: crlf\r\n\r\nline one\r\n\r\n\r\nline four  \r\n"),
	}
}

func TestRetrievalIsByteExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts pop3test.Options
		cr   mail.Credentials
	}{
		{"pipelined plain", pop3test.Options{}, basic()},
		{"one at a time", pop3test.Options{NoPipelining: true}, basic()},
		{"STLS with XOAUTH2", pop3test.Options{STLS: true, RefuseOneLineXOAUTH2: true}, oauth(token)},
		{"implicit TLS", pop3test.Options{ImplicitTLS: true}, basic()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.opts)
			want := map[string][]byte{}
			for _, m := range tricky() {
				want[s.AddMessage(m)] = m
			}
			c := login(t, s.Endpoint(), tc.cr)
			got := fetchAll(t, c)
			if len(got) != len(want) {
				t.Fatalf("fetched %d messages, want %d", len(got), len(want))
			}
			for id, w := range want {
				if !bytes.Equal(got[id], w) {
					t.Errorf("message %s differs:\n got %q\nwant %q", id, trunc(got[id]), trunc(w))
				}
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}

func TestListReturnsUIDLsAndSizesInOrder(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	ma, mb := []byte("Subject: a\r\n\r\na\r\n"), []byte("Subject: b\r\n\r\nbbbb\r\n")
	a, b := s.AddMessage(ma), s.AddMessage(mb)
	c := login(t, s.Endpoint(), basic())
	f, err := c.Open(context.Background(), "InBox")
	if err != nil || f.Count != 2 || f.Validity != "" {
		t.Fatalf("Open(InBox) = %+v, %v; want 2 messages, no validity", f, err)
	}
	msgs, err := c.List(context.Background(), mail.Criteria{Unseen: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []mail.Message{{ID: a, Size: int64(len(ma))}, {ID: b, Size: int64(len(mb))}}
	if len(msgs) != 2 || msgs[0] != want[0] || msgs[1] != want[1] {
		t.Fatalf("List = %+v, want %+v", msgs, want)
	}
}

func TestCapabilities(t *testing.T) {
	s := newServer(t, pop3test.Options{STLS: true})
	c := dial(t, s.Endpoint())
	if !strings.HasPrefix(c.Greeting(), "+OK pop3test") {
		t.Errorf("Greeting = %q", c.Greeting())
	}
	caps, err := c.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, cp := range caps {
		have[cp] = true
	}
	for _, want := range []string{"UIDL", "PIPELINING", "USER", "SASL PLAIN", "SASL XOAUTH2", "IMPLEMENTATION POP3TEST"} {
		if !have[want] {
			t.Errorf("capabilities %q lack %q", caps, want)
		}
	}
	if have["STLS"] {
		t.Errorf("after STLS the capabilities still list STLS: %q", caps)
	}
	if st, ok := c.TLSState(); !ok || !st.HandshakeComplete {
		t.Errorf("TLSState after STLS = %v, want an encrypted connection", ok)
	}
}

func TestServerWithoutCAPAStillWorks(t *testing.T) {
	s := newServer(t, pop3test.Options{NoCAPA: true})
	s.AddMessage([]byte("Subject: x\r\n\r\nx\r\n"))
	c := login(t, s.Endpoint(), basic())
	if caps, err := c.Capabilities(context.Background()); err != nil || len(caps) != 0 {
		t.Errorf("Capabilities = %q, %v; want none", caps, err)
	}
	if got := fetchAll(t, c); len(got) != 1 {
		t.Errorf("fetched %d messages, want 1", len(got))
	}
	if !contains(s.Commands(), "USER "+user) {
		t.Errorf("without CAPA the client should use USER/PASS; commands: %q", s.Commands())
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, p string) bool {
	for _, l := range list {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func TestXOAUTH2TwoLineIsTheDefault(t *testing.T) {
	// Microsoft refuses the one-line form; the default must pass.
	s := newServer(t, pop3test.Options{RefuseOneLineXOAUTH2: true})
	login(t, s.Endpoint(), oauth(token))
	if !contains(s.Commands(), "AUTH XOAUTH2") || hasPrefix(s.Commands(), "AUTH XOAUTH2 ") {
		t.Errorf("want the two-line form, commands were %q", s.Commands())
	}
}

func TestXOAUTH2OneLineWhenAsked(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	ep := s.Endpoint()
	ep.Properties = map[string]string{pop3.TwoLineProperty: "false"}
	login(t, ep, oauth(token))
	if !hasPrefix(s.Commands(), "AUTH XOAUTH2 ") {
		t.Errorf("want the one-line form, commands were %q", s.Commands())
	}

	// Against Microsoft's behaviour, the refusal keeps the server's words.
	ms := newServer(t, pop3test.Options{RefuseOneLineXOAUTH2: true})
	ep = ms.Endpoint()
	ep.Properties = map[string]string{pop3.TwoLineProperty: "false"}
	err := dial(t, ep).Authenticate(context.Background(), oauth(token))
	var ae *mail.AuthError
	if !errors.As(err, &ae) || ae.Text != "-ERR Protocol error" || ae.Mechanism != "XOAUTH2" {
		t.Fatalf("got %v, want an XOAUTH2 AuthError with the text -ERR Protocol error", err)
	}

	ep.Properties = map[string]string{pop3.TwoLineProperty: "maybe"}
	err = dial(t, ep).Authenticate(context.Background(), oauth(token))
	if err == nil || !strings.Contains(err.Error(), "pop3.xoauth2.two_line must be true or false") {
		t.Errorf("a bad property value gave %v", err)
	}
}

func TestXOAUTH2RefusalKeepsChallengeAndWords(t *testing.T) {
	for _, twoLine := range []string{"true", "false"} {
		s := newServer(t, pop3test.Options{XOAUTH2Challenge: true})
		ep := s.Endpoint()
		ep.Properties = map[string]string{pop3.TwoLineProperty: twoLine}
		c := dial(t, ep)
		err := c.Authenticate(context.Background(), oauth("expired-token-value"))
		var ae *mail.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("two_line=%s: got %v, want *mail.AuthError", twoLine, err)
		}
		if ae.Text != "-ERR [AUTH] Authentication failed." || ae.Challenge != pop3test.Challenge {
			t.Errorf("two_line=%s: AuthError = %+v", twoLine, ae)
		}
		if !strings.Contains(err.Error(), `"status":"401"`) {
			t.Errorf("the message should show the challenge: %v", err)
		}
		// The exchange ended cleanly: the session goes on.
		if err := c.Noop(context.Background()); err != nil {
			t.Errorf("two_line=%s: NOOP after the refusal: %v", twoLine, err)
		}
	}
}

func TestXOAUTH2NotOffered(t *testing.T) {
	s := newServer(t, pop3test.Options{NoXOAUTH2: true})
	err := dial(t, s.Endpoint()).Authenticate(context.Background(), oauth(token))
	if !errors.Is(err, mail.ErrUnsupported) || !strings.Contains(err.Error(), "does not offer SASL XOAUTH2 (it offers PLAIN)") {
		t.Errorf("got %v", err)
	}
	if hasPrefix(s.Commands(), "AUTH") {
		t.Errorf("no AUTH should be sent: %q", s.Commands())
	}
}

func TestBasicAuth(t *testing.T) {
	t.Run("AUTH PLAIN when offered", func(t *testing.T) {
		s := newServer(t, pop3test.Options{})
		login(t, s.Endpoint(), basic())
		if !hasPrefix(s.Commands(), "AUTH PLAIN ") || hasPrefix(s.Commands(), "PASS") {
			t.Errorf("commands %q", s.Commands())
		}
	})
	t.Run("USER/PASS otherwise", func(t *testing.T) {
		s := newServer(t, pop3test.Options{NoPlain: true})
		login(t, s.Endpoint(), basic())
		if !contains(s.Commands(), "USER "+user) || !contains(s.Commands(), "PASS "+password) {
			t.Errorf("commands %q", s.Commands())
		}
	})
	for _, o := range []pop3test.Options{{}, {NoPlain: true}} {
		s := newServer(t, pop3test.Options{NoPlain: o.NoPlain, FailText: "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."})
		c := dial(t, s.Endpoint())
		err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: user, Password: "wrong"})
		var ae *mail.AuthError
		if !errors.As(err, &ae) || ae.Text != "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." {
			t.Errorf("NoPlain=%v: got %v, want the server's words", o.NoPlain, err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestPasswordNeverSentInTheClear(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	ep := s.Endpoint()
	ep.AllowPlaintextAuth = false
	err := dial(t, ep).Authenticate(context.Background(), basic())
	var pe *mail.PlaintextAuthError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a PlaintextAuthError", err)
	}
	if hasPrefix(s.Commands(), "AUTH") || hasPrefix(s.Commands(), "PASS") || hasPrefix(s.Commands(), "USER") {
		t.Errorf("credentials went out: %q", s.Commands())
	}
}

func TestSTLSRequired(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	ep := s.Endpoint()
	ep.Encryption = mail.StartTLS
	_, err := pop3.Dial(context.Background(), ep)
	if err == nil || !strings.Contains(err.Error(), "does not offer STLS") {
		t.Fatalf("got %v, want a clear refusal", err)
	}
}

func TestSTLSChecksTheCertificate(t *testing.T) {
	s := newServer(t, pop3test.Options{STLS: true})
	ep := s.Endpoint()
	ep.CAFile = ""
	_, err := pop3.Dial(context.Background(), ep)
	if err == nil || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("an untrusted certificate gave %v", err)
	}
}

func TestOpenHasOnlyTheInbox(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	c := login(t, s.Endpoint(), basic())
	_, err := c.Open(context.Background(), "Inbox/Endpoint")
	var nf *mail.FolderNotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "POP3 has only the inbox") {
		t.Errorf("got %v", err)
	}
	if err := c.MarkSeen(context.Background(), []string{"x"}); !errors.Is(err, mail.ErrUnsupported) {
		t.Errorf("MarkSeen: %v", err)
	}
	if err := c.Move(context.Background(), []string{"x"}, "Archive"); !errors.Is(err, mail.ErrUnsupported) {
		t.Errorf("Move: %v", err)
	}
	if _, err := c.List(context.Background(), mail.Criteria{Since: time.Now()}); !errors.Is(err, mail.ErrUnsupported) {
		t.Errorf("List since: %v", err)
	}
}

func TestDeleteTakesEffectAtQuit(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, o pop3test.Options) (*pop3test.Server, []string) {
		s := newServer(t, o)
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, s.AddMessage([]byte("Subject: m\r\n\r\nbody\r\n")))
		}
		return s, ids
	}
	t.Run("committed by Close", func(t *testing.T) {
		s, ids := setup(t, pop3test.Options{})
		c := login(t, s.Endpoint(), basic())
		if err := c.Delete(ctx, ids[:2]); err != nil {
			t.Fatal(err)
		}
		if n := len(s.Messages()); n != 3 {
			t.Errorf("before QUIT the server holds %d messages, want 3", n)
		}
		msgs, err := c.List(ctx, mail.Criteria{})
		if err != nil || len(msgs) != 1 || msgs[0].ID != ids[2] {
			t.Errorf("List after Delete = %v, %v; want only %s", msgs, err, ids[2])
		}
		if err := c.Fetch(ctx, []mail.Message{{ID: ids[0]}}, func(mail.Message, io.Reader) error { return nil }); err == nil {
			t.Error("fetching a deleted message succeeded")
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := s.UIDs(); len(got) != 1 || got[0] != ids[2] {
			t.Errorf("after QUIT the server holds %q, want [%s]", got, ids[2])
		}
	})
	t.Run("undone by Reset", func(t *testing.T) {
		s, ids := setup(t, pop3test.Options{})
		c := login(t, s.Endpoint(), basic())
		if err := c.Delete(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if err := c.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fetchAll(t, c); len(got) != 3 {
			t.Errorf("after RSET %d messages are listed, want 3", len(got))
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if n := len(s.Messages()); n != 3 {
			t.Errorf("the server holds %d messages, want 3", n)
		}
	})
	t.Run("kept when QUIT gets no answer", func(t *testing.T) {
		s, ids := setup(t, pop3test.Options{Stall: func(v string) bool { return v == "QUIT" }})
		ep := s.Endpoint()
		ep.Timeout = 200 * time.Millisecond
		c := login(t, ep, basic())
		if err := c.Delete(ctx, ids); err != nil {
			t.Fatal(err)
		}
		err := c.Close()
		if err == nil || !strings.Contains(err.Error(), "3 messages marked for deletion stay on the server") {
			t.Errorf("Close = %v", err)
		}
		if n := len(s.Messages()); n != 3 {
			t.Errorf("the server holds %d messages, want 3", n)
		}
	})
}

func TestPipelining(t *testing.T) {
	for _, off := range []bool{false, true} {
		s := newServer(t, pop3test.Options{NoPipelining: off})
		for i := 0; i < 20; i++ {
			s.AddMessage([]byte("Subject: p\r\n\r\nbody\r\n"))
		}
		c := login(t, s.Endpoint(), basic())
		if got := fetchAll(t, c); len(got) != 20 {
			t.Fatalf("fetched %d, want 20", len(got))
		}
		if err := c.Delete(context.Background(), s.UIDs()); err != nil {
			t.Fatal(err)
		}
		p := s.Stats().Pipelined
		if off && p != 0 {
			t.Errorf("without PIPELINING the client sent %d commands ahead of replies", p)
		}
		if !off && p < 30 {
			t.Errorf("with PIPELINING only %d commands were sent ahead, want most of 40 RETR/DELE", p)
		}
	}
}

func TestCallbackErrorStopsFetchAndKeepsTheSession(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	for i := 0; i < 10; i++ {
		s.AddMessage([]byte("Subject: m\r\n\r\n" + strings.Repeat("line\r\n", 1000)))
	}
	c := login(t, s.Endpoint(), basic())
	msgs, err := c.List(context.Background(), mail.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("disk full")
	calls := 0
	err = c.Fetch(context.Background(), msgs, func(m mail.Message, r io.Reader) error {
		calls++
		if calls == 3 {
			io.CopyN(io.Discard, r, 10) // read a little, then fail
			return diskFull
		}
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, diskFull) || calls != 3 {
		t.Fatalf("Fetch = %v after %d calls, want the callback's error after 3", err, calls)
	}
	if got := fetchAll(t, c); len(got) != 10 {
		t.Errorf("the session is out of step: %d messages fetched afterwards", len(got))
	}
}

func TestFetchUnknownID(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	c := login(t, s.Endpoint(), basic())
	err := c.Fetch(context.Background(), []mail.Message{{ID: "nope"}}, func(mail.Message, io.Reader) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `message "nope" is not in the mailbox`) {
		t.Errorf("got %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("silent greeting", func(t *testing.T) {
		s := newServer(t, pop3test.Options{Stall: func(v string) bool { return v == "" }})
		ep := s.Endpoint()
		ep.Timeout = 150 * time.Millisecond
		start := time.Now()
		_, err := pop3.Dial(context.Background(), ep)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "no answer from") {
			t.Fatalf("got %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	stallRETR := pop3test.Options{Stall: func(v string) bool { return v == "RETR" }}
	t.Run("silent RETR", func(t *testing.T) {
		s := newServer(t, stallRETR)
		id := s.AddMessage([]byte("Subject: x\r\n\r\nx\r\n"))
		ep := s.Endpoint()
		ep.Timeout = 150 * time.Millisecond
		c := login(t, ep, basic())
		err := c.Fetch(context.Background(), []mail.Message{{ID: id}}, func(mail.Message, io.Reader) error { return nil })
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		if err := c.Noop(context.Background()); err == nil || !strings.Contains(err.Error(), "unusable after an earlier error") {
			t.Errorf("after a timeout the connection should refuse more work: %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newServer(t, stallRETR)
		id := s.AddMessage([]byte("Subject: x\r\n\r\nx\r\n"))
		ep := s.Endpoint()
		ep.Timeout = time.Minute
		c := login(t, ep, basic())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := c.Fetch(ctx, []mail.Message{{ID: id}}, func(mail.Message, io.Reader) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cancellation took %v", d)
		}
	})
	t.Run("context ended between steps", func(t *testing.T) {
		s := newServer(t, pop3test.Options{})
		c := login(t, s.Endpoint(), basic())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Noop(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		// Nothing was sent, so the session is intact.
		if err := c.Noop(context.Background()); err != nil {
			t.Errorf("NOOP after an unused cancelled context: %v", err)
		}
	})
}

func TestTraceIsRedacted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cr      mail.Credentials
		opts    pop3test.Options
		authCmd string
	}{
		{"AUTH PLAIN", basic(), pop3test.Options{}, "pop3 C: AUTH PLAIN [redacted]\n"},
		{"USER/PASS", basic(), pop3test.Options{NoPlain: true}, "pop3 C: PASS [redacted]\n"},
		{"XOAUTH2", oauth(token), pop3test.Options{NoPlain: true}, "pop3 C: AUTH XOAUTH2\npop3 S: + \npop3 C: [redacted]\n"},
	} {
		s := newServer(t, tc.opts)
		s.AddMessage([]byte("Subject: t\r\n\r\nsecret body text\r\n"))
		var trace bytes.Buffer
		ep := s.Endpoint()
		ep.Trace = &trace
		c := login(t, ep, tc.cr)
		fetchAll(t, c)
		c.Close()
		out := trace.String()
		for _, secret := range []string{password, token, "secret body text"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the trace shows %q:\n%s", tc.name, secret, out)
			}
		}
		for _, want := range []string{"pop3 S: +OK pop3test ready.", tc.authCmd, "pop3 C: RETR 1", "pop3 S: <32 octets>", "pop3 C: QUIT"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the trace lacks %q:\n%s", tc.name, want, out)
			}
		}
	}
}
