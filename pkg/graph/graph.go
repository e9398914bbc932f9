// Package graph is the Microsoft Graph mail adapter: it implements
// mail.Inbound and mail.Outbound over the Graph REST API with net/http and
// a bearer token from a mail.TokenFunc.
//
// Folder paths such as "Inbox/Endpoint" have no API in Graph; Open walks
// them from a well-known folder name through childFolders filtered by
// displayName. Messages are listed with @odata.nextLink paging, fetched as
// raw MIME from /messages/{id}/$value, and sent as base64 MIME through
// sendMail. Graph answers errors as {"error":{"code","message"}}; they
// become *Error so callers can branch on the code. Throttling (429) and
// unavailability (503, 504) are retried after Retry-After.
//
// A Client is safe for concurrent use. It never has more than
// Options.Concurrency requests in flight, because Outlook allows only four
// concurrent requests per app and mailbox and answers more with 429.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/resolver"
)

// DefaultBaseURL is the global Graph endpoint. National clouds have their
// own (e.g. https://graph.microsoft.us/v1.0); the account property
// graph_url sets it.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Defaults for Options.
const (
	DefaultConcurrency = 4
	DefaultMaxRetries  = 5
	DefaultPageSize    = 1000 // the largest $top Graph accepts for messages
)

// Backoff when a throttled answer carries no Retry-After.
const (
	firstBackoff = 1 * time.Second
	maxBackoff   = 32 * time.Second
	// maxRetryAfter is the longest wait we accept from Retry-After; a
	// one-shot CLI should rather fail with the throttling error than hang.
	maxRetryAfter = 2 * time.Minute
)

