// Package diagnose is the engine behind `mailport test`: an ordered list of
// checks on one account (configuration, secrets, token, DNS, TCP, TLS,
// greeting, capabilities, authentication, folder, sending), each yielding
// ok / warn / fail / skip with what it saw, how long it took and, for a
// warn or fail, a cause and a fix in words a support person can act on.
//
// Causes and fixes come from one table, Catalog, which matches on the
// server's words, SMTP enhanced codes, AADSTS codes, OAuth and Graph error
// codes and token claims. docs/troubleshooting.md lists exactly its entries.
//
// Later checks are skipped, with the reason, when an earlier one makes them
// meaningless (no TLS handshake without a TCP connection, no folder without
// a login). Every network step is bounded by Options.Timeout.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	pluralpkg "github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/smtp"
)

// Status is a check's outcome.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

func (s Status) rank() int {
	switch s {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// Finding is one problem a check found.
type Finding struct {
	Status Status `json:"status"` // warn or fail
	// Entry is the catalog entry's ID ("" when the failure is not a known one).
	Entry string `json:"entry,omitempty"`
	// Said is the server's or provider's own words, verbatim, when there are any.
	Said string `json:"server_said,omitempty"`
	// Error is the local error text (DNS, connect, TLS) when there are no
	// server words.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause"`
	Fix   string `json:"fix"`
}

// Check is one step of the diagnosis.
type Check struct {
	ID       string        `json:"id"`   // stable: config, secrets, token, scopes, dns, tcp, tls, greeting, capabilities, auth, folder, send
	Name     string        `json:"name"` // for people: "configuration", "TLS", ...
	Status   Status        `json:"status"`
	Saw      string        `json:"saw"` // what it saw (for a skip: why it was skipped)
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for --json.
	DurationMS int64     `json:"duration_ms"`
	Findings   []Finding `json:"findings,omitempty"`
}

// Report is the diagnosis of one account.
type Report struct {
	Account  string `json:"account"`
	Type     string `json:"type"`
	Protocol string `json:"protocol"`
	Auth     string `json:"auth"`
	Login    string `json:"login"`
	Server   string `json:"server"` // e.g. "imap outlook.office365.com:993 (ssl)"
	// Result is fail when a check failed, warn when one warned, else ok.
	Result Status `json:"result"`
	// Reauth is true when the account must be authenticated again (or its
	// password stored): `mailport test` then exits 3, unless the
	// configuration must be fixed first (ConfigAdvice), which exits 2.
	Reauth bool    `json:"reauth_required"`
	Checks []Check `json:"checks"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Result == Fail }

// Options configure a diagnosis.
type Options struct {
	// Opener resolves the account (config, secrets, OAuth, trace).
	Opener *connect.Opener
	// ConfigProblems are the configuration file's validation problems that
	// concern the account, when the file does not validate; the
	// configuration check reports them and the other checks are skipped.
	ConfigProblems []string
	// SendTo, for outbound accounts, sends a real test message to this
	// address instead of the MAIL FROM / RCPT TO probe.
	SendTo string
	// Timeout bounds each network step; 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is used for Google's tokeninfo and the Graph folder probe
	// (nil: a client bounded by Timeout).
	HTTPClient *http.Client
	// TokenInfoURL is Google's tokeninfo endpoint; the account property
	// google.tokeninfo_url wins; empty means DefaultTokenInfoURL.
	TokenInfoURL string
	// Proxy picks the proxy of an HTTPS request, as pkg/graph's transport
	// does; nil means http.ProxyFromEnvironment (HTTPS_PROXY, NO_PROXY).
	// With a proxy for Graph, the network checks reach Graph through it.
	Proxy func(*http.Request) (*url.URL, error)
	Now   func() time.Time
}

// DefaultTimeout bounds each network step.
const DefaultTimeout = 10 * time.Second

// DefaultTokenInfoURL is Google's token inspection endpoint.
const DefaultTokenInfoURL = "https://oauth2.googleapis.com/tokeninfo"

// PropTokenInfoURL is the account property overriding TokenInfoURL.
const PropTokenInfoURL = "google.tokeninfo_url"

// Blockers: what later checks need.
const (
	needConfig  = "config"
	needNet     = "net"
	needCreds   = "creds"
	needSession = "session"
	needAuth    = "auth"
)

type runner struct {
	opts   Options
	name   string
	acct   *config.Account
	tc     *config.TokenConfig
	ep     mail.Endpoint
	report *Report

	blocked map[string]string // need → why it is not met

	creds      mail.Credentials
	token      *oauth.Token
	in         mail.Inbound
	out        *smtp.Client
	netAddr    string   // the address that answered the TCP check
	mechs      []string // the SASL mechanisms the capabilities check saw
	tokenUnfit bool     // the token fits check failed
	scopeDoubt bool     // the token fits check warned that the scopes may not fit
	userDiffer bool     // the token's user is not the login
}

// Run diagnoses one account. The error is only for an account that does
// not exist; every other problem is a check's finding, an internal error
// (a panic) included.
func Run(ctx context.Context, name string, opts Options) (rep *Report, err error) {
	o := opts.Opener
	a, err := o.Account(name)
	if err != nil {
		return nil, err
	}
	var r *runner
	defer func() {
		if v := recover(); v != nil {
			rep, err = Crashed(name, a, v), nil
			if r != nil && r.report != nil && len(r.report.Checks) > 0 {
				// Keep what the checks found before it.
				r.report.Checks = append(r.report.Checks, rep.Checks...)
				r.report.Result, rep = Fail, r.report
			}
		}
	}()
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if o.Timeout == 0 {
		o.Timeout = opts.Timeout
	}
	r = &runner{opts: opts, name: name, acct: a, blocked: map[string]string{}}
	if a.Auth == config.AuthOAuth2 {
		r.tc = o.Config.TokenConfigs[a.TokenConfig]
	}
	r.report = &Report{Account: name, Type: a.Type, Protocol: a.Protocol, Auth: a.Auth, Login: a.Login, Server: connect.Describe(a)}
	r.ep, _ = o.Endpoint(a) // never fails: it only copies fields
	r.ep.Timeout = opts.Timeout
	defer r.close()

	graph := a.Protocol == config.Microsoft
	r.check(ctx, "config", "configuration", nil, r.checkConfig)
	r.check(ctx, "secrets", "secrets", []string{needConfig}, r.checkSecrets)
	if a.Auth == config.AuthOAuth2 {
		r.check(ctx, "token", "token", []string{needConfig, needCreds}, r.checkToken)
		r.check(ctx, "scopes", "token fits", []string{needConfig, needCreds}, r.checkScopes)
	}
	r.check(ctx, "dns", "DNS", []string{needConfig}, r.checkDNS)
	r.check(ctx, "tcp", "TCP connect", []string{needConfig, needNet}, r.checkTCP)
	r.check(ctx, "tls", "TLS", []string{needConfig, needNet}, r.checkTLS)
	if !graph {
		r.check(ctx, "greeting", "greeting", []string{needConfig, needNet}, r.checkGreeting)
		r.check(ctx, "capabilities", "capabilities", []string{needConfig, needNet, needSession}, r.checkCapabilities)
	}
	r.check(ctx, "auth", "authentication", []string{needConfig, needNet, needCreds, needSession}, r.checkAuth)
	if a.Type == config.Inbound {
		r.check(ctx, "folder", "folder", []string{needConfig, needNet, needCreds, needSession, needAuth}, r.checkFolder)
	} else {
		r.check(ctx, "send", "sending", []string{needConfig, needNet, needCreds, needSession, needAuth}, r.checkSend)
	}

	res := OK
	for _, c := range r.report.Checks {
		if c.Status.rank() > res.rank() {
			res = c.Status
		}
	}
	r.report.Result = res
	return r.report, nil
}

func (r *runner) close() {
	if r.in != nil {
		r.closeQuietly(r.acct.Protocol, r.in)
	}
	if r.out != nil {
		r.closeQuietly(r.acct.Protocol, r.out)
	}
}

// check runs one check unless something it needs is blocked.
func (r *runner) check(ctx context.Context, id, name string, needs []string, fn func(context.Context, *Check)) {
	c := Check{ID: id, Name: name}
	for _, n := range needs {
		if why, ok := r.blocked[n]; ok {
			c.Status, c.Saw = Skip, "skipped: "+why
			r.report.Checks = append(r.report.Checks, c)
			return
		}
	}
	if err := ctx.Err(); err != nil {
		c.Status, c.Saw = Skip, "skipped: interrupted"
		r.report.Checks = append(r.report.Checks, c)
		return
	}
	start := time.Now()
	c.Status = OK
	r.safely(ctx, &c, fn)
	c.Duration = time.Since(start)
	c.DurationMS = c.Duration.Milliseconds()
	for _, f := range c.Findings {
		if f.Status.rank() > c.Status.rank() {
			c.Status = f.Status
		}
	}
	if id == "scopes" && c.Status == Fail {
		r.tokenUnfit = true
	}
	r.report.Checks = append(r.report.Checks, c)
}

func (r *runner) block(need, why string) {
	if _, ok := r.blocked[need]; !ok {
		r.blocked[need] = why
	}
}

// evidence starts the evidence of a check with the account's facts.
func (r *runner) evidence(check string) *Evidence {
	ev := &Evidence{Check: check, Protocol: r.acct.Protocol, Auth: r.acct.Auth, Host: r.acct.Host}
	if r.tc != nil {
		ev.Provider = r.tc.Provider
	}
	if r.token != nil && r.token.Claims != nil {
		ev.Audience = r.token.Claims.Audience
	}
	ev.TokenUnfit, ev.UserMismatch = r.tokenUnfit || r.scopeDoubt, r.userDiffer
	return ev
}

// find adds a finding: the catalog's cause and fix when an entry matches,
// else the check's own words (cause, fix).
func (r *runner) find(c *Check, st Status, ev *Evidence, cause, fix string) *Entry {
	f := Finding{Status: st, Said: ev.Text, Cause: cause, Fix: fix}
	if ev.Challenge != "" {
		f.Said = strings.TrimSpace(f.Said + " (challenge: " + ev.Challenge + ")")
	}
	if ev.own {
		f.Said = ""
	}
	if ev.Check == "dns" || ev.Check == "tcp" || ev.Check == "tls" {
		f.Error, f.Said = f.Said, ""
	}
	e := Lookup(ev)
	if e != nil {
		f.Entry = e.ID
		f.Cause, f.Fix = r.fill(e.Cause), r.fill(e.Fix)
		if cause != "" && cause != e.Cause {
			// The check knows the specifics (which port, which scope).
			f.Cause = cause + " " + f.Cause
		}
	}
	if f.Cause == "" {
		// Point at words only when there are some above.
		switch {
		case f.Said != "":
			f.Cause = "The check failed; the server's words are above."
		case f.Error != "":
			f.Cause = "The check failed with the error above."
		default:
			f.Cause = "The check failed without an answer from the server."
		}
	}
	if f.Fix == "" {
		f.Fix = fmt.Sprintf("Run `mailport test %s --trace FILE` and read the transcript, or pass the server's words to its administrator.", r.name)
	}
	c.Findings = append(c.Findings, f)
	return e
}

// fill replaces the catalog's placeholders with the account's names. The
// catalog names the global cloud's resources and hosts; for an account of
// a national cloud they become that cloud's, so the fix is one to follow.
func (r *runner) fill(s string) string {
	tc := r.acct.TokenConfig
	if tc == "" {
		tc = "TOKENCONFIG"
	}
	s = strings.NewReplacer("<account>", r.name, "<token-config>", tc, "<login>", r.acct.Login).Replace(s)
	if c := r.cloud(); !c.IsGlobal() {
		g := oauth.GlobalCloud()
		// Longer names first: the replacer tries them in this order.
		s = strings.NewReplacer(
			g.ExchangeApp, c.ExchangeApp, g.Exchange, c.Exchange, g.Graph, c.Graph,
			g.SMTPHost, c.SMTPHost, g.MailHost, c.MailHost,
		).Replace(s)
	}
	return s
}

// cloud is the Microsoft cloud of the account: its token config's, or for
// a password account the one whose server its host is.
func (r *runner) cloud() *oauth.Cloud {
	if r.tc != nil {
		if r.tc.Provider == config.ProviderMicrosoft {
			return oauth.CloudOf(r.tc)
		}
		return oauth.GlobalCloud()
	}
	if c := oauth.CloudOfHost(r.acct.Host); c != nil {
		return c
	}
	return oauth.GlobalCloud()
}

// stepCtx bounds one network step.
func (r *runner) stepCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.Timeout)
}

func (r *runner) now() time.Time { return r.opts.Now() }

// isTimeout reports a deadline, from a context or a net.Error.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// plural is the one plural helper, under the name the checks use.
func plural(n int, one, many string) string { return pluralpkg.Of(n, one, many) }
