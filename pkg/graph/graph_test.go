package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/mail"
)

const (
	alice  = "alice@example.com"
	bob    = "bob@example.com"
	shared = "support@example.com"
)

func rawMessage(subject string) []byte {
	return []byte("From: Carol <carol@example.org>\r\nTo: alice@example.com\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n\r\nHello " + subject + "\r\n")
}

type fixture struct {
	srv    *graphtest.Server
	token  string
	sleeps []time.Duration
	mu     sync.Mutex
}

func newFixture(t *testing.T, opts graphtest.Options) *fixture {
	t.Helper()
	f := &fixture{srv: graphtest.New(t, opts)}
	f.srv.AddUser(alice)
	f.srv.AddUser(bob)
	f.srv.AddUser(shared)
	f.token = f.srv.IssueToken(alice)
	return f
}

// client returns an authenticated client for alice opening login's mailbox.
func (f *fixture) client(t *testing.T, login string, mod func(*graph.Options)) *graph.Client {
	t.Helper()
	opts := graph.Options{
		BaseURL:   f.srv.URL,
		Login:     login,
		TokenUser: alice,
		TempDir:   t.TempDir(),
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			f.sleeps = append(f.sleeps, d)
			f.mu.Unlock()
			return nil
		},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := graph.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tok := f.token
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2, Username: login,
		Token: func(context.Context) (string, error) { return tok, nil }})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

// fetchAll lists and fetches a folder, returning subjects' bodies in order.
func fetchAll(t *testing.T, c *graph.Client, cr mail.Criteria) ([]mail.Message, []string) {
	t.Helper()
	ctx := context.Background()
	msgs, err := c.List(ctx, cr)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var bodies []string
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		bodies = append(bodies, string(b))
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return msgs, bodies
}

func TestOpenFolderPaths(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	f.srv.AddMessage(alice, "Inbox", rawMessage("in inbox"))
	f.srv.AddMessage(alice, "Inbox/Endpoint", rawMessage("in endpoint"))
	f.srv.AddMessage(alice, "Inbox/Endpoint", rawMessage("in endpoint 2"))
	f.srv.AddMessage(alice, "Inbox/A/B/C", rawMessage("deep"))
	f.srv.AddMessage(alice, "Inbox/Bob's 'quoted' mail", rawMessage("quote"))
	f.srv.AddMessage(alice, "Projects/2024", rawMessage("top level"))
	c := f.client(t, alice, nil)
	ctx := context.Background()

	cases := []struct {
		path, want string
		count      int
	}{
		{"", "Hello in inbox", 1},
		{"INBOX", "Hello in inbox", 1},
		{"Inbox/Endpoint", "Hello in endpoint", 2},
		{"inbox/endpoint/", "Hello in endpoint", 2},
		{"Inbox/A/B/C", "Hello deep", 1},
		{"Inbox/Bob's 'quoted' mail", "Hello quote", 1},
		{"Projects/2024", "Hello top level", 1},
	}
	for _, tc := range cases {
		folder, err := c.Open(ctx, tc.path)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.path, err)
		}
		if folder.Count != tc.count || folder.Validity != "" {
			t.Errorf("Open(%q) = %+v, want Count %d and no Validity", tc.path, folder, tc.count)
		}
		_, bodies := fetchAll(t, c, mail.Criteria{})
		if len(bodies) != tc.count || !strings.Contains(bodies[0], tc.want) {
			t.Errorf("Open(%q) then Fetch: got %q, want %d message(s), the first with %q", tc.path, bodies, tc.count, tc.want)
		}
	}

	for _, tc := range []struct{ path, missing string }{
		{"Inbox/Endpoint/Nope", "Nope"},
		{"Inbox/Missing/Endpoint", "Missing"},
		{"Nowhere", "Nowhere"},
	} {
		_, err := c.Open(ctx, tc.path)
		var nf *mail.FolderNotFoundError
		if !errors.As(err, &nf) || nf.Missing != tc.missing || nf.Path != tc.path {
			t.Fatalf("Open(%q) = %v, want FolderNotFoundError naming %q", tc.path, err, tc.missing)
		}
		if !strings.Contains(err.Error(), `"`+tc.missing+`"`) {
			t.Errorf("error %q does not name %q", err, tc.missing)
		}
	}
}

