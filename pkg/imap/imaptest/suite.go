package imaptest

import (
	"github.com/mailport/mailport/internal/heapmeter"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	mpimap "github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
)

// Fixture is a server the suite runs one test against. Its user's mailbox
// must be empty but for INBOX.
type Fixture struct {
	// Endpoint is where to connect; the suite sets Trace and Timeout.
	Endpoint mail.Endpoint
	User     string
	Password string
	// Token is an access token the server accepts for User and BadToken one
	// it refuses; an empty Token skips the OAuth2 tests.
	Token, BadToken string
	// TokenRefusal is what the server says when it refuses BadToken
	// (compared without case); empty means "AUTHENTICATE failed", the words
	// of Microsoft and of this package's server. Dovecot says
	// "Authentication failed".
	TokenRefusal string
}

func (fx *Fixture) tokenRefusal() string {
	if fx.TokenRefusal != "" {
		return fx.TokenRefusal
	}
	return "AUTHENTICATE failed"
}

// Features are what a test needs a server to do differently from the default.
type Features struct {
	NoMove    bool // no MOVE capability (nor IMAP4rev2)
	NoUIDPlus bool // no UIDPLUS capability (nor IMAP4rev2)
	NoXOAUTH2 bool // AUTH=OAUTHBEARER offered, AUTH=XOAUTH2 not
	// Isolated: the server runs outside the test process, so the client's
	// heap can be measured alone.
	Isolated bool
}

// Factory gives one test a server with the features asked for and an empty
// mailbox, or calls t.Skip when it cannot.
type Factory func(t *testing.T, f Features) *Fixture

