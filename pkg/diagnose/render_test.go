package diagnose

import (
	"strings"
	"testing"
)

// TestVerdictCountsTheWarningsPrinted: a check can carry more than one
// warning; the closing line counts what the checklist shows above it,
// not the checks, and says "1 warning" for one.
func TestVerdictCountsTheWarningsPrinted(t *testing.T) {
	warn := func(cause string) Finding { return Finding{Status: Warn, Cause: cause, Fix: "fix it"} }
	rep := &Report{Account: "box", Result: Warn, Checks: []Check{
		{ID: "config", Name: "configuration", Status: OK, Saw: "enabled"},
		{ID: "scopes", Name: "token fits", Status: Warn, Saw: "scopes", Findings: []Finding{warn("No Mail.ReadWrite."), warn("Another user.")}},
		{ID: "tls", Name: "TLS", Status: Warn, Saw: "TLS 1.3", Findings: []Finding{warn("The certificate expires in 1 day.")}},
	}}
	out := render(rep)
	if n := strings.Count(out, "        cause: "); n != 3 {
		t.Fatalf("%d warnings printed, want 3:\n%s", n, out)
	}
	if !strings.HasSuffix(out, "\nAll checks passed, with 3 warnings.\n") {
		t.Errorf("verdict does not count the 3 warnings printed:\n%s", out)
	}
	rep.Checks = rep.Checks[2:]
	if out := render(rep); !strings.HasSuffix(out, "\nAll checks passed, with 1 warning.\n") {
		t.Errorf("one warning:\n%s", out)
	}
}