func TestListPagingFollowsNextLink(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	want := make([]string, 2500)
	// Added newest first so that the server's insertion order is not the answer.
	for i := len(want) - 1; i >= 0; i-- {
		want[i] = f.srv.AddMessageWith(alice, "Inbox", graphtest.Message{
			Raw: rawMessage(fmt.Sprintf("m%04d", i)), Received: base.Add(time.Duration(i) * time.Minute)})
	}
	c := f.client(t, alice, func(o *graph.Options) { o.PageSize = 300 })
	if _, err := c.Open(context.Background(), "Inbox"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(context.Background(), mail.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(want) {
		t.Fatalf("List returned %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.ID != want[i] {
			t.Fatalf("message %d: id %s, want %s (oldest first)", i, m.ID, want[i])
		}
		if !m.Received.Equal(base.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("message %d received %v", i, m.Received)
		}
		if m.Size != int64(len(rawMessage(fmt.Sprintf("m%04d", i)))) {
			t.Fatalf("message %d size %d", i, m.Size)
		}
	}
	if pages := f.srv.Count("GET", "/messages"); pages != 9 { // ceil(2500/300)
		t.Errorf("%d page requests, want 9", pages)
	}
}

func TestListUnseenAndSince(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ids := map[string]string{}
	for i, spec := range []struct {
		name string
		read bool
	}{{"old-read", true}, {"old-unread", false}, {"new-read", true}, {"new-unread", false}} {
		ids[spec.name] = f.srv.AddMessageWith(alice, "Inbox/Endpoint", graphtest.Message{
			Raw: rawMessage(spec.name), IsRead: spec.read, Received: base.Add(time.Duration(i) * 24 * time.Hour)})
	}
	c := f.client(t, alice, nil)
	if _, err := c.Open(context.Background(), "Inbox/Endpoint"); err != nil {
		t.Fatal(err)
	}
	since := base.Add(48 * time.Hour)
	for _, tc := range []struct {
		cr   mail.Criteria
		want []string
	}{
		{mail.Criteria{}, []string{"old-read", "old-unread", "new-read", "new-unread"}},
		{mail.Criteria{Unseen: true}, []string{"old-unread", "new-unread"}},
		{mail.Criteria{Since: since}, []string{"new-read", "new-unread"}},
		{mail.Criteria{Unseen: true, Since: since}, []string{"new-unread"}},
	} {
		msgs, err := c.List(context.Background(), tc.cr)
		if err != nil {
			t.Fatalf("List(%+v): %v", tc.cr, err)
		}
		var got []string
		for _, m := range msgs {
			for name, id := range ids {
				if id == m.ID {
					got = append(got, name)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("List(%+v) = %v, want %v", tc.cr, got, tc.want)
		}
	}
}

func TestMarkSeenMoveDelete(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	a := f.srv.AddMessage(alice, "Inbox", rawMessage("a"))
	b := f.srv.AddMessage(alice, "Inbox", rawMessage("b"))
	d := f.srv.AddMessage(alice, "Inbox", rawMessage("d"))
	f.srv.AddFolder(alice, "Inbox/Done")
	c := f.client(t, alice, nil)
	ctx := context.Background()

	if err := c.MarkSeen(ctx, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(ctx, "Inbox"); err != nil {
		t.Fatal(err)
	}
	unseen, err := c.List(ctx, mail.Criteria{Unseen: true})
	if err != nil || len(unseen) != 1 || unseen[0].ID != d {
		t.Fatalf("after MarkSeen, unseen = %v, %v; want only %s", unseen, err, d)
	}

	moved, err := c.MoveMessages(ctx, []string{a}, "Inbox/Done")
	if err != nil {
		t.Fatal(err)
	}
	if moved[a] == "" || moved[a] == a {
		t.Errorf("move returned new id %q for %q; Graph gives moved messages a new id", moved[a], a)
	}
	if err := c.Move(ctx, []string{b}, "deleteditems"); err != nil {
		t.Fatal(err)
	}
	done := f.srv.Messages(alice, "Inbox/Done")
	if len(done) != 1 || done[0].Subject != "a" || done[0].ID != moved[a] {
		t.Errorf("Inbox/Done holds %+v, want message a under id %s", done, moved[a])
	}
	if del := f.srv.Messages(alice, "Deleted Items"); len(del) != 1 || del[0].Subject != "b" {
		t.Errorf("Deleted Items holds %+v, want message b", del)
	}
	if err := c.Move(ctx, []string{d}, "Inbox/Nope"); err == nil || !strings.Contains(err.Error(), `"Nope"`) {
		t.Errorf("move to a missing folder: %v, want an error naming Nope", err)
	}

	if err := c.Delete(ctx, []string{d}); err != nil {
		t.Fatal(err)
	}
	if in := f.srv.Messages(alice, "Inbox"); len(in) != 0 {
		t.Errorf("Inbox still holds %+v after move and delete", in)
	}
	err = c.Delete(ctx, []string{d})
	if graph.ErrorCode(err) != graph.CodeItemNotFound {
		t.Errorf("deleting again: %v, want %s", err, graph.CodeItemNotFound)
	}
}

func TestSharedMailbox(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	f.srv.AddMessage(shared, "Inbox", rawMessage("for support"))

	// No grant: Graph refuses with 403 ErrorAccessDenied, an authentication failure.
	c, err := graph.New(graph.Options{BaseURL: f.srv.URL, Login: shared, TokenUser: alice})
	if err != nil {
		t.Fatal(err)
	}
	if c.MailboxPath() != "/users/support@example.com" {
		t.Fatalf("mailbox path %q", c.MailboxPath())
	}
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2,
		Token: func(context.Context) (string, error) { return f.token, nil }})
	var ae *mail.AuthError
	var ge *graph.Error
	if !errors.As(err, &ae) || !errors.As(err, &ge) || ge.StatusCode != 403 || ge.Code != graph.CodeAccessDenied {
		t.Fatalf("Authenticate without grant = %v, want a mail.AuthError with Graph 403 %s", err, graph.CodeAccessDenied)
	}
	if !strings.Contains(ae.Text, "ErrorAccessDenied: Access is denied.") {
		t.Errorf("AuthError text %q does not keep Graph's words", ae.Text)
	}

	f.srv.Grant(alice, shared)
	c = f.client(t, shared, nil)
	if _, err := c.Open(context.Background(), "Inbox"); err != nil {
		t.Fatal(err)
	}
	_, bodies := fetchAll(t, c, mail.Criteria{})
	if len(bodies) != 1 || !strings.Contains(bodies[0], "Hello for support") {
		t.Errorf("shared mailbox fetch = %q", bodies)
	}
	for _, r := range f.srv.Requests() {
		if strings.HasPrefix(r.Path, "/me") {
			t.Errorf("request %s %s went to /me, not the shared mailbox", r.Method, r.Path)
		}
	}

	// Same user, different case: /me.
	c2, _ := graph.New(graph.Options{BaseURL: f.srv.URL, Login: "Alice@Example.com", TokenUser: alice})
	if c2.MailboxPath() != "/me" {
		t.Errorf("login equal to token user: path %q, want /me", c2.MailboxPath())
	}
}

func TestAuthenticateBadToken(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	c, _ := graph.New(graph.Options{BaseURL: f.srv.URL})
	err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2,
		Token: func(context.Context) (string, error) { return "not-a-token", nil }})
	var ae *mail.AuthError
	if !errors.As(err, &ae) || graph.ErrorCode(err) != graph.CodeInvalidAuthToken {
		t.Fatalf("Authenticate with a bad token = %v, want AuthError with %s", err, graph.CodeInvalidAuthToken)
	}
	err = c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "oauth2") {
		t.Errorf("basic credentials: %v, want an error pointing at auth oauth2", err)
	}
}

func TestThrottlingRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		retryAfter string
		want       []time.Duration
	}{
		{"fractional", 2, "0.25", []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		{"whole seconds", 1, "3", []time.Duration{3 * time.Second}},
		{"missing: exponential backoff", 3, "", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, graphtest.Options{})
			f.srv.AddMessage(alice, "Inbox", rawMessage("x"))
			c := f.client(t, alice, nil)
			f.srv.Throttle(tc.n, tc.retryAfter)
			if _, err := c.Open(context.Background(), "Inbox"); err != nil {
				t.Fatalf("Open while throttled: %v", err)
			}
			if fmt.Sprint(f.sleeps) != fmt.Sprint(tc.want) {
				t.Errorf("slept %v, want %v", f.sleeps, tc.want)
			}
			if st := f.srv.Stats(); st.Throttled != tc.n {
				t.Errorf("fake throttled %d requests, want %d", st.Throttled, tc.n)
			}
		})
	}

	t.Run("exhausted", func(t *testing.T) {
		f := newFixture(t, graphtest.Options{})
		c := f.client(t, alice, func(o *graph.Options) { o.MaxRetries = 2 })
		f.srv.Throttle(10, "1")
		before := f.srv.Stats().Requests
		_, err := c.Open(context.Background(), "Inbox")
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.StatusCode != 429 || ge.Code != graph.CodeApplicationThrottled {
			t.Fatalf("Open = %v, want the 429 ApplicationThrottled error", err)
		}
		if !strings.Contains(err.Error(), "gave up after 2 retries") {
			t.Errorf("error %q does not say it retried", err)
		}
		if n := f.srv.Stats().Requests - before; n != 3 {
			t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
		}
	})

	t.Run("backoff capped", func(t *testing.T) {
		f := newFixture(t, graphtest.Options{})
		c := f.client(t, alice, func(o *graph.Options) { o.MaxRetries = 8 })
		f.srv.Throttle(8, "")
		if _, err := c.Open(context.Background(), "Inbox"); err != nil {
			t.Fatal(err)
		}
		for _, d := range f.sleeps {
			if d > 32*time.Second {
				t.Errorf("backoff %v above the 32s cap", d)
			}
		}
		if last := f.sleeps[len(f.sleeps)-1]; last != 32*time.Second {
			t.Errorf("last backoff %v, want the 32s cap", last)
		}
	})
}

