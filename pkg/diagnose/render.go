package diagnose

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// Colors for Render on a terminal.
const (
	colorReset  = "\x1b[0m"
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorDim    = "\x1b[2m"
)

func mark(s Status) string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	}
	return "skip"
}

func colorOf(s Status) string {
	switch s {
	case OK:
		return colorGreen
	case Warn:
		return colorYellow
	case Fail:
		return colorRed
	}
	return colorDim
}

// Render writes the checklist for people: a heading, one line per check
// with its mark, name, what it saw and its duration, and the cause, fix
// and troubleshooting entry indented under every warn and fail. color adds
// ANSI colours (terminals only); the words are the same without.
func Render(w io.Writer, r *Report, color bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mailport test %s: %s %s account, %s, login %s\n\n", r.Account, r.Type, r.Protocol, r.Server, r.Login)
	for _, c := range r.Checks {
		m := fmt.Sprintf("%-4s", mark(c.Status))
		if color {
			m = colorOf(c.Status) + m + colorReset
		}
		line := fmt.Sprintf("  %s  %-14s %s", m, c.Name, c.Saw)
		if c.Status != Skip {
			line += " (" + FormatDuration(c.Duration) + ")"
		}
		b.WriteString(line + "\n")
		for _, f := range c.Findings {
			if len(c.Findings) > 1 {
				fmt.Fprintf(&b, "        - %s\n", mark(f.Status))
			}
			if f.Said != "" {
				fmt.Fprintf(&b, "        server said: %s\n", f.Said)
			}
			if f.Error != "" {
				fmt.Fprintf(&b, "        error: %s\n", f.Error)
			}
			fmt.Fprintf(&b, "        cause: %s\n", f.Cause)
			fmt.Fprintf(&b, "        fix:   %s\n", f.Fix)
			if f.Entry != "" {
				fmt.Fprintf(&b, "        see:   mailport explain %s\n", f.Entry)
			}
		}
	}
	b.WriteString("\n" + Verdict(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Verdict is the closing sentence of a report.
func Verdict(r *Report) string {
	fails, warns := r.count(Fail), r.warnings()
	switch {
	case configFinding(r) != nil:
		// Authenticating (or anything else) is refused until then.
		f := configFinding(r)
		return fmt.Sprintf("%s failed; the configuration comes first: %s %s", plural(fails, "check", "checks"), firstSentence(f.Cause), f.Fix)
	case r.Reauth:
		lacks, fix := ReauthAdvice(r)
		return fmt.Sprintf("%s failed: the account %s; %s.", plural(fails, "check", "checks"), lacks, fix)
	case fails > 0:
		return fmt.Sprintf("%s failed. Run `mailport test %s --trace FILE` for the protocol transcript (secrets redacted).", plural(fails, "check", "checks"), r.Account)
	case warns > 0:
		return fmt.Sprintf("All checks passed, with %s.", plural(warns, "warning", "warnings"))
	}
	return "All checks passed."
}

// configEntries are the configuration check's findings that make the
// account unusable until the configuration is edited: `mailport
// authenticate` refuses such an account too.
var configEntries = map[string]bool{
	"config-inconsistent": true, "token-config-direction": true,
	"scopes-wrong-resource": true, "google-device-flow-mail": true,
}

// configFinding is the first finding of the configuration check that must
// be fixed before anything else, or nil.
func configFinding(r *Report) *Finding {
	for i := range r.Checks {
		c := &r.Checks[i]
		if c.ID != "config" {
			continue
		}
		for j := range c.Findings {
			if f := &c.Findings[j]; f.Status == Fail && configEntries[f.Entry] {
				return f
			}
		}
	}
	return nil
}

// ConfigAdvice says, for a report whose configuration must be fixed
// before anything else (ok), what is wrong and what fixes it: the same fix
// `mailport authenticate` names for the account. `mailport test` then
// exits 2, a configuration error.
func ConfigAdvice(r *Report) (cause, fix string, ok bool) {
	if f := configFinding(r); f != nil {
		return firstSentence(f.Cause), f.Fix, true
	}
	return "", "", false
}

// ReauthAdvice says, for a report with Reauth set, what the account lacks
// ("has no password", "is not authenticated", "must be authenticated
// again") and what gives it that, in the account's auth type's terms: a
// password account never needs `authenticate`, an OAuth2 account never a
// password.
func ReauthAdvice(r *Report) (lacks, fix string) {
	if r.Auth == config.AuthBasic {
		return "has no password", fmt.Sprintf("store it with mailport account edit %s --password-stdin", r.Account)
	}
	lacks = "must be authenticated again"
	for _, c := range r.Checks {
		for _, f := range c.Findings {
			if f.Entry == "not-authenticated" {
				lacks = "is not authenticated"
			}
		}
	}
	return lacks, "run mailport authenticate " + r.Account
}

// warnings counts the warnings Render prints: each warn finding (a check
// may have several, and a failed check may carry one too), and a warned
// check without findings as one.
func (r *Report) warnings() int {
	n := 0
	for _, c := range r.Checks {
		k := 0
		for _, f := range c.Findings {
			if f.Status == Warn {
				k++
			}
		}
		if k == 0 && c.Status == Warn {
			k = 1
		}
		n += k
	}
	return n
}

func (r *Report) count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Summary is the one line `mailport test --all` prints for an account:
// its name, result and the first failing (or warning) check's cause.
func Summary(r *Report) string {
	first := func(s Status) (Check, Finding, bool) {
		for _, c := range r.Checks {
			for _, f := range c.Findings {
				if f.Status == s {
					return c, f, true
				}
			}
		}
		return Check{}, Finding{}, false
	}
	res := mark(r.Result)
	if c, f, ok := first(r.Result); ok && r.Result != OK {
		entry := ""
		if f.Entry != "" {
			entry = " [" + f.Entry + "]"
		}
		return fmt.Sprintf("%s\t%s\t%s: %s%s", r.Account, res, c.Name, firstSentence(f.Cause), entry)
	}
	return fmt.Sprintf("%s\t%s\t%s passed", r.Account, res, plural(len(r.Checks)-r.count(Skip), "check", "checks"))
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// FormatDuration prints a check's duration: 0ms, 12ms, 1.2s.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