// Options configure a Client.
type Options struct {
	// BaseURL is the Graph root including the version, default DefaultBaseURL.
	BaseURL string
	// Login is the mailbox address. Empty means the token's own mailbox.
	Login string
	// TokenUser is the user the token was issued for, when known. When it
	// equals Login (case-insensitively) or Login is empty, requests go to
	// /me; otherwise to /users/{Login} (a shared or delegated mailbox).
	TokenUser string
	// Token returns the bearer token. Credentials given to Authenticate
	// replace it.
	Token mail.TokenFunc
	// HTTPClient defaults to a client without an overall timeout (message
	// downloads may be long); requests are bounded by their context and by
	// Timeout. The Client uses a copy whose CheckRedirect refuses any
	// redirect to another origin.
	HTTPClient *http.Client
	// Timeout bounds each network step; 0 means 30 s. A JSON request and
	// its whole answer must be done within it (Graph's JSON answers are
	// small: one still arriving after Timeout is stalled or endless). A
	// message download or a sendMail upload may take longer, but must move
	// at least 16 KB in every Timeout window, so neither a stall nor a
	// trickle holds it for longer than Timeout.
	Timeout time.Duration
	// Trace receives a transcript of requests and answers. The
	// Authorization header and the token never reach it.
	Trace io.Writer
	// MaxRetries bounds retries of a throttled or unavailable request;
	// 0 means DefaultMaxRetries, a negative value disables retries.
	MaxRetries int
	// Concurrency bounds requests in flight, 0 means DefaultConcurrency.
	Concurrency int
	// PageSize is $top for listing, 0 means DefaultPageSize (at most 1000).
	PageSize int
	// TempDir holds messages prefetched by Fetch and spooled by Send;
	// empty means os.TempDir(). StageIn changes it for Fetch.
	TempDir string
	// MaxPages bounds the pages of one listing, 0 means DefaultMaxPages.
	MaxPages int
	// Sleep waits between retries; nil means a timer honouring ctx.
	// Tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client is a Graph mailbox. Create it with New.
type Client struct {
	base     *url.URL
	baseStr  string
	mailbox  string // "/me" or "/users/{login}"
	hc       *http.Client
	ownHC    bool
	trace    *mail.Redactor
	retries  int
	conc     int
	pageSize int
	maxPages int
	timeout  time.Duration
	spoolDir string // Send's temporary files, Options.TempDir
	sleep    func(ctx context.Context, d time.Duration) error
	sem      chan struct{}

	mu      sync.Mutex
	token   mail.TokenFunc
	folders map[string]string // lower-cased path → folder id
	current string            // id of the open folder
	// tempDir and tempPrefix name the files Fetch stages downloads in.
	tempDir    string
	tempPrefix string
}

// New returns a Client. It makes no request.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("graph base URL %q is not an http(s) URL (account property graph_url)", opts.BaseURL)
	}
	c := &Client{
		base:     u,
		baseStr:  base,
		hc:       opts.HTTPClient,
		retries:  opts.MaxRetries,
		conc:     opts.Concurrency,
		pageSize: opts.PageSize,
		maxPages: opts.MaxPages,
		timeout:  opts.Timeout,
		sleep:    opts.Sleep,
		token:    opts.Token,
		folders:  map[string]string{},

		spoolDir:   opts.TempDir,
		tempDir:    opts.TempDir,
		tempPrefix: "mailport-",
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.maxPages <= 0 {
		c.maxPages = DefaultMaxPages
	}
	if c.hc == nil {
		timeout := c.timeout
		// Connections go through pkg/resolver (MAILPORT_RESOLVER).
		c.hc = &http.Client{Transport: resolver.Transport(nil, timeout)}
		c.ownHC = true
	} else {
		hc := *c.hc
		c.hc = &hc
	}
	c.hc.CheckRedirect = c.checkRedirect
	if opts.Trace != nil {
		c.trace = mail.NewRedactor(opts.Trace, "graph ")
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultMaxRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.conc <= 0 {
		c.conc = DefaultConcurrency
	}
	if c.pageSize <= 0 || c.pageSize > DefaultPageSize {
		c.pageSize = DefaultPageSize
	}
	if c.spoolDir == "" {
		c.spoolDir = os.TempDir()
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	c.sem = make(chan struct{}, c.conc)
	c.mailbox = mailboxPath(opts.Login, opts.TokenUser)
	return c, nil
}

func mailboxPath(login, tokenUser string) string {
	if login == "" || strings.EqualFold(login, tokenUser) {
		return "/me"
	}
	return "/users/" + url.PathEscape(login)
}

// MailboxPath is "/me" or "/users/{login}": where requests go.
func (c *Client) MailboxPath() string { return c.mailbox }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Greeting is empty: HTTP has none.
func (c *Client) Greeting() string { return "" }

// Capabilities are fixed: Graph offers the same API to every mailbox.
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	return []string{"GRAPH"}, nil
}

// Authenticate takes the token from cr (or Options.Token) and proves it
// opens the mailbox by reading its Inbox. A 401 or 403 is a *mail.AuthError
// carrying Graph's code and message that also unwraps to *Error.
func (c *Client) Authenticate(ctx context.Context, cr mail.Credentials) error {
	if cr.Kind != "" && cr.Kind != mail.AuthOAuth2 {
		return errors.New("graph: Microsoft Graph accepts only OAuth2 tokens: set the account's auth to oauth2")
	}
	if cr.Token != nil {
		c.mu.Lock()
		c.token = cr.Token
		c.mu.Unlock()
	}
	var f apiFolder
	err := c.getJSON(ctx, c.mailboxURL("/mailFolders/inbox", query{{"$select", "id,displayName"}}), "the Inbox", &f)
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) && (ge.StatusCode == http.StatusUnauthorized || ge.StatusCode == http.StatusForbidden) {
		text := ge.Code
		if ge.Message != "" {
			text += ": " + ge.Message
		}
		return &authFailure{auth: &mail.AuthError{Mechanism: "Bearer", Text: text}, graph: ge}
	}
	return wrapf(err, "open mailbox %s", c.mailbox)
}

