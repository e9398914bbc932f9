package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
)

// heapCeiling is the most a hostile server may grow our heap by.
const heapCeiling = 64 << 20

// hostileTimeout is the --timeout of the hostile tests.
const hostileTimeout = 300 * time.Millisecond

const inboxJSON = `{"id":"inbox-id","displayName":"Inbox","totalItemCount":3}`

// hostileServer answers the Inbox lookup like Graph and everything else
// with fn.
func hostileServer(t *testing.T, fn http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/mailFolders/inbox") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, inboxJSON)
			return
		}
		fn(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostileClient(t *testing.T, base string, mod func(*graph.Options)) *graph.Client {
	t.Helper()
	o := graph.Options{BaseURL: base + "/v1.0", TempDir: t.TempDir(), Timeout: hostileTimeout, MaxRetries: -1,
		Token: func(context.Context) (string, error) { return "secret-token", nil }}
	if mod != nil {
		mod(&o)
	}
	c, err := graph.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// measured runs fn and returns its error, how long it took and how far
// it grew the heap; it fails the test past heapCeiling or maxTime.
func measured(t *testing.T, maxTime time.Duration, fn func() error) (time.Duration, error) {
	t.Helper()
	var err error
	start := time.Now()
	var elapsed time.Duration
	heap := heapmeter.Peak(func() {
		err = fn()
		elapsed = time.Since(start)
	})
	t.Logf("error: %v; elapsed %v; heap growth %.1f MB", err, elapsed.Round(time.Millisecond), float64(heap)/1e6)
	if heap > heapCeiling {
		t.Errorf("heap grew by %.1f MB, want under %d MB", float64(heap)/1e6, heapCeiling>>20)
	}
	if elapsed > maxTime {
		t.Errorf("took %v, want under %v", elapsed, maxTime)
	}
	return elapsed, err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func listInbox(t *testing.T, c *graph.Client) ([]mail.Message, error) {
	t.Helper()
	if _, err := c.Open(context.Background(), ""); err != nil {
		t.Fatalf("open the Inbox: %v", err)
	}
	return c.List(context.Background(), mail.Criteria{})
}

// flood writes chunk until the client goes away.
func flood(w http.ResponseWriter, chunk []byte) {
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func TestHostileEndlessValueArray(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[`)
		flood(w, []byte(`{"id":"AAMkAGI2TG93AAA=","receivedDateTime":"2026-11-01T08:00:00Z"},`))
	})
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.Timeout = 5 * time.Second })
	_, err := measured(t, 3*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "page 1 of the listing", "more than 1000 items")
}

func TestHostileEndlessJSONField(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[{"id":"`)
		flood(w, bytes.Repeat([]byte("A"), 64<<10))
	})
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.Timeout = 5 * time.Second })
	_, err := measured(t, 3*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "sent more than 8.0 MB for page 1 of the listing: refusing the rest")
}

func TestHostileEndlessFolderLookup(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[`)
		flood(w, []byte(`{},`))
	})
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.Timeout = 5 * time.Second })
	_, err := measured(t, 3*time.Second, func() error { _, err := c.Open(context.Background(), "Inbox/Endpoint"); return err })
	wantErr(t, err, `open folder "Inbox/Endpoint"`, "more than 1000 items")
}

func TestHostileEndlessErrorBody(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		flood(w, []byte("<p>oops</p>"))
	})
	c := hostileClient(t, srv.URL, nil)
	_, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "HTTP 500", "Graph at 127.0.0.1:", "sent an error answer longer than 64.0 KB")
}

func TestHostileStalledJSONBody(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := hostileClient(t, srv.URL, nil)
	elapsed, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "stopped sending page 1 of the listing after 10 B for ")
	if !regexp.MustCompile(`after 10 B for [0-9]+ms$`).MatchString(err.Error()) {
		t.Errorf("error %q does not say for how long", err)
	}
	if elapsed < hostileTimeout {
		t.Errorf("gave up after %v, before the timeout of %v", elapsed, hostileTimeout)
	}
}

func TestHostileTrickledJSONBody(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[`)
		for {
			if _, err := io.WriteString(w, " "); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	c := hostileClient(t, srv.URL, nil)
	_, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "kept sending page 1 of the listing for 300ms without finishing")
}

