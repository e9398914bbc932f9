package fetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/store"
)

const graphUser = "support@contoso.com"

// graphClient is a Client on srv with small pages and no waiting between retries.
func graphClient(t *testing.T, srv *graphtest.Server) *graph.Client {
	t.Helper()
	tok := srv.IssueToken(graphUser)
	c, err := graph.New(graph.Options{
		BaseURL: srv.URL, Login: graphUser, TokenUser: graphUser, PageSize: 7, TempDir: t.TempDir(),
		Token: func(context.Context) (string, error) { return tok, nil },
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func graphRun(t *testing.T, srv *graphtest.Server, dir string, opts fetch.Options) *fetch.Summary {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts.Account = "support"
	s, err := fetch.Run(context.Background(), graphClient(t, srv), st, opts)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return s
}

func TestGraphPagingUnreadMoveDeleteAndThrottling(t *testing.T) {
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	for i := 0; i < 40; i++ {
		raw := fmt.Sprintf("From: c%d@example.com\r\nSubject: ticket %d\r\nMessage-ID: <t%d@example.com>\r\n\r\nbody %d\r\n", i, i, i, i)
		srv.AddMessageWith(graphUser, "Inbox/Endpoint", graphtest.Message{Raw: []byte(raw), Received: base.Add(time.Duration(i) * time.Minute), IsRead: i%4 == 0})
		if i%4 != 0 {
			want[raw] = true
		}
	}
	srv.AddFolder(graphUser, "Archive")

	// Unread only, across six pages of 7, moved to Archive; throttled on the way.
	srv.Throttle(3, "0.01")
	dir := t.TempDir()
	s := graphRun(t, srv, dir, fetch.Options{Folder: "Inbox/Endpoint", Criteria: mail.Criteria{Unseen: true}, Action: fetch.Move, MoveTo: "Archive"})
	if s.Fetched != 30 || s.Failed != 0 {
		t.Fatalf("summary %+v", s)
	}
	if srv.Stats().Throttled != 3 {
		t.Fatalf("throttled %d times, want 3 (retried)", srv.Stats().Throttled)
	}
	if n := srv.Count("GET", "/$value"); n != 30 {
		t.Fatalf("%d downloads, want 30", n)
	}
	pages := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/messages") && r.Status == 200 {
			pages++
		}
	}
	if pages < 5 {
		t.Fatalf("%d list pages, want the 30 unread messages over at least 5 pages of 7", pages)
	}
	files := messageFiles(t, dir)
	for _, content := range files {
		if !want[content] {
			t.Fatalf("unexpected content %q", content)
		}
	}
	if len(files) != 30 {
		t.Fatalf("%d files", len(files))
	}
	if got := len(srv.Messages(graphUser, "Archive")); got != 30 {
		t.Fatalf("%d moved to Archive", got)
	}
	if got := len(srv.Messages(graphUser, "Inbox/Endpoint")); got != 10 {
		t.Fatalf("%d left in the folder, want the 10 read ones", got)
	}

	// The read ones, deleted; a second run fetches nothing.
	s = graphRun(t, srv, dir, fetch.Options{Folder: "Inbox/Endpoint", Action: fetch.Delete})
	if s.Fetched != 10 || len(srv.Messages(graphUser, "Inbox/Endpoint")) != 0 {
		t.Fatalf("delete: %+v", s)
	}
	s = graphRun(t, srv, dir, fetch.Options{Folder: "Inbox/Endpoint", Action: fetch.Delete})
	if s.Fetched != 0 || s.Listed != 0 {
		t.Fatalf("third run: %+v", s)
	}
	if srv.Stats().MaxConcurrent > graph.DefaultConcurrency {
		t.Fatalf("%d concurrent requests", srv.Stats().MaxConcurrent)
	}
}

func TestGraphIdempotentAndFiveNew(t *testing.T) {
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	add := func(n, from int) {
		for i := from; i < from+n; i++ {
			srv.AddMessage(graphUser, "Inbox", []byte(fmt.Sprintf("Subject: %d\r\nMessage-ID: <g%d@x>\r\n\r\n%d\r\n", i, i, i)))
		}
	}
	add(12, 0)
	dir := t.TempDir()
	if s := graphRun(t, srv, dir, fetch.Options{Folder: "INBOX"}); s.Fetched != 12 {
		t.Fatalf("first %+v", s)
	}
	if s := graphRun(t, srv, dir, fetch.Options{Folder: "INBOX"}); s.Fetched != 0 || s.Skipped != 12 {
		t.Fatalf("second %+v", s)
	}
	add(5, 100)
	if s := graphRun(t, srv, dir, fetch.Options{Folder: "INBOX"}); s.Fetched != 5 {
		t.Fatalf("third %+v", s)
	}
	if n := len(messageFiles(t, dir)); n != 17 {
		t.Fatalf("%d files", n)
	}
}

// A message deleted on the server after it was stored but before the run
// recorded it as deleted (a crash) counts as done on the next run.
func TestGraphAlreadyGoneIsDone(t *testing.T) {
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	for i := 0; i < 3; i++ {
		srv.AddMessage(graphUser, "Inbox", []byte(fmt.Sprintf("Subject: %d\r\n\r\n%d\r\n", i, i)))
	}
	dir := t.TempDir()
	// Stored and recorded, but not acknowledged: a run whose delete failed.
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := graphClient(t, srv)
	ctx := context.Background()
	f, _ := c.Open(ctx, "INBOX")
	mb, _ := st.Mailbox("support", f.Name, f.Validity)
	list, _ := c.List(ctx, mail.Criteria{})
	if err := c.Fetch(ctx, list, func(m mail.Message, r io.Reader) error { _, err := mb.Put(m, r); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Someone deleted one of them meanwhile.
	if err := c.Delete(ctx, []string{list[1].ID}); err != nil {
		t.Fatal(err)
	}
	s := graphRun(t, srv, dir, fetch.Options{Folder: "INBOX", Action: fetch.Delete})
	if s.Recovered != 3 || s.Fetched != 0 || s.Failed != 0 || len(srv.Messages(graphUser, "Inbox")) != 0 {
		t.Fatalf("%+v, left %d", s, len(srv.Messages(graphUser, "Inbox")))
	}
}

// Graph downloads are staged in the target directory under the store's
// temporary-file prefix, never in $TMPDIR: a crash leaves them where the
// next run's store removes them.
func TestGraphStagesDownloadsInTargetDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	list := func(d string) []string {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Error(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	raw := []byte("Subject: staged\r\nMessage-ID: <staged@x>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 20000))
	var staged, inTmp atomic.Value
	opens := 0
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	srv.AddMessageWith(graphUser, "Inbox", graphtest.Message{Open: func() (io.ReadCloser, error) {
		if opens++; opens == 1 { // AddMessageWith reads the header
			return io.NopCloser(bytes.NewReader(raw)), nil
		}
		// Halfway through, look where the client stages the message.
		half := len(raw) / 2
		probe := readerFunc(func(p []byte) (int, error) {
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				for _, n := range list(dir) {
					if store.IsTemp(n) {
						staged.Store(n)
					}
				}
				if staged.Load() != nil {
					break
				}
			}
			inTmp.Store(fmt.Sprint(list(tmp)))
			return 0, io.EOF
		})
		return io.NopCloser(io.MultiReader(bytes.NewReader(raw[:half]), probe, bytes.NewReader(raw[half:]))), nil
	}})
	tok := srv.IssueToken(graphUser)
	c, err := graph.New(graph.Options{BaseURL: srv.URL, Login: graphUser, TokenUser: graphUser,
		Token: func(context.Context) (string, error) { return tok, nil }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := fetch.Run(context.Background(), c, st, fetch.Options{Account: "support"})
	st.Close()
	if err != nil || s.Fetched != 1 {
		t.Fatalf("fetch: %+v, %v", s, err)
	}
	name, _ := staged.Load().(string)
	if name == "" {
		t.Fatalf("no download was staged in the target directory; $TMPDIR held %v", inTmp.Load())
	}
	if got := inTmp.Load(); got != "[]" {
		t.Errorf("$TMPDIR held %v during the download, want nothing", got)
	}
	if got := list(tmp); len(got) != 0 {
		t.Errorf("$TMPDIR holds %v after the run", got)
	}
	files := messageFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d message files, want 1", len(files))
	}
	for _, content := range files {
		if content != string(raw) {
			t.Errorf("stored %d bytes, want the %d sent", len(content), len(raw))
		}
	}
	// A crash in the middle of a download leaves the staged file behind;
	// the next run sweeps it.
	if err := os.WriteFile(filepath.Join(dir, name), raw[:1000], 0o600); err != nil {
		t.Fatal(err)
	}
	graphRun(t, srv, dir, fetch.Options{})
	for _, n := range list(dir) {
		if n == name {
			t.Errorf("the leftover %s is still in the target directory after the next run", name)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// A hostile listing (ids with path characters, a message listed twice
// across pages) stores each message once, all inside the target directory.
func TestGraphHostileIDsStayInDirAndOnce(t *testing.T) {
	ids := []string{"../../escaped", "a/b", `..\..\win`, "dup"}
	content := func(id string) string {
		return fmt.Sprintf("Subject: %s\r\nMessage-ID: <%x@x>\r\n\r\nbody of %s\r\n", id, id, id)
	}
	var values sync.Map // id → downloads
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		p := r.URL.Path
		switch {
		case strings.HasSuffix(p, "/mailFolders/inbox"):
			fmt.Fprint(w, `{"id":"inbox-id","displayName":"Inbox","totalItemCount":4}`)
		case strings.HasSuffix(p, "/messages") && r.URL.Query().Get("page") == "":
			page, _ := json.Marshal(map[string]any{
				"value":           []map[string]string{{"id": ids[0]}, {"id": ids[1]}, {"id": ids[3]}},
				"@odata.nextLink": srv.URL + "/v1.0/me/mailFolders/inbox-id/messages?page=2",
			})
			w.Write(page)
		case strings.HasSuffix(p, "/messages"):
			page, _ := json.Marshal(map[string]any{"value": []map[string]string{{"id": ids[3]}, {"id": ids[2]}, {"id": ids[0]}}})
			w.Write(page)
		case strings.HasPrefix(p, "/v1.0/me/messages/") && strings.HasSuffix(p, "/$value"):
			id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1.0/me/messages/"), "/$value")
			n, _ := values.LoadOrStore(id, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			io.WriteString(w, content(id))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	parent := t.TempDir()
	dir := filepath.Join(parent, "in", "box")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := graph.New(graph.Options{BaseURL: srv.URL + "/v1.0", Timeout: 2 * time.Second,
		Token: func(context.Context) (string, error) { return "tok", nil }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := fetch.Run(context.Background(), c, st, fetch.Options{Account: "support"})
	st.Close()
	if err != nil || s.Fetched != 4 {
		t.Fatalf("fetch: %+v, %v; want the 4 distinct messages", s, err)
	}
	files := messageFiles(t, dir)
	got := map[string]int{}
	for _, b := range files {
		got[b]++
	}
	for _, id := range ids {
		if got[content(id)] != 1 {
			t.Errorf("message %q stored %d times, want once", id, got[content(id)])
		}
		if n, _ := values.Load(id); n == nil || n.(*atomic.Int32).Load() != 1 {
			t.Errorf("message %q downloaded %v times, want once", id, n)
		}
	}
	err = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("a file outside the target directory: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
