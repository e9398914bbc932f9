package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Limits on what a Graph answer may hold. No honest answer comes near
// them; a server that goes past one is cut off with an error saying so.
const (
	// maxJSONBody bounds one JSON answer (a listing page, a folder, the
	// answer to a move). A page of 1000 messages with the fields we select
	// is about 400 KB.
	maxJSONBody = 8_000_000
	// maxPageItems bounds the messages of one listing page: Graph never
	// returns more than $top, and $top is at most 1000.
	maxPageItems = DefaultPageSize
	// maxNextLink bounds an @odata.nextLink; Graph's are under 2 KB.
	maxNextLink = 16_000
	// maxIDLen bounds a message id; Graph's are about 150 characters.
	maxIDLen = 1024
	// maxMessageBytes bounds one message's MIME when Graph gives no size
	// for it. Exchange Online refuses messages over 150 MB, which is
	// about 200 MB of MIME.
	maxMessageBytes = 512_000_000
	// slackMessageBytes is how much a message's MIME may exceed twice its
	// size hint (PR_MESSAGE_SIZE, Exchange's storage size: base64 makes
	// attachments a third larger in MIME).
	slackMessageBytes = 16_000_000
	// minProgress is the least a streaming request must move (sent plus
	// received) in every Timeout window: without it, a server dripping a
	// byte now and then would extend an idle timeout for ever.
	minProgress = 16_000
	// DefaultMaxPages bounds the pages of one listing: 2000 pages of 1000
	// messages is twice the million items Exchange Online allows a folder.
	DefaultMaxPages = 2000
)

// watchMode says how a request's time is bounded.
type watchMode int

const (
	// wholeStep: the request and its whole answer must be done within
	// Timeout. JSON answers are small, so a server still sending one
	// after Timeout is stalling or flooding, never just slow.
	wholeStep watchMode = iota
	// progress: a stream (a message download, a sendMail upload) may take
	// as long as it needs, but every Timeout window must move at least
	// minProgress octets. A big honest message streams at any realistic
	// speed; a stall ends after Timeout and a trickle after Timeout too.
	progress
)

// watch bounds one attempt of a request in time. When it fires it
// cancels the attempt and keeps the sentence saying what the server did,
// which then replaces the transport's "context canceled".
type watch struct {
	server  string // "Graph at host:port"
	what    string // "the listing", "message X", ...
	desc    string // "GET /v1.0/me/..."
	mode    watchMode
	timeout time.Duration
	cancel  context.CancelCauseFunc

	mu          sync.Mutex
	start       time.Time
	headers     bool
	received    int64
	sent        int64
	sentAll     bool      // the request body was read to its end
	window      int64     // octets moved in the current window (progress mode)
	windowStart time.Time // (progress mode)
	last        time.Time // when the last octet arrived or headers came
	err         error
	timer       *time.Timer
	stopped     bool
}

func (c *Client) newWatch(r request, cancel context.CancelCauseFunc) *watch {
	mode := wholeStep
	if r.stream {
		mode = progress
	}
	now := time.Now()
	w := &watch{
		server: c.serverName(), what: r.what, desc: r.method + " " + c.pathOf(r.url),
		mode: mode, timeout: c.timeout, cancel: cancel, start: now, windowStart: now, last: now,
	}
	if w.what == "" {
		w.what = "the answer to " + w.desc
	}
	w.timer = time.AfterFunc(c.timeout, w.fire)
	return w
}

// serverName names the server in errors: "Graph at graph.microsoft.com".
func (c *Client) serverName() string { return "Graph at " + c.base.Host }

func (w *watch) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.err != nil {
		return
	}
	now := time.Now()
	if w.mode == progress && now.Sub(w.windowStart) < w.timeout {
		// The window moved on after the timer had fired; look again later.
		w.timer.Reset(w.timeout - now.Sub(w.windowStart))
		return
	}
	w.err = &TimeoutError{Text: w.sentence(now)}
	w.cancel(w.err)
}

// sentence says what the server did, for the moment the watch fired.
func (w *watch) sentence(now time.Time) string {
	t := w.timeout
	switch {
	case !w.headers && w.sentAll:
		return fmt.Sprintf("%s did not answer %s within %s of taking %s (%s)", w.server, w.desc, t, w.what, sizeText(w.sent))
	case !w.headers && w.sent > 0:
		return fmt.Sprintf("%s stopped taking %s after %s for %s", w.server, w.what, sizeText(w.sent), t)
	case !w.headers:
		return fmt.Sprintf("%s did not answer %s within %s", w.server, w.desc, t)
	case w.mode == progress && now.Sub(w.last) >= t:
		return fmt.Sprintf("%s stopped sending %s after %s for %s", w.server, w.what, sizeText(w.received), t)
	case w.mode == progress:
		return fmt.Sprintf("%s sent %s too slowly: %s in the last %s (%s in all; at least %s per %s is needed)",
			w.server, w.what, sizeText(w.window), t, sizeText(w.received), sizeText(minProgress), t)
	case now.Sub(w.last) >= t/3:
		return fmt.Sprintf("%s stopped sending %s after %s for %s", w.server, w.what, sizeText(w.received), now.Sub(w.last).Round(10*time.Millisecond))
	default:
		return fmt.Sprintf("%s kept sending %s for %s without finishing (%s received)", w.server, w.what, t, sizeText(w.received))
	}
}