func TestHostileSilentAfterRequest(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	// A client of the caller's (no ResponseHeaderTimeout): Timeout still holds.
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.HTTPClient = &http.Client{} })
	_, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "did not answer GET /v1.0/me/mailFolders/inbox-id/messages within 300ms")
}

// valueServer serves $value with fn.
func valueServer(t *testing.T, fn http.HandlerFunc) *graph.Client {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/$value") {
			http.NotFound(w, r)
			return
		}
		fn(w, r)
	})
	return hostileClient(t, srv.URL, nil)
}

func download(c *graph.Client, id string) (int64, error) {
	rc, err := c.OpenMessage(context.Background(), id)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

func TestHostileStalledValue(t *testing.T) {
	c := valueServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 1_200_000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	elapsed, err := measured(t, 2*time.Second, func() error { _, err := download(c, "msg-1"); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "stopped sending message msg-1 after 1.2 MB for 300ms")
	if elapsed < hostileTimeout {
		t.Errorf("gave up after %v, before the timeout of %v", elapsed, hostileTimeout)
	}
}

func TestHostileTrickledValue(t *testing.T) {
	c := valueServer(t, func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := io.WriteString(w, "x"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	_, err := measured(t, 2*time.Second, func() error { _, err := download(c, "msg-1"); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "sent message msg-1 too slowly", "in the last 300ms")
}

// A big honest message streams at full speed, and a slow honest one may
// take many times Timeout as long as it keeps moving.
func TestHonestValueStreams(t *testing.T) {
	const big = 100 << 20
	c := valueServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "slow") {
			for i := 0; i < 20; i++ {
				w.Write(bytes.Repeat([]byte("s"), 32<<10))
				w.(http.Flusher).Flush()
				time.Sleep(60 * time.Millisecond)
			}
			return
		}
		chunk := bytes.Repeat([]byte("b"), 1<<20)
		for i := 0; i < big>>20; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	var n int64
	_, err := measured(t, 10*time.Second, func() error { var err error; n, err = download(c, "big"); return err })
	if err != nil || n != big {
		t.Errorf("big message: %d bytes, %v; want %d bytes", n, err, big)
	}
	start := time.Now()
	n, err = download(c, "slow")
	if err != nil || n != 20*32<<10 {
		t.Errorf("slow message over %v: %d bytes, %v; want all of it", time.Since(start), n, err)
	}
	if time.Since(start) < 3*hostileTimeout {
		t.Errorf("the slow message took %v; the test needs it to outlast the timeout", time.Since(start))
	}
}

// second is a server on another port that counts requests and the tokens
// it was shown.
func second(t *testing.T, tls bool) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var hits, tokens atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), "secret-token") {
			tokens.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[]}`)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, &hits, &tokens
}

func TestHostileRedirectToAnotherPort(t *testing.T) {
	other, hits, tokens := second(t, false)
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	c := hostileClient(t, srv.URL, nil)
	msgs, err := func() ([]mail.Message, error) {
		var msgs []mail.Message
		_, err := measured(t, 2*time.Second, func() error { var err error; msgs, err = listInbox(t, c); return err })
		return msgs, err
	}()
	wantErr(t, err, "Graph at 127.0.0.1:", "redirected GET /v1.0/me/mailFolders/inbox-id/messages to "+other.URL+"/v1.0/me/mailFolders/inbox-id/messages",
		"refusing to follow a redirect to another host, port or scheme")
	if msgs != nil {
		t.Errorf("the listing passed as %d messages", len(msgs))
	}
	if hits.Load() != 0 || tokens.Load() != 0 {
		t.Errorf("the other port got %d requests, %d with the token; want none", hits.Load(), tokens.Load())
	}
}

func TestHostileRedirectHTTPSToHTTP(t *testing.T) {
	other, hits, tokens := second(t, false)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.HTTPClient = srv.Client() })
	_, err := measured(t, 2*time.Second, func() error { _, err := c.Open(context.Background(), ""); return err })
	wantErr(t, err, "redirected GET /v1.0/me/mailFolders/inbox", "refusing to follow a redirect from https to plain http")
	if hits.Load() != 0 || tokens.Load() != 0 {
		t.Errorf("the http server got %d requests, %d with the token; want none", hits.Load(), tokens.Load())
	}
}

// A redirect within the Graph origin is still followed.
func TestRedirectWithinGraphFollowed(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/childFolders") {
			http.Redirect(w, r, "/v1.0/moved", http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/v1.0/moved" && strings.Contains(r.Header.Get("Authorization"), "secret-token") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"value":[{"id":"ep-id","displayName":"Endpoint","totalItemCount":7}]}`)
			return
		}
		http.NotFound(w, r)
	})
	f, err := hostileClient(t, srv.URL, nil).Open(context.Background(), "Inbox/Endpoint")
	if err != nil || f.Count != 7 {
		t.Fatalf("Open through a same-origin redirect: %+v, %v", f, err)
	}
}

