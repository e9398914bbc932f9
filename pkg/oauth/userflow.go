package oauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// DefaultTimeout is how long the user flow waits for the browser.
const DefaultTimeout = 5 * time.Minute

// UserFlowOptions tune the authorization-code flow. The zero value opens
// the default browser and listens on a free port of 127.0.0.1.
type UserFlowOptions struct {
	// Scopes to ask for; nil means the token config's.
	Scopes []string
	// Listen is host:port to listen on (loopback only), overriding the
	// port of redirect_url; without redirect_url the redirect URI becomes
	// http://Listen/.
	Listen string
	// NoBrowser prints the URL without opening a browser, and reads the
	// final redirected URL pasted on In, whichever of paste and callback
	// comes first. When In cannot deliver a pasted line (closed, /dev/null,
	// a pipe that ends first) the flow fails at once with a *NoPasteError.
	NoBrowser bool
	// Timeout ends the wait; 0 means DefaultTimeout.
	Timeout time.Duration
	// Out receives the instructions (the URL is always printed); nil discards.
	Out io.Writer
	// In is where a pasted redirect URL is read from (NoBrowser, a
	// redirect_url that is not on this machine, or no browser opened).
	In io.Reader
	// Open opens the browser; nil means DefaultOpener. When it fails, the
	// flow asks at once for the address to be pasted on In (and still
	// takes the callback); when In cannot deliver one either, it fails at
	// once with a *NoPasteError.
	Open func(url string) error
	// LoginHint pre-fills the sign-in page with the account's login.
	LoginHint string
}

// PortInUseError means the redirect port is taken by another program.
type PortInUseError struct {
	Addr   string // host:port
	Pinned string // what pinned the port: "redirect_url" or "--listen"
}

func (e *PortInUseError) Error() string {
	_, port, _ := net.SplitHostPort(e.Addr)
	fix := "stop the program using it, or choose another port with --listen 127.0.0.1:PORT"
	if e.Pinned == "redirect_url" {
		fix = "stop the program using it, or register another loopback port with the app and set redirect_url to it (or use --listen 127.0.0.1:PORT if the provider ignores loopback ports, as Microsoft does)"
	}
	return fmt.Sprintf("port %s on 127.0.0.1 is already in use, so mailport cannot receive the sign-in redirect there: %s", port, fix)
}

// TimeoutError means no sign-in response arrived in time.
type TimeoutError struct {
	Redirect string
	After    time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no sign-in response arrived at %s within %s: finish the sign-in in the browser, check that the app's registered redirect URI matches that address, or use --no-browser and paste the address the browser ends on", e.Redirect, e.After)
}

// StateMismatch is what a callback with a foreign state gets; exported
// for tests and the docs.
const StateMismatch = "this sign-in response does not belong to the sign-in mailport is waiting for (state mismatch)"

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// randomState is 32 random bytes, base64url.
func randomState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating the OAuth2 state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// userFlow is one run of the authorization-code flow.
type userFlow struct {
	c        *Client
	ctx      context.Context
	cfg      *oauth2.Config
	state    string
	verifier string
	redirect string
	out      io.Writer
	outMu    sync.Mutex
	claimed  atomic.Bool
	done     chan flowResult // buffered 1; written once, by whoever claims
}

type flowResult struct {
	tok *oauth2.Token
	err error
}

func (f *userFlow) printf(format string, a ...any) {
	f.outMu.Lock()
	defer f.outMu.Unlock()
	fmt.Fprintf(f.out, format, a...)
}