// Close releases idle connections and flushes the trace. On a nil Client
// it does nothing.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
	if c.trace != nil {
		return c.trace.Flush()
	}
	return nil
}

// query is an ordered list of query parameters.
type query [][2]string

// encode escapes spaces as %20: OData parsers do not all read '+' as a space.
func (q query) encode() string {
	var b strings.Builder
	for i, kv := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	return b.String()
}

// mailboxURL is base + mailbox + path (already escaped) + query.
func (c *Client) mailboxURL(path string, q query) string {
	s := c.baseStr + c.mailbox + path
	if len(q) > 0 {
		s += "?" + q.encode()
	}
	return s
}

// request is one Graph call. body, when set, opens the body afresh for
// every attempt.
type request struct {
	method      string
	url         string
	body        func() (io.ReadCloser, error)
	length      int64
	contentType string
	// idempotent requests are retried on 504 too; a gateway timeout may
	// have let a POST through.
	idempotent bool
	// what names the answer in errors: "the listing", "message X".
	what string
	// stream marks a request whose body or answer may be large (a
	// message): it is bounded by progress per Timeout window rather than
	// by one deadline for the whole step (see watchMode).
	stream bool
}

func (c *Client) tokenFunc() mail.TokenFunc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

func (c *Client) tracef(format string, args ...any) {
	if c.trace != nil {
		fmt.Fprintf(c.trace, format+"\n", args...)
	}
}

// do sends r, retrying throttled answers, and returns a 2xx response whose
// body holds a concurrency slot until it is closed. Other statuses become
// *Error.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	tf := c.tokenFunc()
	if tf == nil {
		return nil, errors.New("graph: no access token: authenticate the account first")
	}
	for attempt := 0; ; attempt++ {
		tok, err := tf(ctx)
		if err != nil {
			return nil, wrapf(err, "get access token")
		}
		if c.trace != nil {
			c.trace.Secret(tok)
		}
		resp, gerr, err := c.once(ctx, r, tok)
		if err != nil {
			return nil, err
		}
		if gerr == nil {
			return resp, nil
		}
		wait, retry := c.retryAfter(r, gerr, resp.Header.Get("Retry-After"), attempt)
		if !retry {
			if attempt > 0 && isRetryable(gerr.StatusCode) {
				return nil, fmt.Errorf("gave up after %s: %w", plural.Of(attempt, "retry", "retries"), gerr)
			}
			return nil, gerr
		}
		c.tracef("retrying in %s (attempt %d of %d)", wait, attempt+1, c.retries)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func isRetryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// retryAfter decides whether and how long to wait before the next attempt.
func (c *Client) retryAfter(r request, gerr *Error, header string, attempt int) (time.Duration, bool) {
	if !isRetryable(gerr.StatusCode) || attempt >= c.retries {
		return 0, false
	}
	if gerr.StatusCode == http.StatusGatewayTimeout && !r.idempotent {
		return 0, false
	}
	if header != "" {
		if secs, err := strconv.ParseFloat(strings.TrimSpace(header), 64); err == nil && secs >= 0 {
			// Compare before converting: a huge or infinite value would
			// overflow time.Duration into a negative wait.
			if secs > maxRetryAfter.Seconds() {
				return 0, false
			}
			return time.Duration(secs * float64(time.Second)), true
		}
		if t, err := http.ParseTime(header); err == nil {
			d := max(time.Until(t), 0)
			return d, d <= maxRetryAfter
		}
	}
	d := firstBackoff << attempt
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d, true
}

// once makes one attempt. It returns either a 2xx response, or the response
// headers with a decoded *Error (the body already closed), or a transport error.
// The attempt runs under a watch (see watchMode) that a 2xx body carries
// until it is closed.
func (c *Client) once(ctx context.Context, r request, tok string) (*http.Response, *Error, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-c.sem })
	actx, cancel := context.WithCancelCause(ctx)
	w := c.newWatch(r, cancel)
	abandon := func() {
		w.stop()
		cancel(nil)
		release()
	}
	var body io.ReadCloser
	if r.body != nil {
		b, err := r.body()
		if err != nil {
			abandon()
			return nil, nil, err
		}
		body = &countingBody{rc: b, w: w}
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		abandon()
		return nil, nil, wrapf(err, "build request")
	}
	if body != nil {
		req.ContentLength = r.length
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	c.tracef("> %s %s", r.method, r.url)
	resp, err := c.hc.Do(req)
	if err != nil {
		err = c.transportErr(r, w, err)
		abandon()
		return nil, nil, err
	}
	w.gotHeaders()
	c.tracef("< %s (%s, request-id %s)", resp.Status, time.Since(start).Round(time.Millisecond), resp.Header.Get("request-id"))
	resp.Body = &watchedBody{rc: resp.Body, w: w, release: release, cancel: cancel}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil, nil
	}
	gerr, err := c.parseError(resp)
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("graph: HTTP %d to %s %s, then: %w", resp.StatusCode, r.method, c.pathOf(r.url), err)
	}
	c.tracef("< error %s: %s", gerr.Code, gerr.Message)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		c.tracef("< Retry-After: %s", ra)
	}
	return resp, gerr, nil
}