// pages serves listing pages: page n links to link(n), "" ends.
func pages(t *testing.T, link func(base string, n int) string) *httptest.Server {
	var srv *httptest.Server
	srv = hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := 1
		fmt.Sscanf(r.URL.Query().Get("page"), "%d", &n)
		w.Header().Set("Content-Type", "application/json")
		next := link(srv.URL, n)
		fmt.Fprintf(w, `{"value":[{"id":"m%d"}],"@odata.nextLink":%q}`, n, next)
	})
	return srv
}

func TestHostileNextLinkLoop(t *testing.T) {
	srv := pages(t, func(base string, n int) string {
		// 1 → 2 → 3 → 2 → ...
		return fmt.Sprintf("%s/v1.0/me/mailFolders/inbox-id/messages?page=%d", base, map[int]int{1: 2, 2: 3, 3: 2}[n])
	})
	c := hostileClient(t, srv.URL, nil)
	_, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "sent an @odata.nextLink on page 3 pointing back at page 2")
}

func TestHostileNextLinkPageCap(t *testing.T) {
	srv := pages(t, func(base string, n int) string {
		return fmt.Sprintf("%s/v1.0/me/mailFolders/inbox-id/messages?page=%d", base, n+1)
	})
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.MaxPages = 50 })
	_, err := measured(t, 3*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "Graph at 127.0.0.1:", "sent more than 50 pages (50 messages): giving up")
}

func TestHostileNextLinkToAnotherOrigin(t *testing.T) {
	other, hits, tokens := second(t, false)
	srv := pages(t, func(base string, n int) string { return other.URL + "/v1.0/me/messages?page=2" })
	c := hostileClient(t, srv.URL, nil)
	_, err := measured(t, 2*time.Second, func() error { _, err := listInbox(t, c); return err })
	wantErr(t, err, "sent an @odata.nextLink to another host, port or scheme ("+other.URL+")", "refusing to follow it")
	if hits.Load() != 0 || tokens.Load() != 0 {
		t.Errorf("the other origin got %d requests, %d with the token; want none", hits.Load(), tokens.Load())
	}
}

func TestListingTrustsNoID(t *testing.T) {
	for _, tc := range []struct {
		name, page string
		want       []string // ids listed, or
		err        string   // the error
	}{
		{"duplicates", `{"value":[{"id":"a"},{"id":"b"},{"id":"a"},{"id":"b"},{"id":"c"}]}`, []string{"a", "b", "c"}, ""},
		{"empty id", `{"value":[{"id":"a"},{"id":""}]}`, nil, "sent page 1 of the listing that mailport cannot use: it lists a message without an id"},
		{"no id", `{"value":[{"receivedDateTime":"2026-11-01T08:00:00Z"}]}`, nil, "sent page 1 of the listing that mailport cannot use: it lists a message without an id"},
		{"dot dot", `{"value":[{"id":".."}]}`, nil, `it lists a message whose id is ".."`},
		{"control", `{"value":[{"id":"a\r\nb"}]}`, nil, "control characters"},
		{"slashes", `{"value":[{"id":"../../etc/passwd"},{"id":"a/b"}]}`, []string{"../../etc/passwd", "a/b"}, ""},
		{"not a list", `{"value":{"id":"a"}}`, nil, "value is an object, not an array"},
		{"too many props", `{"value":[{"id":"a","singleValueExtendedProperties":[` + strings.Repeat(`{},`, 20) + `{}]}]}`, nil, "more than 16 items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.page)
			})
			msgs, err := listInbox(t, hostileClient(t, srv.URL, nil))
			if tc.err != "" {
				wantErr(t, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range msgs {
				ids = append(ids, m.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("listed %q, want %q", ids, tc.want)
			}
		})
	}
}

