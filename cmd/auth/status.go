package auth

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/store"
)

// StatusOptions are the inputs of `mailport status`.
type StatusOptions struct {
	F        *cmdutil.Factory
	Accounts []string
}

// NewCmdStatus is `mailport status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{F: f}
	return &cobra.Command{
		Use:   "status [ACCOUNT...]",
		Short: "Show each account's authentication state, token expiry and scopes",
		Long: `Show, for each account (all by default): AUTHENTICATED (a token that is usable or
refreshable), NOT AUTHENTICATED, NEEDS REAUTH, PASSWORD SET, NO PASSWORD or DISABLED; the
access token's expiry, the user it is for, the granted scopes, and a warning when the token
config's client secret expires within 30 days, and for an inbound account its last fetch (time,
messages, error; into its hold_dir or a --to directory). No server is contacted: run mailport
test for that. An account whose secret cannot be read (a locked keyring, a damaged secrets
file) is listed as ERROR with the reason; the other accounts are still shown, and the exit
code is 1. An encrypted secrets file that cannot be opened (no passphrase or a wrong one, a
damaged file) ends it at once with exit code 2. With the file backend the last line on stderr
names the store: "secret store: file (encrypted, age scrypt) at PATH" or "file (plain)".`,
		Example: `  mailport status
  mailport status support --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Accounts = args
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
}

func statusRun(opts *StatusOptions) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	for _, a := range opts.Accounts {
		if _, err := account.Lookup(cfg, a); err != nil {
			return err
		}
	}
	m, err := f.OAuth()
	if err != nil {
		return err
	}
	// A secret that cannot be read (a locked keyring, a damaged secrets
	// file entry) is that account's row, not the end of the listing.
	names := opts.Accounts
	if len(names) == 0 {
		names = cmdutil.SortedNames(cfg.Accounts)
	}
	list := make([]*oauth.Status, 0, len(names))
	failed := 0
	for _, name := range names {
		st, err := m.Inspect(name)
		if err != nil {
			failed++
			a := cfg.Accounts[name]
			st = &oauth.Status{Account: name, State: StateError, Cause: err.Error()}
			if a != nil {
				st.Auth = a.Auth
			}
		}
		list = append(list, st)
	}
	if err := printStatus(f, cfg, list); err != nil {
		return err
	}
	if failed > 0 {
		if f.JSON { // the table's notes are not printed with --json
			for _, st := range list {
				if st.State == StateError {
					fmt.Fprintf(f.IO.ErrOut, "%s: error: %s\n", st.Account, st.Cause)
				}
			}
		}
		return cmdutil.ErrSilent // each failure is in its row's note
	}
	return nil
}

// StateError is the state of an account whose secrets could not be read.
const StateError oauth.State = "ERROR"

func printStatus(f *cmdutil.Factory, cfg *config.Config, list []*oauth.Status) error {
	fetches := lastFetches(cfg, list)
	if f.JSON {
		out := make([]statusJSON, len(list))
		for i, st := range list {
			out[i] = statusJSON{Status: st, LastFetch: fetches[st.Account]}
		}
		return cmdutil.PrintJSON(f.IO.Out, out)
	}
	if len(list) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "No accounts yet. Add one with `mailport account add NAME`.")
		return nil
	}
	now := f.Now()
	t := cmdutil.NewTable(f.IO.Out, f.IO.IsStdoutTTY(), "ACCOUNT", "STATE", "USER", "EXPIRES", "SCOPES")
	var notes []string
	for _, st := range list {
		t.Row(st.Account, string(st.State), dash(st.User), expiry(st, now), dash(strings.Join(st.Scopes, " ")))
		if st.State == StateError {
			notes = append(notes, fmt.Sprintf("%s: error: %s", st.Account, st.Cause))
		} else if st.Cause != "" && st.State != oauth.StateAuthenticated {
			notes = append(notes, fmt.Sprintf("%s: %s", st.Account, st.Cause))
		}
		for _, w := range st.Warnings {
			notes = append(notes, fmt.Sprintf("%s: warning: %s", st.Account, w))
		}
		if lf := fetches[st.Account]; lf != nil {
			notes = append(notes, fmt.Sprintf("%s: %s", st.Account, lf.describe()))
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(f.IO.ErrOut, n)
	}
	// The file backend says which kind of file: a CI job's log shows
	// whether its tokens are encrypted at rest.
	if kind, path, err := f.StoreDescription(); err == nil && path != "" {
		fmt.Fprintf(f.IO.ErrOut, "secret store: %s at %s\n", kind, path)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expiry(st *oauth.Status, now time.Time) string {
	if st.Expiry.IsZero() {
		return "-"
	}
	s := st.Expiry.Local().Format("2006-01-02 15:04")
	if st.Expiry.Before(now) {
		if st.Refreshable {
			return s + " (expired, refreshable)"
		}
		return s + " (expired)"
	}
	return s
}

// statusJSON is an account's --json status: oauth.Status plus the
// account's last fetch, when mailport knows of one.
type statusJSON struct {
	*oauth.Status
	LastFetch *LastFetch `json:"last_fetch,omitempty"`
}

// LastFetch is the last `mailport fetch` of an account.
type LastFetch struct {
	Dir      string    `json:"dir"`
	Finished time.Time `json:"finished"`
	Messages int64     `json:"messages"`
	Bytes    int64     `json:"bytes"`
	Failed   int64     `json:"failed"`
	Error    string    `json:"error,omitempty"`
}

func (l *LastFetch) describe() string {
	s := fmt.Sprintf("last fetch %s: %s into %s, %d failed", l.Finished.Local().Format("2006-01-02 15:04"), plural.Of(l.Messages, "message", "messages"), l.Dir, l.Failed)
	if l.Error != "" {
		s += "; error: " + l.Error
	}
	return s
}

// lastFetches reads, without locking, the last fetch run of each inbound
// account: from its hold_dir and from the directory its last fetch wrote
// into (the index beside the config file, for `fetch --to DIR`), whichever
// run is newer.
func lastFetches(cfg *config.Config, list []*oauth.Status) map[string]*LastFetch {
	out := map[string]*LastFetch{}
	recent, _ := store.RememberedDirs(filepath.Join(filepath.Dir(cfg.Path), store.RecentName))
	for _, st := range list {
		a := cfg.Accounts[st.Account]
		if a == nil || a.Type != config.Inbound {
			continue
		}
		for _, dir := range []string{a.HoldDir, recent[st.Account]} {
			if dir == "" {
				continue
			}
			run, ok, err := store.LastRun(dir, st.Account)
			if err != nil || !ok {
				continue
			}
			if prev := out[st.Account]; prev == nil || run.Finished.After(prev.Finished) {
				out[st.Account] = &LastFetch{Dir: dir, Finished: run.Finished, Messages: run.Messages, Bytes: run.Bytes, Failed: run.Failed, Error: run.Error}
			}
		}
	}
	return out
}
