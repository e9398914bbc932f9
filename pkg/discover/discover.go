// Package discover finds the mail servers of an address, as mail clients
// do: the provider by the domain's MX records (Microsoft 365, Google), the
// domain's Thunderbird autoconfig file (at autoconfig.<domain> and under
// /.well-known), Thunderbird's ISP database (for the domain and for its
// mail exchanger's registered domain), and RFC 6186 SRV records. It stops
// at the first source that gives a complete inbound and outbound set but
// reports every source it tried, and, when asked, probes each candidate
// live with the checks `mailport test` runs.
//
// Every lookup goes through pkg/resolver (MAILPORT_RESOLVER) and every
// fetch is HTTPS only, size-limited and bounded by a deadline: an answer
// from the network is never trusted further than it can be checked.
package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/resolver"
)

// DefaultTimeout bounds each lookup and request.
const DefaultTimeout = 10 * time.Second

// Sources, in the order Discover tries them.
const (
	SourceMX                  = "mx"
	SourceAutoconfig          = "autoconfig"
	SourceAutoconfigWellKnown = "autoconfig-wellknown"
	SourceISPDB               = "ispdb"
	SourceSRV                 = "srv"
)

// Providers Discover recognises.
const (
	ProviderMicrosoft = config.ProviderMicrosoft
	ProviderGoogle    = config.ProviderGoogle
)

// Options configure Discover. The zero value is usable.
type Options struct {
	// Probe checks each candidate of the chosen set live with the code
	// `mailport test` uses (DNS, TCP, TLS, greeting, capabilities).
	Probe bool
	// Resolver does the DNS lookups; nil means resolver.FromEnv()
	// (MAILPORT_RESOLVER, else the system's resolver).
	Resolver *resolver.Resolver
	// HTTPClient fetches autoconfig files and Microsoft's OpenID
	// configuration; nil means an HTTPS-only client dialing through
	// Resolver. Discover uses a copy whose redirects must stay on https.
	HTTPClient *http.Client
	// Timeout bounds each lookup and request; 0 means DefaultTimeout.
	Timeout time.Duration
	// Protocol is the preferred inbound protocol: config.IMAP, config.POP3
	// or "" (any; IMAP first).
	Protocol string
}

// Result is what Discover found for an address.
type Result struct {
	Email  string `json:"email"`
	Domain string `json:"domain"`
	// Provider is "microsoft", "google" or "".
	Provider string `json:"provider"`
	// Preset is the account preset: "office365", "gmail" or "".
	Preset string `json:"preset"`
	// Tenant is the Microsoft tenant id from the domain's OpenID
	// configuration, "" when unknown.
	Tenant string `json:"tenant"`
	// Cloud is the Microsoft cloud of the tenant's issuer (global, usgov,
	// usgov-dod, china), "" when unknown.
	Cloud string `json:"cloud"`
	// Source is the source that completed the inbound and outbound set, ""
	// when no source did.
	Source   string      `json:"source"`
	Tried    []Attempt   `json:"tried"`
	Inbound  []Candidate `json:"inbound"`
	Outbound []Candidate `json:"outbound"`
	// Missing names what the set lacks: "inbound", "outbound", both, or
	// none when it is complete.
	Missing  []string  `json:"missing"`
	Warnings []Warning `json:"warnings"`
}

// WarningKind says what a Warning is about, so a caller can pick the ones
// it needs without reading their words.
type WarningKind string

// The kinds of warning.
const (
	// WarnOutside is a server outside the address's domain and its mail
	// exchanger's.
	WarnOutside WarningKind = "outside"
	// WarnPlaintext is a server that would take the password without
	// encryption.
	WarnPlaintext WarningKind = "plaintext"
	// WarnMissing says the set lacks an inbound or outbound server (see
	// Result.Missing).
	WarnMissing WarningKind = "missing"
)

// Warning is one sentence for the user, its kind and the host it is about
// ("" for WarnMissing). In JSON it is the sentence alone.
type Warning struct {
	Kind WarningKind
	Text string
	Host string
}

func (w Warning) String() string { return w.Text }

// MarshalJSON writes the sentence.
func (w Warning) MarshalJSON() ([]byte, error) { return json.Marshal(w.Text) }

// UnmarshalJSON reads the sentence; the kind is not in JSON.
func (w *Warning) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &w.Text) }

// Complete reports whether the result has both an inbound and an outbound
// server.
func (r *Result) Complete() bool { return len(r.Inbound) > 0 && len(r.Outbound) > 0 }

