package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mailport/mailport/pkg/resolver"
)

// maxRedirects bounds the redirects of one fetch.
const maxRedirects = 5

// errInsecureRedirect refuses a redirect away from https.
type errInsecureRedirect struct{ to string }

func (e *errInsecureRedirect) Error() string { return "redirect to " + e.to }

// httpClient is Options.HTTPClient (a copy) or an HTTPS-only client whose
// connections go through the resolver, with redirects kept on https.
func (d *run) httpClient() *http.Client {
	var hc http.Client
	if d.opts.HTTPClient != nil {
		hc = *d.opts.HTTPClient
	} else {
		hc.Transport = resolver.Transport(d.opts.Resolver, d.opts.Timeout)
	}
	hc.Timeout = d.opts.Timeout
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return &errInsecureRedirect{to: req.URL.Redacted()}
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		return nil
	}
	return &hc
}

// get fetches an https URL, at most limit bytes. It returns the body, or
// nil and the outcome in one sentence. When redirects led to another host,
// the outcome of a body fetched is "redirected to URL", so the report
// says where the file really came from.
func (d *run) get(ctx context.Context, rawURL string, limit int64) ([]byte, string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" {
		return nil, "refused: not an https URL"
	}
	rctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "refused: " + err.Error()
	}
	req.Header.Set("Accept", "application/xml, text/xml, application/json;q=0.9, */*;q=0.1")
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, httpWords(err, d.opts.Timeout.String())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotFound {
			return nil, "not found (404)"
		}
		return nil, fmt.Sprintf("refused: HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "failed while reading: " + httpWords(err, d.opts.Timeout.String())
	}
	if int64(len(body)) > limit {
		return nil, fmt.Sprintf("refused: larger than %d KiB", limit>>10)
	}
	if final := resp.Request.URL; final != nil && !strings.EqualFold(final.Host, u.Host) {
		return body, "redirected to " + clip(final.Redacted(), 200)
	}
	return body, ""
}

// httpWords is one short sentence for a failed request.
func httpWords(err error, timeout string) string {
	var ir *errInsecureRedirect
	if errors.As(err, &ir) {
		return "refused: " + ir.Error() + " (only https is trusted)"
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return "no such host " + clip(de.Name, 100)
		}
		return "looking up " + clip(de.Name, 100) + " failed: " + dnsWords(err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "no answer within " + timeout
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "failed: " + clip(err.Error(), 160)
}

// dnsWords says a lookup failure without Go's "lookup x on y:" prefix.
func dnsWords(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no such record"
		case de.IsTimeout:
			return "no answer from the DNS server"
		}
		return clip(de.Err, 120)
	}
	return clip(err.Error(), 120)
}

// isNotFound reports whether err says the name has no such record.
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func jsonWords(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("broken JSON at byte %d", se.Offset)
	}
	return clip(strings.TrimPrefix(err.Error(), "json: "), 120)
}