func TestIdMalformed(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	c := f.client(t, alice, nil)
	// The seed's troubleshooting entry: a folder value used where an id belongs.
	err := c.MarkSeen(context.Background(), []string{"Inbox/Endpoint"})
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("MarkSeen with a folder path as id = %v, want *graph.Error", err)
	}
	if ge.StatusCode != 400 || ge.Code != graph.CodeInvalidIDMalformed || ge.Message != "Id is malformed." || ge.RequestID == "" {
		t.Errorf("got %+v, want 400 ErrorInvalidIdMalformed \"Id is malformed.\" with a request id", ge)
	}
	if !strings.Contains(err.Error(), "Id is malformed.") {
		t.Errorf("error text %q lacks Graph's words", err)
	}
}

func TestSendDeliversIdenticalMIME(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	c := f.client(t, alice, nil)
	raw := []byte("From: alice@example.com\r\nTo: Bob <bob@example.com>\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n" +
		"Message-ID: <send-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Grüße\r\n.leading dot\r\n" + strings.Repeat("x", 10000) + "\r\n")
	err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{bob}}, bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	in := f.srv.Messages(bob, "Inbox")
	if len(in) != 1 {
		t.Fatalf("bob's inbox holds %d messages, want 1", len(in))
	}
	got, err := f.srv.Content(in[0].ID)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("delivered MIME differs from what was sent (err %v)\n got %q\nwant %q", err, got, raw)
	}
	if sent := f.srv.Messages(alice, "sentitems"); len(sent) != 1 || sent[0].Subject != "grüße" {
		t.Errorf("Sent Items holds %+v, want the message", sent)
	}
	if n := f.srv.Count("POST", "/me/sendMail"); n != 1 {
		t.Errorf("%d sendMail requests, want 1", n)
	}
}