// UserFlow runs the authorization-code flow with PKCE and returns the
// token. It listens on 127.0.0.1 for the redirect, or, for a redirect_url
// elsewhere and with NoBrowser, takes the final URL pasted on opts.In.
func (c *Client) UserFlow(ctx context.Context, opts UserFlowOptions) (*Token, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	scopes := opts.Scopes
	if scopes == nil {
		scopes = c.Config.Scopes
	}
	if c.Endpoints.AuthURL == "" {
		return nil, fmt.Errorf("token config %s has no authorization URL: set auth_url", c.Name)
	}

	listenAddr, path, redirect, pinned, err := c.redirectPlan(opts.Listen)
	if err != nil {
		return nil, err
	}
	paste := opts.NoBrowser || listenAddr == ""
	if listenAddr == "" && opts.In == nil {
		return nil, fmt.Errorf("redirect_url %s is not on this machine, so mailport cannot receive the redirect: run with --no-browser and paste the address the browser ends on, or register http://127.0.0.1/ as a redirect URI and clear redirect_url", redirect)
	}
	pasteLead := "--no-browser needs the address the browser ends on pasted on standard input, but "
	if listenAddr == "" {
		pasteLead = fmt.Sprintf("redirect_url %s is not on this machine, so the address the browser ends on must be pasted on standard input, but ", redirect)
	}
	if why := pasteUnusable(opts.In); paste && why != "" {
		return nil, c.noPaste(pasteLead + why)
	}

	var ln net.Listener
	if listenAddr != "" {
		ln, err = net.Listen("tcp", listenAddr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, &PortInUseError{Addr: listenAddr, Pinned: pinned}
			}
			return nil, fmt.Errorf("listening on %s for the sign-in redirect: %w", listenAddr, err)
		}
		defer ln.Close()
		if redirect == "" {
			redirect = "http://" + ln.Addr().String() + "/"
		}
	}

	state, err := randomState()
	if err != nil {
		return nil, err
	}
	f := &userFlow{
		c: c, ctx: ctx, state: state, verifier: oauth2.GenerateVerifier(), redirect: redirect,
		out: out, done: make(chan flowResult, 1),
	}
	f.cfg = c.oauth2Config(redirect, scopes)
	authOpts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier)}
	if opts.LoginHint != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("login_hint", opts.LoginHint))
	}
	authURL, err := mergeAuthURL(c.Endpoints.AuthURL, f.cfg.AuthCodeURL(state, authOpts...), c.Config.Provider)
	if err != nil {
		return nil, err
	}

	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			status, page := f.handle(r.URL.Query(), false)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			io.WriteString(w, page)
		}), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer func() {
			// Let the success page reach the browser before closing.
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
	}

	f.printf("Open this address in a browser to sign in:\n\n  %s\n\n", authURL)
	if !opts.NoBrowser && ln != nil {
		open := opts.Open
		if open == nil {
			open = DefaultOpener
		}
		if err := open(authURL); err != nil {
			// Waiting minutes for a callback no browser will send helps
			// nobody: ask for the address at once, or say how to sign in.
			lead := fmt.Sprintf("no browser opened (%v), and the address the browser ends on cannot be pasted instead as ", err)
			if why := pasteUnusable(opts.In); why != "" {
				return nil, c.noPaste(lead + why)
			}
			f.printf("No browser opened (%v).\nOpen the address above in a browser, on this machine or any other, and sign in; then paste the address the browser ends on (it starts with %s) here and press Enter:\n", err, redirect)
			go f.readPasted(opts.In, lead)
		} else if !paste {
			f.printf("Waiting for the browser to finish the sign-in at %s ...\n", redirect)
		}
	}
	if paste {
		f.printf("After signing in, the browser ends on an address starting with %s\nPaste that whole address here and press Enter:\n", redirect)
		go f.readPasted(opts.In, pasteLead)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res flowResult
	select {
	case res = <-f.done:
	case <-timer.C:
		if !f.claimed.CompareAndSwap(false, true) {
			res = <-f.done // a callback is being exchanged right now
			break
		}
		return nil, &TimeoutError{Redirect: redirect, After: timeout}
	case <-ctx.Done():
		if !f.claimed.CompareAndSwap(false, true) {
			res = <-f.done
			break
		}
		return nil, fmt.Errorf("sign-in interrupted: %w", ctx.Err())
	}
	if res.err != nil {
		return nil, res.err
	}
	return fromOAuth2(res.tok, scopes, "user", c.Config.ClientID, c.Config.IdentityClaim, c.now()), nil
}

// redirectPlan decides where to listen and which redirect URI to send.
// An empty listen address means the redirect cannot reach us (paste only).
func (c *Client) redirectPlan(listen string) (listenAddr, path, redirect, pinned string, err error) {
	path = "/"
	if r := c.Config.RedirectURL; r != "" {
		u, perr := url.Parse(r)
		if perr != nil || u.Host == "" {
			return "", "", "", "", fmt.Errorf("redirect_url %q of token config %s is not an absolute URL", r, c.Name)
		}
		redirect = r
		if u.Path != "" {
			path = u.Path
		}
		if u.Scheme == "http" && isLoopbackHost(u.Hostname()) {
			port := u.Port()
			if port == "" {
				port = "80"
			}
			listenAddr, pinned = net.JoinHostPort("127.0.0.1", port), "redirect_url"
		}
	}
	if listen != "" {
		host, port, serr := net.SplitHostPort(listen)
		if serr != nil {
			return "", "", "", "", fmt.Errorf("--listen %q is not host:port, e.g. 127.0.0.1:8400", listen)
		}
		if host == "" || host == "localhost" {
			host = "127.0.0.1"
		}
		if !isLoopbackHost(host) {
			return "", "", "", "", fmt.Errorf("--listen %q is not a loopback address: mailport only listens on 127.0.0.1", listen)
		}
		if _, perr := strconv.Atoi(port); perr != nil {
			return "", "", "", "", fmt.Errorf("--listen %q has no numeric port", listen)
		}
		listenAddr, pinned = net.JoinHostPort(host, port), "--listen"
		switch {
		case redirect == "" && port != "0":
			redirect = "http://" + listenAddr + "/"
		case redirect != "" && port != "0":
			// A loopback redirect_url keeps its host and path but takes
			// the port listened on: Microsoft and Google ignore the port
			// of loopback redirect URIs when matching them.
			if u, perr := url.Parse(redirect); perr == nil && isLoopbackHost(u.Hostname()) {
				u.Host = net.JoinHostPort(u.Hostname(), port)
				redirect = u.String()
			}
		}
		return listenAddr, path, redirect, pinned, nil
	}
	if c.Config.RedirectURL == "" {
		listenAddr = "127.0.0.1:0"
	}
	return listenAddr, path, redirect, pinned, nil
}