// RunSuite runs the IMAP adapter's tests against the servers factory makes.
func RunSuite(t *testing.T, factory Factory) {
	tests := []struct {
		name string
		f    func(*testing.T, Factory)
	}{
		{"GreetingAndCapabilities", testGreeting},
		{"PasswordLogin", testPasswordLogin},
		{"PasswordRefused", testPasswordRefused},
		{"XOAUTH2", testXOAUTH2},
		{"OAUTHBEARERWhenNoXOAUTH2", testOAuthBearer},
		{"TraceHasNoSecrets", testTraceRedacted},
		{"FolderMapping", testFolders},
		{"ListUnseenSince", testList},
		{"FetchByteExact", testFetchExact},
		{"FetchBatchesAndCallbackError", testFetchBatches},
		{"MarkSeen", testMarkSeen},
		{"MoveWithMOVE", func(t *testing.T, f Factory) { testMove(t, f, false) }},
		{"MoveWithoutMOVE", func(t *testing.T, f Factory) { testMove(t, f, true) }},
		{"DeleteWithUIDPLUS", func(t *testing.T, f Factory) { testDelete(t, f, false) }},
		{"DeleteWithoutUIDPLUS", func(t *testing.T, f Factory) { testDelete(t, f, true) }},
		{"CancelMidMessage", testCancel},
		{"StreamingMemoryFlat", testStreamingMemory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, factory) })
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects to the fixture with a transcript kept in trace (may be nil).
func dial(t *testing.T, fx *Fixture, trace io.Writer) *mpimap.Client {
	t.Helper()
	ep := fx.Endpoint
	ep.Trace = trace
	ep.Timeout = 10 * time.Second
	c, err := mpimap.Dial(ctxFor(t), ep)
	if err != nil {
		t.Fatalf("Dial %s: %v", ep.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func password(fx *Fixture) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthBasic, Username: fx.User, Password: fx.Password}
}

func oauth(fx *Fixture, token string) mail.Credentials {
	return mail.Credentials{Kind: mail.AuthOAuth2, Username: fx.User, Token: func(context.Context) (string, error) { return token, nil }}
}

// login dials and logs in with the password.
func login(t *testing.T, fx *Fixture) *mpimap.Client {
	t.Helper()
	c := dial(t, fx, nil)
	if err := c.Authenticate(ctxFor(t), password(fx)); err != nil {
		t.Fatalf("Authenticate with password: %v", err)
	}
	return c
}

// msg builds a small CRLF message.
func msg(subject, body string) []byte {
	return []byte("From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\n" + body + "\r\n")
}

func testGreeting(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	c := dial(t, fx, nil)
	if g := c.Greeting(); !strings.HasPrefix(g, "* OK") {
		t.Errorf("Greeting() = %q, want the server's \"* OK ...\" line", g)
	}
	caps, err := c.Capabilities(ctxFor(t))
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	if !contains(caps, "IMAP4REV1") {
		t.Errorf("Capabilities() = %v, want IMAP4REV1 among them", caps)
	}
	for _, cp := range caps {
		if cp != strings.ToUpper(cp) {
			t.Errorf("capability %q is not upper-cased", cp)
		}
	}
	if fx.Token != "" && !contains(caps, "AUTH=XOAUTH2") {
		t.Errorf("Capabilities() = %v, want AUTH=XOAUTH2 from a server that takes tokens", caps)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func testPasswordLogin(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	c := login(t, fx)
	f, err := c.Open(ctxFor(t), "")
	if err != nil {
		t.Fatalf("Open(\"\") after login: %v", err)
	}
	if f.Name != "INBOX" || f.Count != 0 {
		t.Errorf("Open(\"\") = %+v, want INBOX with 0 messages", f)
	}
}

// refused checks err is an AuthError and that the connection is not left hanging.
func refused(t *testing.T, c *mpimap.Client, err error, mech, words string) *mail.AuthError {
	t.Helper()
	var ae *mail.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("Authenticate error = %v (%T), want *mail.AuthError", err, err)
	}
	if ae.Mechanism != mech {
		t.Errorf("AuthError.Mechanism = %q, want %q", ae.Mechanism, mech)
	}
	if !strings.Contains(strings.ToLower(ae.Text), strings.ToLower(words)) {
		t.Errorf("AuthError.Text = %q, want the server's words %q", ae.Text, words)
	}
	start := time.Now()
	if _, err := c.Open(ctxFor(t), "INBOX"); err == nil {
		t.Errorf("Open after a refused login succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open after a refused login took %s; the connection should fail at once", d)
	}
	return ae
}

func testPasswordRefused(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	c := dial(t, fx, nil)
	err := c.Authenticate(ctxFor(t), mail.Credentials{Kind: mail.AuthBasic, Username: fx.User, Password: fx.Password + "-wrong"})
	refused(t, c, err, "LOGIN", "Authentication failed")
}

func testXOAUTH2(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	if fx.Token == "" {
		t.Skip("the server takes no OAuth2 tokens")
	}
	c := dial(t, fx, nil)
	if err := c.Authenticate(ctxFor(t), oauth(fx, fx.Token)); err != nil {
		t.Fatalf("Authenticate with a good token: %v", err)
	}
	if _, err := c.Open(ctxFor(t), "INBOX"); err != nil {
		t.Fatalf("Open after XOAUTH2: %v", err)
	}

	c = dial(t, fx, nil)
	ae := refused(t, c, c.Authenticate(ctxFor(t), oauth(fx, fx.BadToken)), "XOAUTH2", fx.tokenRefusal())
	if !strings.Contains(ae.Challenge, `"status"`) {
		t.Errorf("AuthError.Challenge = %q, want the server's decoded JSON challenge", ae.Challenge)
	}
}

func testOAuthBearer(t *testing.T, factory Factory) {
	fx := factory(t, Features{NoXOAUTH2: true})
	if fx.Token == "" {
		t.Skip("the server takes no OAuth2 tokens")
	}
	c := dial(t, fx, nil)
	if err := c.Authenticate(ctxFor(t), oauth(fx, fx.Token)); err != nil {
		t.Fatalf("Authenticate with a good token over OAUTHBEARER: %v", err)
	}
	c = dial(t, fx, nil)
	refused(t, c, c.Authenticate(ctxFor(t), oauth(fx, fx.BadToken)), "OAUTHBEARER", fx.tokenRefusal())
}

// syncBuffer is a trace sink written from imapclient's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testTraceRedacted(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	var trace syncBuffer
	c := dial(t, fx, &trace)
	if err := c.Authenticate(ctxFor(t), password(fx)); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	c.Close()
	secrets := []string{fx.Password}
	if fx.Token != "" {
		for _, tok := range []string{fx.Token, fx.BadToken} {
			c := dial(t, fx, &trace)
			c.Authenticate(ctxFor(t), oauth(fx, tok))
			c.Close()
			secrets = append(secrets, tok, base64.StdEncoding.EncodeToString(mail.XOAUTH2Payload(fx.User, tok)))
		}
	}
	out := trace.String()
	if !strings.Contains(out, "LOGIN") {
		t.Fatalf("trace has no LOGIN command; is it written at all?\n%s", out)
	}
	if fx.Token != "" && !strings.Contains(out, "AUTHENTICATE") {
		t.Fatalf("trace has no AUTHENTICATE command:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("trace contains the secret %q:\n%s", s, out)
		}
	}
}

func testFolders(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	a.Create("INBOX/Endpoint")
	a.Append("INBOX/Endpoint", msg("one", "1"), nil, time.Time{})
	a.Append("INBOX/Endpoint", msg("two", "2"), nil, time.Time{})
	a.Append("INBOX", msg("inbox", "0"), nil, time.Time{})
	c := login(t, fx)
	ctx := ctxFor(t)

	f, err := c.Open(ctx, "Inbox/Endpoint")
	if err != nil {
		t.Fatalf("Open(Inbox/Endpoint): %v", err)
	}
	if f.Name != "Inbox/Endpoint" || f.Count != 2 || f.Validity == "" || strings.Trim(f.Validity, "0123456789") != "" {
		t.Errorf("Open(Inbox/Endpoint) = %+v, want the path as configured, 2 messages and a decimal UIDVALIDITY", f)
	}
	again, err := c.Open(ctx, "Inbox/Endpoint")
	if err != nil || again.Validity != f.Validity {
		t.Errorf("reopening gave %+v, %v; want the same validity %s", again, err, f.Validity)
	}
	for _, name := range []string{"inbox", "INBOX", "Inbox", ""} {
		f, err := c.Open(ctx, name)
		if err != nil || f.Count != 1 {
			t.Errorf("Open(%q) = %+v, %v; want INBOX with 1 message", name, f, err)
		}
	}
	for path, missing := range map[string]string{"Inbox/Missing": "Missing", "Nope/Deeper": "Nope", "Inbox/Endpoint/Sub": "Sub"} {
		_, err := c.Open(ctx, path)
		var nf *mail.FolderNotFoundError
		if !errors.As(err, &nf) || nf.Missing != missing || nf.Path != path {
			t.Errorf("Open(%q) error = %v, want a FolderNotFoundError naming %q", path, err, missing)
		}
	}
	// A failed SELECT leaves no folder open; a good one works again after it.
	if _, err := c.Open(ctx, "Inbox/Endpoint"); err != nil {
		t.Fatalf("Open after a missing folder: %v", err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("List = %v, %v; want 2 messages", msgs, err)
	}
	err = c.Move(ctx, []string{msgs[0].ID}, "Inbox/NoSuchFolder")
	var nf *mail.FolderNotFoundError
	if !errors.As(err, &nf) || nf.Missing != "NoSuchFolder" {
		t.Errorf("Move to a missing folder: error = %v, want a FolderNotFoundError naming NoSuchFolder", err)
	}
	if got := a.UIDs("INBOX/Endpoint"); len(got) != 2 {
		t.Errorf("after a failed move the folder holds %v, want both messages", got)
	}
}

func testList(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	d1 := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	d2 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	d3 := time.Date(2024, 9, 1, 23, 30, 0, 0, time.UTC)
	raws := [][]byte{msg("old", "old"), msg("seen", "seen mid"), msg("new", "the newest one")}
	a.Append("INBOX", raws[0], nil, d1)
	a.Append("INBOX", raws[1], []imap.Flag{imap.FlagSeen}, d2)
	a.Append("INBOX", raws[2], nil, d3)
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	all, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(all) != 3 {
		t.Fatalf("List() = %v, want 3 messages", all)
	}
	dates := []time.Time{d1, d2, d3}
	for i, m := range all {
		if m.Size != int64(len(raws[i])) || !m.Received.Equal(dates[i]) {
			t.Errorf("message %d = %+v, want size %d received %s", i, m, len(raws[i]), dates[i])
		}
		if i > 0 && len(m.ID) < len(all[i-1].ID) || i > 0 && len(m.ID) == len(all[i-1].ID) && m.ID <= all[i-1].ID {
			t.Errorf("List is not in ascending UID order: %v", all)
		}
	}
	check := func(cr mail.Criteria, want ...int) {
		t.Helper()
		got, err := c.List(ctx, cr)
		if err != nil {
			t.Fatalf("List(%+v): %v", cr, err)
		}
		var ids []string
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		var wantIDs []string
		for _, i := range want {
			wantIDs = append(wantIDs, all[i].ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Errorf("List(%+v) = %v, want %v", cr, ids, wantIDs)
		}
	}
	check(mail.Criteria{Unseen: true}, 0, 2)
	check(mail.Criteria{Since: time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC)}, 1, 2)
	check(mail.Criteria{Since: d2.Add(time.Hour)}, 2)
	check(mail.Criteria{Unseen: true, Since: time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC)}, 2)
	check(mail.Criteria{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
}

// TrickyMessages are messages that naive clients corrupt.
func TrickyMessages() map[string][]byte {
	long := strings.Repeat("0123456789", 1024) // one 10 KB line
	return map[string][]byte{
		"dot lines":        []byte("Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n. \r\nend\r\n.\r\n"),
		"10KB line":        []byte("Subject: long\r\n\r\n" + long + "\r\nafter\r\n"),
		"8-bit":            []byte("Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße, naïve café – 日本語\r\nlatin1: \xe9\xe8\xff\r\n"),
		"CRLF only":        []byte("Subject: crlf\r\n\r\nline one\r\n\r\n\r\nline after blanks\r\n \r\n\tindented\r\n"),
		"From line":        []byte("Subject: mbox\r\n\r\nFrom the start\r\n>From quoted\r\n"),
		"no final newline": []byte("Subject: nofinal\r\n\r\nlast line without CRLF"),
		"folded header":    []byte("Subject: a folded\r\n subject line\r\nX-Long: a\r\n\tb\r\n\r\nbody\r\n"),
	}
}

func testFetchExact(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	tricky := TrickyMessages()
	names := make([]string, 0, len(tricky))
	for name := range tricky {
		names = append(names, name)
	}
	for _, name := range names {
		a.Append("INBOX", tricky[name], nil, time.Time{})
	}
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != len(names) {
		t.Fatalf("List = %v, %v; want %d messages", msgs, err, len(names))
	}
	i := 0
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		got, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if m.ID != msgs[i].ID {
			t.Errorf("message %d delivered as %s, want %s", i, m.ID, msgs[i].ID)
		}
		if want := tricky[names[i]]; !bytes.Equal(got, want) {
			t.Errorf("%s: fetched %q, want %q", names[i], abbrev(got), abbrev(want))
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if i != len(names) {
		t.Errorf("Fetch delivered %d messages, want %d", i, len(names))
	}
	for _, s := range a.Messages("INBOX", false) {
		if s.Seen() {
			t.Errorf("UID %d is \\Seen after Fetch; BODY.PEEK must leave it unseen", s.UID)
		}
	}
}

func abbrev(b []byte) string {
	if len(b) > 120 {
		return string(b[:60]) + fmt.Sprintf("...(%d bytes)...", len(b)) + string(b[len(b)-60:])
	}
	return string(b)
}

func testFetchBatches(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	const n = 2*mpimap.BatchSize + 17
	for i := range n {
		a.Append("INBOX", msg(fmt.Sprintf("m%03d", i), strings.Repeat("x", i*37)), nil, time.Time{})
	}
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != n {
		t.Fatalf("List = %d messages, %v; want %d", len(msgs), err, n)
	}
	// The server decides the order (Dovecot may interleave the pipelined
	// batches), so each message is checked against its own ID: List gives
	// ascending UIDs, which is the order they were appended in.
	index := make(map[string]int, n)
	for i, m := range msgs {
		index[m.ID] = i
	}
	delivered := map[string]bool{}
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		got, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		i, ok := index[m.ID]
		if !ok || delivered[m.ID] {
			t.Errorf("message ID %s delivered unasked or twice", m.ID)
			return nil
		}
		delivered[m.ID] = true
		if want := msg(fmt.Sprintf("m%03d", i), strings.Repeat("x", i*37)); !bytes.Equal(got, want) {
			t.Errorf("message ID %s: got %d bytes, want message %d (%d bytes)", m.ID, len(got), i, len(want))
		}
		return nil
	})
	if err != nil || len(delivered) != n {
		t.Fatalf("Fetch delivered %d of %d messages: %v", len(delivered), n, err)
	}

	// A callback error stops the fetch and leaves the connection usable.
	boom := errors.New("disk full")
	var done []string
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		if len(done) == mpimap.BatchSize+3 {
			io.CopyN(io.Discard, r, 10) // read part of it only
			return boom
		}
		done = append(done, m.ID)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Fetch error = %v, want the callback's error", err)
	}
	if len(done) != mpimap.BatchSize+3 {
		t.Errorf("Fetch called back %d times after the error, want it to stop", len(done)-mpimap.BatchSize-3)
	}
	if err := c.MarkSeen(ctx, done); err != nil {
		t.Fatalf("MarkSeen on the same connection after a callback error: %v", err)
	}
	seen := 0
	for _, s := range a.Messages("INBOX", false) {
		if s.Seen() {
			seen++
		}
	}
	if seen != len(done) {
		t.Errorf("%d messages are \\Seen, want %d", seen, len(done))
	}

	// Messages gone from the server are reported, the others delivered.
	ghost := append([]mail.Message{{ID: "999999"}}, msgs[:2]...)
	got := 0
	err = c.Fetch(ctx, ghost, func(m mail.Message, r io.Reader) error { got++; _, err := io.Copy(io.Discard, r); return err })
	var gone *mpimap.GoneError
	if !errors.As(err, &gone) || len(gone.IDs) != 1 || gone.IDs[0] != "999999" || got != 2 {
		t.Errorf("Fetch with a vanished UID: delivered %d, error %v; want 2 delivered and a GoneError for 999999", got, err)
	}
}

func testMarkSeen(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	for i := range 3 {
		a.Append("INBOX", msg(fmt.Sprint("s", i), "x"), nil, time.Time{})
	}
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("List = %v, %v", msgs, err)
	}
	if err := c.MarkSeen(ctx, []string{msgs[0].ID, msgs[2].ID}); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	st := a.Messages("INBOX", false)
	if len(st) != 3 || !st[0].Seen() || st[1].Seen() || !st[2].Seen() {
		t.Errorf("after MarkSeen of the 1st and 3rd message the flags are %+v", st)
	}
	unseen, err := c.List(ctx, mail.Criteria{Unseen: true})
	if err != nil || len(unseen) != 1 || unseen[0].ID != msgs[1].ID {
		t.Errorf("List(Unseen) = %v, %v; want only %s", unseen, err, msgs[1].ID)
	}
}