func TestSendAddsEnvelopeOnlyRecipientsAsBcc(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	c := f.client(t, alice, nil)
	raw := []byte("From: alice@example.com\r\nTo: support@example.com\r\nSubject: hi\r\n\r\nbody\r\n")
	err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{shared, bob}}, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{shared, bob} {
		in := f.srv.Messages(u, "Inbox")
		if len(in) != 1 {
			t.Fatalf("%s received %d messages, want 1", u, len(in))
		}
		got, _ := f.srv.Content(in[0].ID)
		if !bytes.Equal(got, raw) {
			t.Errorf("%s received %q, want the message without a Bcc header", u, got)
		}
	}
	sent := f.srv.Messages(alice, "Sent Items")
	got, _ := f.srv.Content(sent[0].ID)
	if !bytes.HasPrefix(got, []byte("Bcc: bob@example.com\r\n")) {
		t.Errorf("sent copy starts %q, want the added Bcc", got[:40])
	}
}

func TestSendRefusesAboveGraphLimit(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	c := f.client(t, alice, nil)
	head := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: big\r\n\r\n"
	body := strings.Repeat("0123456789abcdef\r\n", graph.MaxMIMEBytes/18+1)
	err := c.Send(context.Background(), mail.Envelope{To: []string{bob}}, strings.NewReader(head+body))
	var tl *graph.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("Send of %d bytes = %v, want *graph.TooLargeError", len(head+body), err)
	}
	if !strings.Contains(err.Error(), "4 MB") || !strings.Contains(err.Error(), "SMTP") {
		t.Errorf("error %q should name the 4 MB limit and SMTP as the way out", err)
	}
	if n := f.srv.Count("POST", "/sendMail"); n != 0 {
		t.Errorf("%d sendMail requests made for a message that cannot fit", n)
	}

	// Just under the limit goes through.
	fits := head + strings.Repeat("x", graph.MaxMIMEBytes-len(head))
	if err := c.Send(context.Background(), mail.Envelope{To: []string{bob}}, strings.NewReader(fits)); err != nil {
		t.Fatalf("Send of exactly %d bytes: %v", len(fits), err)
	}
}

// genMessage is a large message produced on the fly, never held in memory.
type genMessage struct {
	size, pos int64
	line      []byte
}

func newGen(size int64) *genMessage {
	return &genMessage{size: size, line: []byte("From: gen@example.com\r\nTo: alice@example.com\r\nSubject: large\r\n\r\n")}
}

func (g *genMessage) Read(p []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.pos < g.size {
		if len(g.line) == 0 {
			g.line = []byte(fmt.Sprintf("line %012d %s\r\n", g.pos, strings.Repeat("z", 60)))
		}
		k := copy(p[n:], g.line)
		if int64(k) > g.size-g.pos {
			k = int(g.size - g.pos)
		}
		g.line = g.line[k:]
		n += k
		g.pos += int64(k)
	}
	return n, nil
}

func (g *genMessage) Close() error { return nil }