// pathOf shortens a URL to its path for error messages.
func (c *Client) pathOf(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Path
	}
	return s
}

// getJSON GETs u and decodes the answer, at most maxJSONBody of it, into
// out. what names the answer in errors.
func (c *Client) getJSON(ctx context.Context, u, what string, out any) error {
	return c.getJSONWith(ctx, u, what, func(r io.Reader) error { return json.NewDecoder(r).Decode(out) })
}

// getJSONWith GETs u and hands the answer, capped at maxJSONBody, to
// decode.
func (c *Client) getJSONWith(ctx context.Context, u, what string, decode func(io.Reader) error) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, url: u, idempotent: true, what: what})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decode(c.limitJSON(resp.Body, what)); err != nil {
		return c.decodeErr(what, err)
	}
	return nil
}

// decodeErr words a failure to read or decode an answer: a watch's or a
// cap's sentence as it is, anything else as unusable.
func (c *Client) decodeErr(what string, err error) error {
	var te *TimeoutError
	var tl *TooLongError
	if errors.As(err, &te) {
		return fmt.Errorf("graph: %w", te)
	}
	if errors.As(err, &tl) {
		return fmt.Errorf("graph: %w", tl)
	}
	return fmt.Errorf("graph: %s sent %s that mailport cannot use: %w", c.serverName(), what, err)
}

// sendJSON sends in as JSON and decodes the answer into out (when not nil).
func (c *Client) sendJSON(ctx context.Context, method, u string, in, out any, idempotent bool) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return wrapf(err, "encode request")
	}
	resp, err := c.do(ctx, request{
		method: method, url: u, idempotent: idempotent,
		body:        func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil },
		length:      int64(len(payload)),
		contentType: "application/json",
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	what := "the answer to " + method + " " + c.pathOf(u)
	if out == nil {
		if err := c.drain(resp.Body, what); err != nil {
			return c.decodeErr(what, err)
		}
		return nil
	}
	if err := json.NewDecoder(c.limitJSON(resp.Body, what)).Decode(out); err != nil {
		return c.decodeErr(what, err)
	}
	return nil
}

// forEach runs fn for every id with at most Concurrency at a time and
// returns the first error (by position) after all have finished.
func (c *Client) forEach(ctx context.Context, ids []string, fn func(ctx context.Context, id string) error) error {
	errs := make([]error, len(ids))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	lim := make(chan struct{}, c.conc)
	for i, id := range ids {
		select {
		case lim <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-lim }()
			if err := fn(ctx, id); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the error that caused the cancellation, not the ones it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
