// Package diagnose holds `mailport test`: the checklist support staff run
// when a mailbox fails. The checks, the catalog of known failures and the
// rendering live in pkg/diagnose; this command loads the account, runs
// them and maps the result to an exit code.
package diagnose

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/compose"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	dg "github.com/mailport/mailport/pkg/diagnose"
	"github.com/mailport/mailport/pkg/oauth"
)

// Concurrency bounds how many accounts --all diagnoses at the same time.
const Concurrency = 4

// Options are the inputs of `mailport test`.
type Options struct {
	F       *cmdutil.Factory
	Account string
	All     bool
	SendTo  string
	Timeout time.Duration
}

// AllResult is the documented JSON shape of `mailport test --all --json`.
type AllResult struct {
	Accounts []*dg.Report `json:"accounts"`
}

// NewCmdTest is `mailport test`.
func NewCmdTest(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "test ACCOUNT | --all",
		Short: "Diagnose an account: a checklist that names the cause and the fix",
		Long: `Diagnose an account step by step: configuration, secrets, token (refreshed at the provider,
its audience, scopes and user checked against the protocol), DNS, TCP, TLS (certificate name,
chain and expiry; TLS on a STARTTLS port and plain text on a TLS port), greeting, capabilities
(is XOAUTH2 offered?), authentication with the server's own words, then the folder (inbound)
or a MAIL FROM / RCPT TO probe (outbound; --send-to sends a real test message).

Each check prints ok, warn, FAIL or skip with what it saw and how long it took; under a warn or
FAIL the cause and the fix, and the code of the entry that explains it: ` + "`mailport explain CODE`" + `
prints it (docs/troubleshooting.md lists the same entries). Checks
that an earlier failure makes meaningless are skipped with the reason.

Exit status: 0 when no check failed, 1 when one did, 3 when an OAuth2 account must be
authenticated (again) or a password account has no password, 2 for a usage error, an unknown
account, or a configuration that must be fixed first (a token config that cannot serve the
account, which mailport authenticate refuses too).

JSON (--json): {"account","type","protocol","auth","login","server","result","reauth_required",
"checks":[{"id","name","status","saw","duration_ms","findings":[{"status","entry","server_said",
"error","cause","fix"}]}]}; with --all: {"accounts":[...]}. A finding has "server_said" (the
server's or provider's words) or "error" (the local DNS, connect or TLS error) when there are
any, and "entry" when the troubleshooting page has one; "findings" is left out when empty.
Check ids: config, secrets, token, scopes, dns, tcp, tls, greeting, capabilities, auth, folder,
send, and internal when the diagnosis itself stopped on an internal error (a bug to report).
Statuses: ok, warn, fail, skip.`,
		Example: `  mailport test support
  mailport test support --timeout 5s --trace /tmp/support.trace
  mailport test outbox --send-to me@example.com
  mailport test --all
  mailport test support --json | jq '.checks[] | select(.status=="fail")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case opts.All && len(args) > 0:
				return cmdutil.FlagErrorf("use either an ACCOUNT or --all, not both")
			case !opts.All && len(args) != 1:
				return cmdutil.FlagErrorf("missing an ACCOUNT name (or --all); see `mailport test --help`")
			}
			if len(args) == 1 {
				opts.Account = args[0]
			}
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, e.g. 10s")
			}
			if opts.All && opts.SendTo != "" {
				return cmdutil.FlagErrorf("--send-to applies to one outbound account, not --all")
			}
			if opts.SendTo != "" {
				addr, err := compose.ParseAddress(opts.SendTo)
				if err != nil {
					return cmdutil.FlagErrorf("--send-to: %v", err)
				}
				opts.SendTo = addr
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.All, "all", false, "check every enabled account, up to 4 at a time, one summary line each in name order")
	fl.StringVar(&opts.SendTo, "send-to", "", "outbound: send a real test message to `ADDR` instead of the probe")
	fl.DurationVar(&opts.Timeout, "timeout", dg.DefaultTimeout, "bound each network step")
	return cmd
}

func run(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	cfg, problems, err := loadConfig(f)
	if err != nil {
		return err
	}
	names := []string{opts.Account}
	if opts.All {
		names = names[:0]
		for n, a := range cfg.Accounts {
			if a != nil && a.Enabled {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return cmdutil.ConfigErrorf("there is no enabled account to test; see mailport account list")
		}
	} else {
		a, err := account.Lookup(cfg, opts.Account)
		if err != nil {
			return err
		}
		if a.Type == config.Inbound && opts.SendTo != "" {
			return cmdutil.FlagErrorf("--send-to applies to outbound accounts; %s is inbound", opts.Account)
		}
	}
	opener, err := newOpener(f, cfg, opts.Timeout)
	if err != nil {
		return err
	}
	// The accounts are diagnosed side by side, at most Concurrency at a
	// time (as fetch --all fetches), and reported in name order.
	reports := make([]*dg.Report, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reports[i], errs[i] = runAccount(cmd.Context(), cfg, n, dg.Options{
				Opener:         opener,
				ConfigProblems: problems[n],
				SendTo:         opts.SendTo,
				Timeout:        opts.Timeout,
				Now:            f.Now,
			}, dg.Run)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if !opts.All && !f.JSON {
		if err := dg.Render(f.IO.Out, reports[0], f.IO.ColorEnabled() && f.Getenv("NO_COLOR") == ""); err != nil {
			return err
		}
	}
	switch {
	case f.JSON && opts.All:
		if err := cmdutil.PrintJSON(f.IO.Out, AllResult{Accounts: reports}); err != nil {
			return err
		}
	case f.JSON:
		if err := cmdutil.PrintJSON(f.IO.Out, reports[0]); err != nil {
			return err
		}
	case opts.All:
		t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "ACCOUNT", "RESULT", "DETAIL")
		for _, r := range reports {
			t.Row(strings.SplitN(dg.Summary(r), "\t", 3)...)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return exitFor(reports)
}

// exitFor maps the reports to the exit code: 2 when an account's
// configuration must be fixed first (authenticate refuses it too), 3 when
// an account must be authenticated again or lacks its password, 1 when a
// check failed. The
// error names, for each such account, the one thing that fixes it.
func exitFor(reports []*dg.Report) error {
	var reauth, broken []string
	failed := false
	for _, r := range reports {
		if _, fix, ok := dg.ConfigAdvice(r); ok {
			broken = append(broken, fmt.Sprintf("account %s: fix the configuration first: %s", r.Account, fix))
		} else if r.Reauth {
			lacks, fix := dg.ReauthAdvice(r)
			reauth = append(reauth, fmt.Sprintf("account %s %s: %s", r.Account, lacks, fix))
		} else if r.Failed() {
			failed = true
		}
	}
	if len(broken) > 0 {
		return &cmdutil.ConfigError{Err: errors.New(strings.Join(broken, "; "))}
	}
	if len(reauth) > 0 {
		return &cmdutil.AuthRequiredError{Err: errors.New(strings.Join(reauth, "; "))}
	}
	if failed {
		return cmdutil.ErrSilent
	}
	return nil
}

// loadConfig loads the config. A file that does not validate is still
// diagnosed: its problems are handed to the accounts they concern, whose
// configuration check then names them.
func loadConfig(f *cmdutil.Factory) (*config.Config, map[string][]string, error) {
	cfg, err := f.Config()
	if err == nil {
		return cfg, nil, nil
	}
	var verrs config.Errors
	if !errors.As(err, &verrs) {
		return nil, nil, err
	}
	path, perr := f.ConfigPath()
	if perr != nil {
		return nil, nil, err
	}
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		return nil, nil, err
	}
	parsed, perr := config.Parse(path, data)
	if perr != nil || parsed == nil {
		return nil, nil, err // not even readable: the load error says why
	}
	problems := map[string][]string{}
	for name, a := range parsed.Accounts {
		if a == nil {
			continue
		}
		for _, fe := range verrs {
			if strings.HasPrefix(fe.Field, "accounts."+name+".") || fe.Field == "accounts."+name ||
				(a.TokenConfig != "" && strings.HasPrefix(fe.Field, "token_configs."+a.TokenConfig)) {
				problems[name] = append(problems[name], fe.Field+": "+fe.Msg)
			}
		}
	}
	return parsed, problems, nil
}

// newOpener builds what the factory's Opener builds, over cfg (which may
// be a config that did not validate).
func newOpener(f *cmdutil.Factory, cfg *config.Config, timeout time.Duration) (*connect.Opener, error) {
	res, err := f.Resolver()
	if err != nil {
		return nil, err
	}
	trace, err := f.Trace()
	if err != nil {
		return nil, err
	}
	m := &oauth.Manager{Config: cfg, Secrets: res, LockDir: filepath.Dir(cfg.Path), HTTP: f.HTTPClient, Now: f.Now,
		Warn: func(s string) { fmt.Fprintln(f.IO.ErrOut, "warning: "+s) }}
	return &connect.Opener{Config: cfg, Secrets: res, OAuth: m, Trace: trace, Timeout: timeout, HTTPClient: f.HTTPClient}, nil
}
