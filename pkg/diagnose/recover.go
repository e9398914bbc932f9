package diagnose

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
)

// A panic is a bug in mailport, never the server's or the user's doing. It
// must not cost the user the rest of the checklist or the other accounts of
// `test --all`: the check that panicked fails with the panic's words, the
// later checks are skipped, and the stack goes to the trace (when there is
// one), never to the terminal.

// whyInternal is why the checks after a panic are skipped.
const whyInternal = "an earlier check stopped on an internal error"

// safely runs fn, turning a panic into a failed check.
func (r *runner) safely(ctx context.Context, c *Check, fn func(context.Context, *Check)) {
	defer func() {
		if v := recover(); v != nil {
			r.internalError(c, v)
		}
	}()
	fn(ctx, c)
}

// internalError records a recovered panic v as c's failure and blocks the
// later checks, which may depend on what c left half done.
func (r *runner) internalError(c *Check, v any) {
	r.traceStack(v)
	c.Findings = append(c.Findings, internalFinding(r.name, v))
	c.Saw = "stopped on an internal error"
	for _, need := range []string{needConfig, needNet, needCreds, needSession, needAuth} {
		r.block(need, whyInternal)
	}
}

// internalFinding is the finding for a recovered panic.
func internalFinding(account string, v any) Finding {
	what := strings.TrimSpace(strings.ToValidUTF8(fmt.Sprint(v), "?"))
	if len(what) > 300 {
		what = what[:300] + "…"
	}
	e := EntryByID("internal-error")
	f := Finding{Status: Fail, Error: what,
		Cause: fmt.Sprintf("The check stopped on an internal error: %s; please report it.", what),
		Fix:   fmt.Sprintf("This is a bug in mailport, not a problem of the account: report it with the output of `mailport test %s --trace FILE` (the trace holds where it happened, secrets redacted).", account)}
	if e != nil {
		f.Entry = e.ID
	}
	return f
}

// traceStack writes the panic and its stack to the trace, if any.
func (r *runner) traceStack(v any) {
	if r.opts.Opener == nil || r.opts.Opener.Trace == nil {
		return
	}
	fmt.Fprintf(r.opts.Opener.Trace, "mailport internal error: %v\n%s\n", v, debug.Stack())
}

// closeQuietly closes what the checks opened; a panic in a Close is
// reported in the trace only, since every check has already run.
func (r *runner) closeQuietly(name string, cl io.Closer) {
	defer func() {
		if v := recover(); v != nil {
			r.traceStack(fmt.Sprintf("closing the %s session: %v", name, v))
		}
	}()
	cl.Close()
}

// Crashed is the report of an account whose diagnosis stopped on an
// internal error v outside any check: one failed check, "internal", that
// says so. `mailport test --all` uses it so one account's bug does not
// hide the others' results.
// a, when known, fills the report's account facts.
func Crashed(account string, a *config.Account, v any) *Report {
	c := Check{ID: "internal", Name: "diagnosis", Status: Fail, Saw: "stopped on an internal error", Findings: []Finding{internalFinding(account, v)}}
	rep := &Report{Account: account, Result: Fail, Checks: []Check{c}}
	if a != nil {
		rep.Type, rep.Protocol, rep.Auth, rep.Login = a.Type, a.Protocol, a.Auth, a.Login
		rep.Server = connect.Describe(a)
	}
	return rep
}
