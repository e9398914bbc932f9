package diagnose

import (
	"context"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	dg "github.com/mailport/mailport/pkg/diagnose"
)

// TestRunAccountTurnsAPanicIntoAFailedReport: a panic escaping the
// diagnosis of one account is that account's failed report, with the
// account's facts and the internal-error entry, not the end of the run.
func TestRunAccountTurnsAPanicIntoAFailedReport(t *testing.T) {
	cfg := config.New("")
	cfg.Accounts["box"] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.POP3, Host: "pop.example.test", Encryption: config.SSL, Auth: config.AuthBasic, Login: "a@example.test"}
	rep, err := runAccount(context.Background(), cfg, "box", dg.Options{}, func(context.Context, string, dg.Options) (*dg.Report, error) {
		var m map[string]*int
		return nil, [1]error{}[*m["x"]]
	})
	if err != nil || rep == nil {
		t.Fatalf("report %v, error %v", rep, err)
	}
	if !rep.Failed() || rep.Protocol != config.POP3 || rep.Server != "pop3 pop.example.test:995 (ssl)" || len(rep.Checks) != 1 {
		t.Fatalf("report %+v", rep)
	}
	f := rep.Checks[0].Findings
	if len(f) != 1 || f[0].Entry != "internal-error" || !strings.HasPrefix(f[0].Cause, "The check stopped on an internal error: runtime error: invalid memory address or nil pointer dereference; please report it.") {
		t.Fatalf("findings %+v", f)
	}
}
