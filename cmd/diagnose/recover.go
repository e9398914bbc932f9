package diagnose

import (
	"context"

	"github.com/mailport/mailport/pkg/config"
	dg "github.com/mailport/mailport/pkg/diagnose"
)

// runAccount runs run (dg.Run) for one account. A panic that escapes it
// (dg.Run turns those of its checks into failed checks itself) becomes the
// account's failed report instead of ending the process, so `mailport test
// --all` still reports every other account, and no stack reaches the
// terminal.
func runAccount(ctx context.Context, cfg *config.Config, name string, opts dg.Options,
	run func(context.Context, string, dg.Options) (*dg.Report, error)) (rep *dg.Report, err error) {
	defer func() {
		if v := recover(); v != nil {
			rep, err = dg.Crashed(name, cfg.Accounts[name], v), nil
		}
	}()
	return run(ctx, name, opts)
}