// Attempt is one source Discover tried.
type Attempt struct {
	Source string `json:"source"`
	// Query is the URL fetched or the DNS name looked up.
	Query string `json:"query"`
	// Outcome is one sentence: "3 servers", "not found (404)",
	// "refused: redirect to http://…".
	Outcome string `json:"outcome"`
}

// Candidate is one server for the address.
type Candidate struct {
	// Protocol is config.IMAP, config.POP3, config.SMTP or config.Microsoft.
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	// Encryption is config.SSL, config.StartTLS or config.None.
	Encryption string `json:"encryption"`
	// Auth is config.AuthBasic or config.AuthOAuth2.
	Auth string `json:"auth"`
	// Login is the user name, placeholders substituted.
	Login  string `json:"login"`
	Source string `json:"source"`
	// Query is where the source named it: the URL of the autoconfig
	// file, the SRV name, or the domain whose MX records named the
	// provider.
	Query string `json:"query"`
	// OutsideDomain is true when the host is neither in the address's
	// domain nor in its mail exchanger's registered domain.
	OutsideDomain bool `json:"outside_domain"`
	// Probe is the live check's outcome, nil unless Options.Probe.
	Probe *Probe `json:"probe,omitempty"`
}

// Inbound reports whether the candidate is an inbound server.
func (c Candidate) Inbound() bool { return c.Protocol != config.SMTP }

// String is "imap imap.example.com:993 (ssl, basic)".
func (c Candidate) String() string {
	return fmt.Sprintf("%s %s:%d (%s, %s)", c.Protocol, c.Host, c.Port, c.Encryption, c.Auth)
}

// Probe is the outcome of checking a candidate live.
type Probe struct {
	OK bool `json:"ok"`
	// Summary is what the checks saw, e.g. "TLS ok, IMAP greeting,
	// AUTH=PLAIN", or the failure.
	Summary string `json:"summary"`
	// Mechanisms are the SASL mechanisms the server offers.
	Mechanisms []string `json:"mechanisms"`
}

// ErrAddress is the error for an address Discover cannot use.
var ErrAddress = errors.New("not an email address")

// Discover finds the servers of email. The error is only for an address
// it cannot use, an invalid MAILPORT_RESOLVER, or a cancelled ctx; every
// source's failure is an Attempt of the Result.
func Discover(ctx context.Context, email string, opts Options) (*Result, error) {
	local, domain, err := SplitAddress(email)
	if err != nil {
		return nil, err
	}
	if opts.Protocol != "" && opts.Protocol != config.IMAP && opts.Protocol != config.POP3 {
		return nil, fmt.Errorf("discover: protocol %q is not imap or pop3", opts.Protocol)
	}
	if opts.Resolver == nil {
		r, err := resolver.FromEnv()
		if err != nil {
			return nil, err
		}
		opts.Resolver = r
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Resolver.Timeout == 0 {
		r := *opts.Resolver
		r.Timeout = opts.Timeout
		opts.Resolver = &r
	}
	d := &run{opts: opts, local: local, domain: domain, email: local + "@" + domain,
		res: &Result{Email: local + "@" + domain, Domain: domain, Tried: []Attempt{}, Inbound: []Candidate{}, Outbound: []Candidate{}, Missing: []string{}, Warnings: []Warning{}}}
	d.http = d.httpClient()
	d.discover(ctx)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("discover %s: %w", d.email, err)
	}
	return d.res, nil
}

// SplitAddress returns an address's local part and its domain, lower-cased
// and without a trailing dot.
func SplitAddress(email string) (local, domain string, err error) {
	s := strings.TrimSpace(email)
	a, perr := mail.ParseAddress(s)
	if perr != nil || a.Name != "" || strings.ContainsAny(s, "<>") {
		return "", "", fmt.Errorf("%q is %w such as support@example.com", email, ErrAddress)
	}
	at := strings.LastIndexByte(a.Address, '@')
	local, domain = a.Address[:at], strings.TrimSuffix(strings.ToLower(a.Address[at+1:]), ".")
	if !validDomain(domain) || !strings.Contains(domain, ".") {
		return "", "", fmt.Errorf("%q is %w: %q is not a domain name", email, ErrAddress, domain)
	}
	return local, domain, nil
}

// validDomain accepts a DNS host name: labels of letters, digits and
// hyphens (and underscores, seen in the wild), each 1 to 63 bytes.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// run is one discovery.
type run struct {
	opts          Options
	local, domain string
	email         string
	http          *http.Client
	res           *Result
	mxs           []string // the MX hosts, best first, lower case, no trailing dot
	mxDomain      string   // the first MX host's registered domain
}