func testMove(t *testing.T, factory Factory, noMove bool) {
	fx := factory(t, Features{NoMove: noMove})
	a := NewAdmin(t, fx)
	a.Create("INBOX/Archive")
	raws := [][]byte{msg("m0", "zero"), msg("m1", "one"), msg("m2", "two")}
	for _, r := range raws {
		a.Append("INBOX", r, nil, time.Time{})
	}
	c := login(t, fx)
	ctx := ctxFor(t)
	caps, err := c.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if noMove && contains(caps, "MOVE") {
		t.Fatalf("server offers MOVE: %v", caps)
	}
	if _, err := c.Open(ctx, "inbox"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("List = %v, %v", msgs, err)
	}
	if err := c.Move(ctx, []string{msgs[0].ID, msgs[2].ID}, "Inbox/Archive"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	left := a.Messages("INBOX", true)
	if len(left) != 1 || !bytes.Equal(left[0].Raw, raws[1]) {
		t.Errorf("INBOX after Move holds %d messages, want only the middle one", len(left))
	}
	moved := a.Messages("INBOX/Archive", true)
	if len(moved) != 2 || !bytes.Equal(moved[0].Raw, raws[0]) || !bytes.Equal(moved[1].Raw, raws[2]) {
		t.Errorf("Archive after Move holds %d messages, want the first and last, byte for byte", len(moved))
	}
	// The rest of the session still works.
	rest, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(rest) != 1 || rest[0].ID != msgs[1].ID {
		t.Errorf("List after Move = %v, %v; want only %s", rest, err, msgs[1].ID)
	}
}

func testDelete(t *testing.T, factory Factory, noUIDPlus bool) {
	fx := factory(t, Features{NoUIDPlus: noUIDPlus})
	a := NewAdmin(t, fx)
	raws := [][]byte{msg("d0", "zero"), msg("d1", "one"), msg("d2", "two")}
	for _, r := range raws {
		a.Append("INBOX", r, nil, time.Time{})
	}
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("List = %v, %v", msgs, err)
	}
	if err := c.Delete(ctx, []string{msgs[0].ID, msgs[1].ID}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	left := a.Messages("INBOX", true)
	if len(left) != 1 || !bytes.Equal(left[0].Raw, raws[2]) {
		t.Errorf("INBOX after Delete holds %d messages, want only the last one", len(left))
	}
}

// bigMessage is a message of about size bytes with a base64 attachment,
// generated line by line.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := make([]byte, 57)
	for i := 0; b.Len() < size; i++ {
		for j := range line {
			line[j] = byte(i*7 + j)
		}
		b.WriteString(base64.StdEncoding.EncodeToString(line))
		b.WriteString("\r\n")
	}
	b.WriteString("--B--\r\n")
	return b.Bytes()
}

