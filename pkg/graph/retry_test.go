package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
)

// scripted serves the given statuses in turn, then 202/200.
func scripted(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(statuses[i])
			fmt.Fprintf(w, `{"error":{"code":"Status%d","message":"scripted"}}`, statuses[i])
			return
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","displayName":"Inbox","totalItemCount":0}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func scriptedClient(t *testing.T, url string) *graph.Client {
	c, err := graph.New(graph.Options{BaseURL: url + "/v1.0", TempDir: t.TempDir(),
		Token: func(context.Context) (string, error) { return "tok", nil },
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGatewayTimeoutRetriedOnlyWhenIdempotent(t *testing.T) {
	msg := "To: bob@example.com\r\nSubject: x\r\n\r\nx\r\n"

	// A 504 may hide a message that was sent: sendMail is not repeated.
	srv, n := scripted(t, 504)
	err := scriptedClient(t, srv.URL).Send(context.Background(), mail.Envelope{}, strings.NewReader(msg))
	if graph.ErrorCode(err) != "Status504" || n.Load() != 1 {
		t.Errorf("sendMail after 504: %v with %d requests, want the 504 and no retry", err, n.Load())
	}
	// 503 and 429 mean the request was not processed: it is sent again.
	srv, n = scripted(t, 503, 429)
	if err := scriptedClient(t, srv.URL).Send(context.Background(), mail.Envelope{}, strings.NewReader(msg)); err != nil || n.Load() != 3 {
		t.Errorf("sendMail after 503, 429: %v with %d requests, want success on the third", err, n.Load())
	}
	// A GET is retried after 504.
	srv, n = scripted(t, 504)
	if _, err := scriptedClient(t, srv.URL).Open(context.Background(), "Inbox"); err != nil || n.Load() != 2 {
		t.Errorf("GET after 504: %v with %d requests", err, n.Load())
	}
}

func TestNextLinkToAnotherHostRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/messages") {
			fmt.Fprint(w, `{"value":[],"@odata.nextLink":"https://evil.example/v1.0/me/messages?$skip=10"}`)
			return
		}
		fmt.Fprint(w, `{"id":"x","displayName":"Inbox","totalItemCount":0}`)
	}))
	defer srv.Close()
	c := scriptedClient(t, srv.URL)
	if _, err := c.Open(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	_, err := c.List(context.Background(), mail.Criteria{})
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("List with a foreign nextLink = %v, want a refusal (the token must not leave Graph)", err)
	}
}

func TestNonJSONErrorKeepsStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway from a proxy", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := scriptedClient(t, srv.URL).Open(context.Background(), "")
	var ge *graph.Error
	if !asGraph(err, &ge) || ge.StatusCode != 502 || !strings.Contains(ge.Message, "Bad Gateway") {
		t.Errorf("proxy error page = %v, want a graph.Error with status 502", err)
	}
}

func TestTimeoutBoundsASilentServer(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c, _ := graph.New(graph.Options{BaseURL: srv.URL + "/v1.0", Timeout: 200 * time.Millisecond, MaxRetries: -1,
		Token: func(context.Context) (string, error) { return "tok", nil }})
	start := time.Now()
	_, err := c.Open(context.Background(), "")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("Open against a silent server = %v after %v, want a timeout error within seconds", err, time.Since(start))
	}
}