func (d *run) try(source, query, outcome string) {
	d.res.Tried = append(d.res.Tried, Attempt{Source: source, Query: query, Outcome: outcome})
}

// discover tries the sources in order until one completes the set.
func (d *run) discover(ctx context.Context) {
	steps := []func(context.Context) bool{
		d.provider,
		d.autoconfig,
		d.wellKnown,
		d.ispdb,
		d.srv,
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			return
		}
		if step(ctx) {
			break
		}
	}
	d.finish()
	if d.opts.Probe && ctx.Err() == nil {
		d.probe(ctx)
	}
}

// take adds a source's candidates, named at query unless they say where;
// it reports whether the set is complete.
func (d *run) take(source, query string, cands []Candidate) bool {
	for _, c := range cands {
		c.Source = source
		if c.Query == "" {
			c.Query = query
		}
		if c.Inbound() {
			d.res.Inbound = append(d.res.Inbound, c)
		} else {
			d.res.Outbound = append(d.res.Outbound, c)
		}
	}
	if d.res.Complete() && d.res.Source == "" {
		d.res.Source = source
		return true
	}
	return false
}

// MaxCandidates bounds the servers of each direction a Result holds (the
// best first): hostile files and SRV answers could otherwise name hundreds,
// each to be printed and, with Probe, connected to.
const MaxCandidates = 16

// finish orders the candidates, keeps the best MaxCandidates of each
// direction, marks those outside the domain and warns.
func (d *run) finish() {
	d.res.Inbound = orderInbound(d.res.Inbound, d.opts.Protocol)
	d.res.Outbound = orderOutbound(d.res.Outbound)
	if len(d.res.Inbound) > MaxCandidates {
		d.res.Inbound = d.res.Inbound[:MaxCandidates]
	}
	if len(d.res.Outbound) > MaxCandidates {
		d.res.Outbound = d.res.Outbound[:MaxCandidates]
	}
	warned := map[string]bool{}
	for _, list := range [][]Candidate{d.res.Inbound, d.res.Outbound} {
		for i := range list {
			c := &list[i]
			c.OutsideDomain = d.outside(c.Host)
			if c.OutsideDomain && c.Source != SourceMX && !warned[c.Host] {
				warned[c.Host] = true
				d.res.Warnings = append(d.res.Warnings, Warning{WarnOutside, fmt.Sprintf("%s is outside %s and its mail exchanger's domain (from %s): make sure you trust it before giving it your password.", c.Host, d.domain, c.Source), c.Host})
			}
			hp := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
			if c.Encryption == config.None && c.Auth == config.AuthBasic && !warned[hp] {
				warned[hp] = true
				d.res.Warnings = append(d.res.Warnings, Warning{WarnPlaintext, fmt.Sprintf("%s %s takes the password without encryption (from %s): anyone on the network path can read it; prefer a server with ssl or starttls.", c.Protocol, hp, c.Source), c.Host})
			}
		}
	}
	if len(d.res.Inbound) == 0 {
		d.res.Missing = append(d.res.Missing, config.Inbound)
	}
	if len(d.res.Outbound) == 0 {
		d.res.Missing = append(d.res.Missing, config.Outbound)
	}
	var text string
	switch len(d.res.Missing) {
	case 0:
		return
	case 2:
		text = "No source named a server for " + d.domain + "."
	default:
		if d.res.Missing[0] == config.Inbound {
			text = "No source named an inbound server for " + d.domain + "."
		} else {
			text = "No source named an outbound (SMTP) server for " + d.domain + "."
		}
	}
	d.res.Warnings = append(d.res.Warnings, Warning{Kind: WarnMissing, Text: text})
}

// outside reports whether host is outside the address's domain and the
// MX's registered domain.
func (d *run) outside(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	in := func(dom string) bool { return dom != "" && (h == dom || strings.HasSuffix(h, "."+dom)) }
	return !in(d.domain) && !in(d.mxDomain)
}

// RegisteredDomain approximates a host's registrable domain by its last
// two labels, or three when the last is a two-letter country code and the
// one before it is short (example.co.uk, example.com.au). It is not the
// public suffix list: it only widens the set of hosts not warned about and
// picks a second ISP database entry, where a miss costs little.
func RegisteredDomain(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return ""
	}
	n := 2
	if len(labels) >= 3 && len(labels[len(labels)-1]) == 2 && len(labels[len(labels)-2]) <= 3 {
		n = 3
	}
	return strings.Join(labels[len(labels)-n:], ".")
}