func testCancel(t *testing.T, factory Factory) {
	fx := factory(t, Features{})
	a := NewAdmin(t, fx)
	a.Append("INBOX", bigMessage(4<<20), nil, time.Time{})
	c := login(t, fx)
	if _, err := c.Open(ctxFor(t), "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctxFor(t), mail.Criteria{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List = %v, %v", msgs, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		io.CopyN(io.Discard, r, 64<<10)
		cancel()
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "closed") {
		t.Errorf("Fetch after cancel: error = %v, want it to say the fetch was cancelled", err)
	}
	if err == nil {
		t.Errorf("Fetch after cancel returned no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %s to notice the cancel", d)
	}
	if _, err := c.List(ctxFor(t), mail.Criteria{}); err == nil {
		t.Errorf("List on a cancelled connection succeeded; it should report the closed connection")
	}
}

func testStreamingMemory(t *testing.T, factory Factory) {
	if testing.Short() {
		t.Skip("moves 60 MB")
	}
	fx := factory(t, Features{Isolated: true})
	big := bigMessage(30 << 20)
	want := sha256.Sum256(big)
	a := NewAdmin(t, fx)
	a.Append("INBOX", big, nil, time.Time{})
	big = nil
	c := login(t, fx)
	ctx := ctxFor(t)
	if _, err := c.Open(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil || len(msgs) != 1 || msgs[0].Size < 30<<20 {
		t.Fatalf("List = %v, %v; want one 30 MB message", msgs, err)
	}

	measure := func(consume func(io.Reader) ([32]byte, error)) ([32]byte, int64) {
		var sum [32]byte
		m := heapmeter.Start()
		err := c.Fetch(ctx, msgs, func(_ mail.Message, r io.Reader) error {
			var err error
			sum, err = consume(r)
			return err
		})
		g := m.Stop()
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		return sum, g
	}

	sum, growth := measure(func(r io.Reader) ([32]byte, error) {
		h := sha256.New()
		_, err := io.Copy(h, r)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		return s, err
	})
	if sum != want {
		t.Errorf("the streamed 30 MB message differs from what was stored")
	}
	const limit = 8 << 20
	t.Logf("peak heap growth while streaming 30 MB: %.1f MB", float64(growth)/(1<<20))
	if growth > limit {
		t.Errorf("heap grew by %.1f MB while streaming a 30 MB message, want under %d MB", float64(growth)/(1<<20), limit>>20)
	}

	// The meter must see a whole message held in memory, or the check above
	// proves nothing.
	_, buffered := measure(func(r io.Reader) ([32]byte, error) {
		b, err := io.ReadAll(r)
		return sha256.Sum256(b), err
	})
	if buffered < 30<<20 {
		t.Errorf("the heap meter saw only %.1f MB while a 30 MB message was buffered; it cannot be trusted", float64(buffered)/(1<<20))
	}
}