// An id with a slash stays one path segment of the $value URL.
func TestIDWithSlashStaysOneSegment(t *testing.T) {
	var got atomic.Value
	c := valueServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.EscapedPath())
		io.WriteString(w, "Subject: x\r\n\r\nbody\r\n")
	})
	if _, err := download(c, "../../x/y"); err != nil {
		t.Fatal(err)
	}
	if p, _ := got.Load().(string); p != "/v1.0/me/messages/..%2F..%2Fx%2Fy/$value" {
		t.Errorf("the server saw %q", p)
	}
}

// A $value larger than the listing's size hint is delivered whole; one
// beyond any honest size is refused, and nothing of it is delivered.
func TestValueLargerThanSizeHint(t *testing.T) {
	body := []byte("Subject: bigger than its hint\r\n\r\n" + strings.Repeat("line of text\r\n", 400))
	c := valueServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "endless") {
			flood(w, bytes.Repeat([]byte("x"), 64<<10))
			return
		}
		w.Write(body)
	})
	var delivered [][]byte
	err := c.Fetch(context.Background(), []mail.Message{{ID: "small-hint", Size: 10}}, func(m mail.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		delivered = append(delivered, b)
		return err
	})
	if err != nil || len(delivered) != 1 || !bytes.Equal(delivered[0], body) {
		t.Fatalf("a message larger than its size hint: %v, delivered %d; want it whole", err, len(delivered))
	}
	delivered = nil
	_, err = measured(t, 3*time.Second, func() error {
		return c.Fetch(context.Background(), []mail.Message{{ID: "endless", Size: 1000}}, func(m mail.Message, r io.Reader) error {
			delivered = append(delivered, nil)
			return nil
		})
	})
	wantErr(t, err, "Graph at 127.0.0.1:", "sent more than 16.0 MB for message endless", "Graph gave its size as 1.0 KB")
	if len(delivered) != 0 {
		t.Errorf("%d messages delivered from an endless $value", len(delivered))
	}
}

// Send's spool has no name in TempDir while the request is on its way, so
// a crash cannot leave it there.
func TestSendLeavesNothingInTempDir(t *testing.T) {
	tmp := t.TempDir()
	var during atomic.Value
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		ents, err := os.ReadDir(tmp)
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		during.Store(fmt.Sprint(names, err))
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.TempDir = tmp })
	msg := "To: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := c.Send(context.Background(), mail.Envelope{To: []string{"a@example.com"}}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if got := during.Load(); got != "[] <nil>" {
		t.Errorf("while sending, TempDir held %v; want nothing", got)
	}
}

// A folder whose id would be a path step in the URLs built from it is
// refused.
func TestFolderIDUntrusted(t *testing.T) {
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"value":[{"id":"..","displayName":"Endpoint"}]}`)
	})
	_, err := hostileClient(t, srv.URL, nil).Open(context.Background(), "Inbox/Endpoint")
	wantErr(t, err, `open folder "Inbox/Endpoint": Graph at 127.0.0.1:`, `answered with a folder whose id is ".."`)
}

// sendMail to a server that takes the message and never answers ends
// after Timeout with words saying so.
func TestHostileSendUnanswered(t *testing.T) {
	msg := "To: a@example.com\r\nSubject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 45000)
	release := make(chan struct{})
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close
	c := hostileClient(t, srv.URL, func(o *graph.Options) { o.HTTPClient = &http.Client{} })
	_, err := measured(t, 2*time.Second, func() error {
		return c.Send(context.Background(), mail.Envelope{}, strings.NewReader(msg))
	})
	wantErr(t, err, "graph: send message: Graph at 127.0.0.1:",
		"did not answer POST /v1.0/me/sendMail within 300ms of taking the message (3.9 MB)")
}