// handle processes one callback (from the listener or pasted) and returns
// the HTTP status and page for the browser.
func (f *userFlow) handle(q url.Values, pasted bool) (int, string) {
	if q.Get("state") == "" && q.Get("code") == "" && q.Get("error") == "" {
		return http.StatusBadRequest, page("Not a sign-in response", "This address carries no sign-in response.")
	}
	if q.Get("state") != f.state {
		f.printf("Ignored a sign-in response: %s; still waiting.\n", StateMismatch)
		return http.StatusBadRequest, page("Sign-in not accepted", strings.ToUpper(StateMismatch[:1])+StateMismatch[1:]+". Start again from the address mailport printed.")
	}
	if q.Get("error") == "" && q.Get("code") == "" {
		return http.StatusBadRequest, page("Not a sign-in response", "This sign-in response carries neither a code nor an error.")
	}
	if !f.claimed.CompareAndSwap(false, true) {
		return http.StatusOK, page("Sign-in already finished", "This sign-in has already finished; you can close this window.")
	}
	if e := q.Get("error"); e != "" {
		pe := &ProviderError{Endpoint: "authorize", Code: e, Description: q.Get("error_description"),
			TokenConfig: f.c.Name, Account: f.c.Account}
		pe.AADSTS = aadstsOf(pe.Description)
		err := fmt.Errorf("sign-in failed: %w", pe)
		f.done <- flowResult{err: err}
		return http.StatusOK, page("Sign-in failed", err.Error())
	}
	var ot *oauth2.Token
	opts, err := f.c.assertionOptions(f.ctx, oauth2.VerifierOption(f.verifier))
	if err == nil {
		ot, err = f.cfg.Exchange(f.c.ctx(f.ctx), q.Get("code"), opts...)
	}
	if err != nil {
		err = fmt.Errorf("redeeming the sign-in code at %s failed: %w", f.c.Endpoints.TokenURL, f.c.fromRetrieveError("token", err))
		f.done <- flowResult{err: err}
		return http.StatusOK, page("Sign-in failed", err.Error())
	}
	f.done <- flowResult{tok: ot}
	who := fromOAuth2(ot, nil, "", "", f.c.Config.IdentityClaim, time.Now()).User
	if who == "" {
		who = "the account"
	}
	return http.StatusOK, page("Signed in", "Authenticated as "+who+", you can close this window.")
}

// readPasted takes redirect URLs pasted one per line until one ends the
// flow. When in ends first, the flow ends with a *NoPasteError starting
// with lead: pasting was the only way left (--no-browser, a redirect_url
// elsewhere, or no browser opened).
func (f *userFlow) readPasted(in io.Reader, lead string) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	defer func() {
		if !f.claimed.CompareAndSwap(false, true) {
			return // the flow ended some other way
		}
		why := "standard input ended before it was pasted"
		if err := sc.Err(); err != nil {
			why = fmt.Sprintf("reading standard input failed (%v)", err)
		}
		f.done <- flowResult{err: f.c.noPaste(lead + why)}
	}()
	for sc.Scan() {
		if f.claimed.Load() {
			return
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		raw := line
		if i := strings.IndexByte(line, '?'); i >= 0 {
			raw = line[i+1:]
		}
		if i := strings.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		q, err := url.ParseQuery(raw)
		if err != nil || (q.Get("code") == "" && q.Get("error") == "") {
			f.printf("That is not the address the browser ended on; paste the whole address starting with %s\n", f.redirect)
			continue
		}
		if status, _ := f.handle(q, true); status == http.StatusOK {
			return
		}
	}
}

// page is the small HTML page the browser shows.
func page(title, text string) string {
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mailport: " + html.EscapeString(title) +
		"</title></head><body style=\"font-family:sans-serif;margin:3em\"><h1>" + html.EscapeString(title) +
		"</h1><p id=\"message\">" + html.EscapeString(text) + "</p></body></html>\n"
}