func TestFetchLargeMessageMemoryFlat(t *testing.T) {
	const size = 48 << 20
	f := newFixture(t, graphtest.Options{})
	wantHash := sha256.New()
	io.Copy(wantHash, newGen(size))
	f.srv.AddMessageWith(alice, "Inbox", graphtest.Message{Open: func() (io.ReadCloser, error) { return newGen(size), nil }})
	c := f.client(t, alice, nil)
	if _, err := c.Open(context.Background(), "Inbox"); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(context.Background(), mail.Criteria{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List = %v, %v", msgs, err)
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	got := sha256.New()
	var n int64
	err = c.Fetch(context.Background(), msgs, func(m mail.Message, r io.Reader) error {
		var err error
		n, err = io.Copy(got, r)
		return err
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != size || !bytes.Equal(got.Sum(nil), wantHash.Sum(nil)) {
		t.Fatalf("fetched %d bytes with a different digest, want %d identical bytes", n, size)
	}
	if grow := int64(peak.Load()) - int64(baseline); grow > 8<<20 {
		t.Errorf("heap grew by %d MB while fetching a %d MB message; it must stream", grow>>20, size>>20)
	}
}

func TestTraceHasNoToken(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	f.srv.AddMessage(alice, "Inbox/Endpoint", rawMessage("traced"))
	var trace bytes.Buffer
	c := f.client(t, alice, func(o *graph.Options) { o.Trace = &trace })
	if _, err := c.Open(context.Background(), "Inbox/Endpoint"); err != nil {
		t.Fatal(err)
	}
	fetchAll(t, c, mail.Criteria{Unseen: true})
	c.MarkSeen(context.Background(), []string{"bogus"})
	c.Close()
	out := trace.String()
	for _, want := range []string{"graph > GET " + f.srv.URL + "/me/mailFolders/inbox", "graph < 200 OK", "/$value", "ErrorInvalidIdMalformed"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	tokenPart := strings.TrimPrefix(f.token, "fake-graph-token.")
	if strings.Contains(out, tokenPart) || strings.Contains(strings.ToLower(out), "bearer") {
		t.Errorf("trace contains the token or the Authorization header:\n%s", out)
	}
}

func TestFetchConcurrencyLimitAndOrder(t *testing.T) {
	for _, conc := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(conc), func(t *testing.T) {
			f := newFixture(t, graphtest.Options{ValueDelay: 30 * time.Millisecond})
			base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range 16 {
				f.srv.AddMessageWith(alice, "Inbox", graphtest.Message{Raw: rawMessage(fmt.Sprintf("n%02d", i)), Received: base.Add(time.Duration(i) * time.Hour)})
			}
			tmp := t.TempDir()
			c := f.client(t, alice, func(o *graph.Options) { o.Concurrency = conc; o.TempDir = tmp })
			if _, err := c.Open(context.Background(), "Inbox"); err != nil {
				t.Fatal(err)
			}
			_, bodies := fetchAll(t, c, mail.Criteria{})
			for i, b := range bodies {
				if !strings.Contains(b, fmt.Sprintf("Hello n%02d", i)) {
					t.Fatalf("message %d out of order: %q", i, b)
				}
			}
			st := f.srv.Stats()
			if st.MaxConcurrent > conc {
				t.Errorf("fake saw %d concurrent requests, limit %d", st.MaxConcurrent, conc)
			}
			if conc > 1 && st.MaxConcurrent < 2 {
				t.Errorf("downloads never overlapped (max %d concurrent), prefetch is not working", st.MaxConcurrent)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

func TestFetchStopsOnCallbackError(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	for i := range 10 {
		f.srv.AddMessage(alice, "Inbox", rawMessage(fmt.Sprint("s", i)))
	}
	tmp := t.TempDir()
	c := f.client(t, alice, func(o *graph.Options) { o.TempDir = tmp })
	c.Open(context.Background(), "Inbox")
	msgs, _ := c.List(context.Background(), mail.Criteria{})
	boom := errors.New("disk full")
	calls := 0
	err := c.Fetch(context.Background(), msgs, func(m mail.Message, r io.Reader) error {
		calls++
		if calls == 3 {
			return boom
		}
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, boom) || calls != 3 {
		t.Fatalf("Fetch = %v after %d calls, want the callback's error after 3", err, calls)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestMailboxNotEnabled(t *testing.T) {
	f := newFixture(t, graphtest.Options{})
	f.srv.DisableREST(alice)
	c, _ := graph.New(graph.Options{BaseURL: f.srv.URL})
	err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthOAuth2,
		Token: func(context.Context) (string, error) { return f.token, nil }})
	if graph.ErrorCode(err) != graph.CodeMailboxNotEnabled {
		t.Fatalf("Authenticate = %v, want %s", err, graph.CodeMailboxNotEnabled)
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	if _, err := graph.New(graph.Options{BaseURL: "graph.microsoft.com/v1.0"}); err == nil || !strings.Contains(err.Error(), "graph_url") {
		t.Errorf("New with a scheme-less URL: %v, want an error naming graph_url", err)
	}
}