// moved records n octets sent or received.
func (w *watch) moved(n int, received bool) {
	if n <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if received {
		w.received += int64(n)
		w.last = time.Now()
	} else {
		w.sent += int64(n)
	}
	if w.mode != progress {
		return
	}
	w.window += int64(n)
	if w.window >= minProgress {
		w.window = 0
		w.windowStart = time.Now()
	}
}

func (w *watch) gotHeaders() {
	w.mu.Lock()
	w.headers = true
	w.last = time.Now()
	w.mu.Unlock()
}

// failure is the watch's sentence once it fired, else nil.
func (w *watch) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}

// TimeoutError is a Graph request that went past Options.Timeout: the
// server did not answer, stopped sending, or sent too slowly.
type TimeoutError struct{ Text string }

func (e *TimeoutError) Error() string { return e.Text }

// Timeout reports true, like net.Error timeouts.
func (e *TimeoutError) Timeout() bool { return true }

// watchedBody is an answer's body under its watch: reads count as
// progress, and a read cut short by the watch returns the watch's
// sentence. Close stops the watch and frees the concurrency slot.
type watchedBody struct {
	rc      io.ReadCloser
	w       *watch
	release func()
	cancel  context.CancelCauseFunc
	once    sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.w.moved(n, true)
	if err != nil && err != io.EOF {
		if werr := b.w.failure(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.w.stop()
		b.cancel(nil)
		b.release()
	})
	return err
}

// countingBody is a request body whose reads count as progress.
type countingBody struct {
	rc io.ReadCloser
	w  *watch
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.w.moved(n, false)
	if err == io.EOF {
		b.w.mu.Lock()
		b.w.sentAll = true
		b.w.mu.Unlock()
	}
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// TooLongError is an answer longer than any honest Graph answer.
type TooLongError struct {
	Server string // "Graph at host"
	What   string // "the listing", "message X"
	Limit  int64
	Reason string // why the limit is what it is
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%s sent more than %s for %s: refusing the rest (%s)", e.Server, sizeText(e.Limit), e.What, e.Reason)
}

// capReader returns a TooLongError once more than limit octets arrive.
type capReader struct {
	r     io.Reader
	left  int64
	tooFn func() error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.tooFn()
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n - int(-c.left), c.tooFn()
	}
	return n, err
}

// limitJSON caps a JSON answer at maxJSONBody.
func (c *Client) limitJSON(r io.Reader, what string) io.Reader {
	return &capReader{r: r, left: maxJSONBody, tooFn: func() error {
		return &TooLongError{Server: c.serverName(), What: what, Limit: maxJSONBody, Reason: "Graph's answers are far smaller"}
	}}
}

// drain reads and drops an answer body we do not need, up to maxJSONBody.
func (c *Client) drain(r io.Reader, what string) error {
	_, err := io.Copy(io.Discard, c.limitJSON(r, what))
	return err
}

// origin is a URL's scheme, host and port, the unit the token is bound to.
type origin struct{ scheme, host, port string }

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		}
	}
	return o
}

func (o origin) String() string {
	return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
}

// sameOrigin reports whether a URL (a nextLink, a redirect) points at the
// Graph origin we talk to; the bearer token must never go anywhere else.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.User == nil && originOf(u) == originOf(c.base)
}

// RedirectError is a redirect mailport refused to follow: to another
// origin (scheme, host or port), where the access token must not go.
type RedirectError struct {
	Server string
	From   string // the path redirected
	To     string // scheme://host:port/path of the target
	Text   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s redirected %s to %s: %s", e.Server, e.From, e.To, e.Text)
}

// maxRedirects bounds redirects within the Graph origin.
const maxRedirects = 5

// checkRedirect refuses any redirect that leaves the Graph origin. Go's
// client keeps the Authorization header when only the port or scheme
// changes, so following such a redirect would hand the token to whatever
// listens there; and a listing answered by another server must not pass
// for the folder's. Refusing is simpler and safer than dropping the token:
// Graph itself never redirects its API calls to another origin.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	from := "a request"
	if len(via) > 0 {
		from = via[len(via)-1].Method + " " + via[len(via)-1].URL.Path
	}
	to := originOf(req.URL).String() + req.URL.Path
	base := originOf(c.base)
	switch {
	case base.scheme == "https" && !strings.EqualFold(req.URL.Scheme, "https"):
		return &RedirectError{Server: c.serverName(), From: from, To: to,
			Text: "refusing to follow a redirect from https to plain " + req.URL.Scheme + ", which would send the access token unencrypted"}
	case !c.sameOrigin(req.URL):
		return &RedirectError{Server: c.serverName(), From: from, To: to,
			Text: "refusing to follow a redirect to another host, port or scheme, which would hand it the access token (check the account's graph_url)"}
	case len(via) >= maxRedirects:
		return &RedirectError{Server: c.serverName(), From: from, To: to,
			Text: fmt.Sprintf("giving up after %d redirects", len(via))}
	}
	return nil
}

// transportErr turns an attempt's transport error into one sentence:
// the watch's, a refused redirect, or the transport's own words.
func (c *Client) transportErr(r request, w *watch, err error) error {
	if werr := w.failure(); werr != nil {
		return fmt.Errorf("graph: %w", werr)
	}
	var re *RedirectError
	if errors.As(err, &re) {
		return fmt.Errorf("graph: %w", re)
	}
	return fmt.Errorf("graph: %s %s: %w", r.method, c.pathOf(r.url), err)
}

// sizeText prints an octet count for people: 512 B, 12.3 KB, 1.2 MB.
func sizeText(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
