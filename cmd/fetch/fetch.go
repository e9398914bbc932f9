// Package fetch holds `mailport fetch`: an inbound account's mail into a
// directory (.eml files or a Maildir), safely, optionally handing each
// message to a command. The engine is pkg/fetch; this file is flags in,
// summary out.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/account"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/store"
)

// Concurrency bounds how many accounts --all fetches at the same time.
const Concurrency = 4

// Options are the inputs of `mailport fetch`.
type Options struct {
	F        *cmdutil.Factory
	Account  string
	All      bool
	To       string
	Format   string
	Folders  []string
	Unseen   bool
	Since    string
	Limit    int
	MaxSize  string
	MarkSeen bool
	Delete   bool
	MoveTo   string
	Exec     string
	DryRun   bool
	Wait     time.Duration
	Timeout  time.Duration
	// ExecTimeout bounds one --exec run (0: no limit).
	ExecTimeout time.Duration

	since   time.Time
	maxSize int64
}

// NewCmdFetch is `mailport fetch`.
func NewCmdFetch(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "fetch ACCOUNT [--to DIR] [flags] | --all",
		Short: "Fetch an inbound account's mail into a directory, safely",
		Long: `Fetch the messages of an inbound account (IMAP, POP3 or Microsoft Graph) into a directory:
one file per message, byte for byte as the server sent it, named
<received date>_<server id>.eml (--format eml, the default) or delivered into a Maildir's
new/ (--format maildir). --to defaults to the account's hold_dir. A directory that holds
the other format (a Maildir's cur/ new/ tmp/ for eml, .eml files for maildir) is refused
(exit 2): fetch it with its own format or choose another directory.

Nothing is lost and nothing is fetched twice, even when the fetch is killed: each message is
streamed to a temporary file, synced and renamed into place, then recorded in the state file
.mailport-state.jsonl in the directory; only after that is it marked seen (--mark-seen), moved
(--move-to) or deleted (--delete) on the server, or handed to --exec. A rerun skips what the
directory already holds and finishes what an interrupted run left: a message stored but not
yet moved, marked or deleted is acted on then, without being stored again. A --move-to folder
that does not exist on the server stops the fetch before anything is fetched (exit 1). Without --mark-seen,
--move-to or --delete the messages stay on the server as they were. POP3 deletes only when the
server accepts the end of the session. When the server renumbers an IMAP folder (UIDVALIDITY),
messages are matched by Message-ID and size, so none is stored twice; the change is reported.
Two fetches into the same directory never interleave: the second refuses at once, or waits
up to --wait for the first to finish.

--exec CMD runs CMD with "sh -c" for every message: the file's path is "$1" and the message
is on standard input; the environment has MAILPORT_ACCOUNT, MAILPORT_FOLDER,
MAILPORT_MESSAGE_ID (the server's id: IMAP UID, POP3 UIDL or Graph id) and MAILPORT_FILE.
Its output goes to mailport's standard error. Only when it exits 0 is the message
marked, moved or deleted on the server; otherwise the message stays on the server, is
listed as failed, and the next fetch runs the command on it again. --exec defaults to the
account's exec when its on_received is exec. --exec-timeout stops a command that hangs (the
message counts as failed and is retried); by default there is no limit.

--folder takes a folder path (Inbox/Endpoint; default: the account's folder) or a pattern, as
in IMAP: "*" matches any characters including "/" (--folder '*' is every folder, 'Inbox/*'
every folder below Inbox), "%" any characters but "/" (one level). It can be repeated. One
plain --folder fetches into --to itself, as always. Several folders, or a pattern, give each
folder its own sub-directory and its own state: --to/Inbox/Endpoint/ for eml, the Maildir++
sub-folder --to/.Inbox.Endpoint/ for maildir (INBOX is the Maildir itself), and one summary
line per folder. Patterns match the folders "mailport folders" lists (Graph: without hidden
folders) that can hold messages.

--all fetches every enabled inbound account (up to 4 at a time) into --to or each account's
hold_dir, and prints one summary line per account.

Output: a progress bar on standard error on a terminal (not with --json, --all, --dry-run or
NO_COLOR), then
one line per account and folder: "fetched 42 messages (3.1 MB) into ./in, 0 failed" (with
several folders "Inbox/Endpoint: fetched ..."). With --json,
standard output is JSON lines: one {"type":"message"} record per message (account, folder,
id, file, size, from, subject, date, status: fetched|matched|recovered|failed|would-fetch,
action: deleted|moved|seen|kept|none, error) and one {"type":"summary"} record per account and folder
(account, folder, dir, fetched, matched, recovered, skipped, failed, gone, bytes; and, only
when there is one, would_fetch, too_large, validity_change, error).

--max-size SIZE leaves messages larger than SIZE (bytes, or 512K, 10M, 1G with 1K = 1024) on
the server, as the server's listing sizes them (IMAP RFC822.SIZE, POP3 LIST, Graph size), and
reports them: "left 2 messages larger than 10 MiB on the server". They are not recorded, so
every run considers them again, and a run with a larger --max-size, or none, fetches them.

Exit status: 0 when every message went through; 1 when any message or account failed
(the others are kept); 2 for a usage or configuration error, found before connecting;
3 when the account must authenticate again.`,
		Example: `  # collect the inbox into ./in, leaving the server as it is
  mailport fetch support --to ./in
  # a CI job: move what was fetched to an archive folder
  mailport fetch support --to /var/spool/support --move-to Archive/Done
  # POP3: fetch and delete, as a Maildir
  mailport fetch legacy --to ~/Maildir --format maildir --delete
  # hand every new message to a script; delete only what it accepted
  mailport fetch support --to ./in --delete --exec 'process-ticket "$1"'
  # what would be fetched, from the last day, unread only
  mailport fetch support --to ./in --unseen --since 2026-11-25 --dry-run
  # leave anything over 10 MiB on the server (reported; fetched once the limit allows)
  mailport fetch support --to ./in --max-size 10M
  # every folder below Inbox, each into its own sub-directory of ./in
  mailport fetch support --to ./in --folder 'Inbox/*'
  # the whole mailbox as a Maildir++ (INBOX in ~/Maildir, the others in ~/Maildir/.Name/)
  mailport fetch support --to ~/Maildir --format maildir --folder '*'
  # two folders by name
  mailport fetch support --to ./in --folder Inbox/Endpoint --folder Inbox/Orders
  # every enabled inbound account into its hold_dir
  mailport fetch --all
  mailport fetch support --to ./in --json | jq -r 'select(.type=="message") | .file'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.All {
				if len(args) > 0 {
					return cmdutil.FlagErrorf("give either an ACCOUNT or --all, not both")
				}
				return nil
			}
			return cmdutil.ExactArgs(1, "an inbound ACCOUNT name (or --all)")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Account = args[0]
			}
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.All, "all", false, "fetch every enabled inbound account")
	fl.StringVar(&opts.To, "to", "", "target `DIR` (default: the account's hold_dir)")
	cmdutil.EnumVar(cmd, fl, &opts.Format, "format", "eml", "eml (one .eml file per message) or maildir", cmdutil.EnumFormat)
	fl.StringArrayVar(&opts.Folders, "folder", nil, "folder path to fetch, e.g. Inbox/Endpoint, or a pattern: Inbox/* (every folder below Inbox), % (one level), * (all); repeatable (default: the account's folder)")
	fl.BoolVar(&opts.Unseen, "unseen", false, "only messages not yet seen/read on the server (IMAP, Graph)")
	fl.StringVar(&opts.Since, "since", "", "only messages received on or after `DATE` (2026-11-25 or RFC 3339; IMAP, Graph)")
	fl.IntVar(&opts.Limit, "limit", 0, "fetch at most `N` new messages, oldest first")
	fl.StringVar(&opts.MaxSize, "max-size", "", "leave messages larger than `SIZE` (bytes, or with K, M, G: 1K = 1024) on the server; later runs consider them again")
	fl.BoolVar(&opts.MarkSeen, "mark-seen", false, "mark fetched messages seen/read on the server (IMAP, Graph)")
	fl.BoolVar(&opts.Delete, "delete", false, "delete fetched messages from the server")
	fl.StringVar(&opts.MoveTo, "move-to", "", "move fetched messages to `FOLDER` on the server (IMAP, Graph)")
	fl.StringVar(&opts.Exec, "exec", "", "run `CMD` (sh -c) for each message, file path as $1; acknowledge only on exit 0")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "list what would be fetched; write and change nothing")
	fl.DurationVar(&opts.Wait, "wait", 0, "wait up to this long for another fetch into the same directory to finish")
	fl.DurationVar(&opts.Timeout, "timeout", 30*time.Second, "bound each network step")
	fl.DurationVar(&opts.ExecTimeout, "exec-timeout", 0, "stop an --exec command running longer than this; the message stays on the server and is retried (default: no limit)")
	return cmd
}

func (o *Options) check() error {
	if o.Delete && o.MoveTo != "" {
		return cmdutil.FlagErrorf("use either --delete or --move-to, not both")
	}
	if o.Format != string(store.EML) && o.Format != string(store.Maildir) {
		return cmdutil.FlagErrorf("--format: %q is not one of eml, maildir", o.Format)
	}
	if o.Limit < 0 {
		return cmdutil.FlagErrorf("--limit must be 0 (no limit) or more")
	}
	if o.Timeout <= 0 {
		return cmdutil.FlagErrorf("--timeout must be positive, e.g. 30s")
	}
	if o.Wait < 0 {
		return cmdutil.FlagErrorf("--wait must not be negative")
	}
	if o.ExecTimeout < 0 {
		return cmdutil.FlagErrorf("--exec-timeout must not be negative")
	}
	if o.MaxSize != "" {
		n, err := parseSize(o.MaxSize)
		if err != nil {
			return cmdutil.FlagErrorf("--max-size: %v", err)
		}
		o.maxSize = n
	}
	if o.Since != "" {
		t, err := parseDate(o.Since)
		if err != nil {
			return cmdutil.FlagErrorf("--since: %q is not a date like 2026-11-25 or 2026-11-25T10:15:00Z", o.Since)
		}
		o.since = t
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Summary is the documented {"type":"summary"} JSON record, one per account.
type Summary struct {
	Type           string          `json:"type"` // "summary"
	Account        string          `json:"account"`
	Folder         string          `json:"folder,omitempty"`
	Dir            string          `json:"dir"`
	Fetched        int             `json:"fetched"`
	Matched        int             `json:"matched"`
	Recovered      int             `json:"recovered"`
	Skipped        int             `json:"skipped"`
	Failed         int             `json:"failed"`
	Gone           int             `json:"gone"`
	Bytes          int64           `json:"bytes"`
	WouldFetch     int             `json:"would_fetch,omitempty"`
	TooLarge       int             `json:"too_large,omitempty"`
	ValidityChange *ValidityChange `json:"validity_change,omitempty"`
	Error          string          `json:"error,omitempty"`
}

// ValidityChange reports that the server renumbered the folder.
type ValidityChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// job is one account to fetch.
type job struct {
	name   string
	acct   *config.Account
	dir    string // as the user gave it, for messages
	exec   string
	folder string // the folder being fetched
	// folders are the --folder values (paths or patterns); multi says
	// each folder goes to its own sub-directory of root (store.FolderDir):
	// several folders, or a pattern. One plain folder keeps the directory
	// itself, as before.
	folders []string
	multi   bool
	root    string
}

func run(ctx context.Context, opts *Options) error {
	f := opts.F
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	jobs, err := opts.jobs(cfg)
	if err != nil {
		return err
	}
	o, err := f.Opener(opts.Timeout)
	if err != nil {
		return err
	}
	out := &output{f: f, json: f.JSON, all: opts.All, dry: opts.DryRun}

	// One Store per directory: accounts sharing a directory share its lock.
	// The target directories are opened before connecting, so a directory
	// of the wrong format or locked by another fetch stops the run first;
	// the sub-directories of several folders are opened as they come.
	stores := &storeSet{format: store.Format(opts.Format), wait: opts.Wait, dry: opts.DryRun, m: map[string]*store.Store{}}
	defer stores.close(f.IO.ErrOut)
	for _, j := range jobs {
		if _, err := stores.get(j.dir); err != nil {
			return err
		}
	}

	results := make([]error, len(jobs))
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, _ := stores.get(j.dir) // opened above
			results[i] = opts.fetchOne(ctx, o, stores, st, j, out)
			if st != nil && !opts.DryRun {
				// Best effort: only `status` reads it, and a read-only
				// config directory (a mounted ConfigMap) must not fail
				// the fetch.
				_ = store.RememberDir(filepath.Join(filepath.Dir(cfg.Path), store.RecentName), j.name, j.dir)
			}
		}()
	}
	wg.Wait()

	if ctx.Err() != nil {
		return ctx.Err()
	}
	var failed, auth int
	var only error
	for _, err := range results {
		if err == nil {
			continue
		}
		failed++
		only = err
		if cmdutil.ExitCode(err) == cmdutil.ExitAuth {
			auth++
		}
	}
	switch {
	case failed == 0:
		return nil
	case !opts.All && !errors.Is(only, cmdutil.ErrSilent):
		return only
	case auth == failed:
		return &cmdutil.AuthRequiredError{Err: cmdutil.ErrSilent}
	}
	return cmdutil.ErrSilent
}

// storeSet holds the open target directories, one Store each, for the
// concurrent fetches of one command.
type storeSet struct {
	format store.Format
	wait   time.Duration
	dry    bool
	mu     sync.Mutex
	m      map[string]*store.Store // nil: a dry run's directory that does not exist
}

// get opens dir (once) and returns its Store; nil for a dry run into a
// directory that does not exist yet.
func (s *storeSet) get(dir string) (*store.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keyed by the absolute path: "./in" and "in" are one directory, and
	// a second Open of it would wait for our own lock.
	key, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("target directory %s: %w", dir, err)
	}
	if st, ok := s.m[key]; ok {
		return st, nil
	}
	if s.dry {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			s.m[key] = nil
			return nil, nil
		}
	}
	st, err := store.Open(dir, store.Options{Format: s.format, Wait: s.wait})
	if err != nil {
		var fe *store.FormatError
		if errors.As(err, &fe) {
			return nil, &cmdutil.FlagError{Err: errors.New(fe.Describe(dir))}
		}
		var le *store.LockedError
		if errors.As(err, &le) {
			if le.Waited == 0 {
				return nil, fmt.Errorf("%w (--wait 10m waits up to ten minutes)", err)
			}
			return nil, err
		}
		return nil, fmt.Errorf("open the target directory %s: %w", dir, err)
	}
	s.m[key] = st
	return st, nil
}

func (s *storeSet) close(errOut io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		if st == nil {
			continue
		}
		if err := st.Close(); err != nil {
			fmt.Fprintf(errOut, "error: closing %s: %v\n", st.Dir(), err)
		}
	}
}

// jobs resolves the accounts to fetch and checks everything that can be
// checked before connecting.
func (o *Options) jobs(cfg *config.Config) ([]job, error) {
	var names []string
	if o.All {
		for name, a := range cfg.Accounts {
			if a != nil && a.Type == config.Inbound && a.Enabled {
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			return nil, cmdutil.ConfigErrorf("no enabled inbound account to fetch; add one with `mailport account add NAME --type inbound`")
		}
		sort.Strings(names)
	} else {
		names = []string{o.Account}
	}
	var jobs []job
	for _, name := range names {
		a, err := account.LookupFor(cfg, name, "fetch", config.Inbound, true)
		if err != nil {
			return nil, err
		}
		if a.Protocol == config.POP3 {
			for _, c := range []struct {
				flag string
				set  bool
			}{{"--mark-seen", o.MarkSeen}, {"--move-to", o.MoveTo != ""}, {"--unseen", o.Unseen}, {"--since", o.Since != ""}} {
				if c.set {
					return nil, cmdutil.FlagErrorf("%s needs IMAP or Microsoft Graph; account %s uses POP3, which has no folders, flags or dates", c.flag, name)
				}
			}
			if len(o.Folders) > 1 || len(o.Folders) == 1 && fetch.IsPattern(o.Folders[0]) {
				return nil, cmdutil.FlagErrorf("several folders or a folder pattern need IMAP or Microsoft Graph; account %s uses POP3, which has only its inbox", name)
			}
		}
		dir := o.To
		if dir == "" {
			dir = a.HoldDir
		}
		if dir == "" {
			return nil, cmdutil.FlagErrorf("no target directory for account %s: pass --to DIR or set the account's hold_dir with `mailport account edit %s --hold-dir DIR`", name, name)
		}
		ex := o.Exec
		if ex == "" && a.OnReceived == config.OnReceivedExec {
			ex = a.Exec
		}
		if ex == "" && o.ExecTimeout > 0 && !o.All {
			return nil, cmdutil.FlagErrorf("--exec-timeout bounds --exec, and account %s runs no command: give --exec CMD too", name)
		}
		folders := o.Folders
		if len(folders) == 0 {
			folders = []string{a.FolderOrDefault()}
		}
		for _, f := range folders {
			if strings.TrimSpace(f) == "" {
				return nil, cmdutil.FlagErrorf("--folder needs a folder path or pattern, e.g. Inbox/Endpoint or 'Inbox/*'")
			}
		}
		multi := len(folders) > 1 || fetch.IsPattern(folders[0])
		jobs = append(jobs, job{name: name, acct: a, dir: dir, exec: ex, folder: folders[0], folders: folders, multi: multi, root: dir})
	}
	return jobs, nil
}

func (o *Options) fetchOne(ctx context.Context, op *connect.Opener, stores *storeSet, st *store.Store, j job, out *output) error {
	sum := &fetch.Summary{Account: j.name, Folder: j.folder}
	fail := func(err error) error {
		if connect.IsAuthFailure(err) {
			err = &cmdutil.AuthRequiredError{Err: err}
		}
		if st != nil && !o.DryRun {
			// status shows why the account was not fetched.
			_ = st.RecordRun(store.Run{Account: j.name, Started: time.Now(), Error: err.Error()})
		}
		return out.finish(j, sum, err)
	}
	action := fetch.Keep
	switch {
	case o.Delete:
		action = fetch.Delete
	case o.MoveTo != "":
		action = fetch.Move
	case o.MarkSeen:
		action = fetch.MarkSeen
	}
	// A Graph token that may only read would fetch every message and then
	// fail to mark, move or delete them, on every run: refuse first.
	a := &acctRun{j: j, action: action, tcName: j.acct.TokenConfig}
	a.tc = op.Config.TokenConfigs[a.tcName]
	if j.acct.Protocol == config.Microsoft && j.acct.Auth == config.AuthOAuth2 && action != fetch.Keep && !o.DryRun {
		if ts, err := op.OAuth.TokenSource(j.name); err == nil {
			// An error here is the connection's to report, below.
			if a.tok, err = ts.Token(ctx); err == nil {
				if err := fetch.CheckGraphWrite(j.name, a.tcName, a.tc, a.tok, action); err != nil {
					return fail(&cmdutil.ConfigError{Err: fmt.Errorf("fetch %s: %w", j.name, err)})
				}
			}
		}
	}
	in, err := o.connect(ctx, op, j)
	if err != nil {
		return fail(err)
	}
	if !j.multi {
		return o.fetchFolder(ctx, in, st, a, out)
	}

	// Several folders: each into its own sub-directory, over its own
	// connection (a folder's run ends by closing it), one summary each.
	folders, err := fetch.ExpandFolders(ctx, in, j.folders)
	if err != nil {
		_ = in.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(fmt.Errorf("fetch %s: %w", j.name, err))
	}
	started := time.Now()
	total := store.Run{Account: j.name, Started: started}
	var firstErr error
	failed, authFailed := 0, 0
	count := func(err error) {
		failed++
		firstErr = cmp(firstErr, err)
		if cmdutil.ExitCode(err) == cmdutil.ExitAuth {
			authFailed++
		}
	}
	for _, folder := range folders {
		fj := j
		fj.folder, fj.dir = folder, store.FolderDir(j.root, stores.format, folder)
		fa := *a
		fa.j, fa.keepOpen = fj, true
		if in == nil {
			// The last folder's run broke off: a fresh connection.
			if in, err = o.connect(ctx, op, fj); err != nil {
				count(out.finish(fj, &fetch.Summary{Account: j.name, Folder: folder}, err))
				continue
			}
		}
		fst, err := stores.get(fj.dir)
		if err != nil {
			count(out.finish(fj, &fetch.Summary{Account: j.name, Folder: folder}, fmt.Errorf("fetch %s: folder %s: %w", j.name, folder, err)))
			continue
		}
		fa.sum = func(s *fetch.Summary) {
			total.Messages += int64(s.Fetched + s.Matched)
			total.Bytes += s.Bytes
			total.Failed += int64(s.Failed)
		}
		if err := o.fetchFolder(ctx, in, fst, &fa, out); err != nil {
			_ = in.Close()
			in = nil
			if ctx.Err() != nil {
				return ctx.Err()
			}
			count(err)
		}
	}
	if in != nil {
		if err := in.Close(); err != nil && failed == 0 {
			// Every folder is stored and recorded; the logout is all
			// that failed.
			fmt.Fprintf(out.lockedErr(), "warning: %s: logging out: %v\n", j.name, err)
		}
	}
	if st != nil && !o.DryRun {
		// The account's line in `mailport status`: every folder together.
		if failed > 0 {
			total.Error = plural.Of(failed, "folder", "folders") + " failed"
		} else if total.Failed > 0 {
			total.Error = plural.Of(int(total.Failed), "message", "messages") + " failed"
		}
		_ = st.RecordRun(total)
	}
	switch {
	case failed == 0:
		return firstErr
	case authFailed == failed:
		return &cmdutil.AuthRequiredError{Err: cmdutil.ErrSilent}
	}
	return cmdutil.ErrSilent
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// acctRun is what every folder of one account's fetch shares.
type acctRun struct {
	j      job
	action fetch.Action
	tok    *oauth.Token
	tcName string
	tc     *config.TokenConfig
	sum    func(*fetch.Summary) // told each folder's summary; may be nil
	// keepOpen leaves the connection open after the folder, for the next.
	keepOpen bool
}

// connect opens the account's inbound connection.
func (o *Options) connect(ctx context.Context, op *connect.Opener, j job) (mail.Inbound, error) {
	in, err := op.Inbound(ctx, j.name)
	if err != nil {
		if oauth.IsAuthRequired(err) {
			return nil, err // it names the account and the command; no server was contacted
		}
		return nil, fmt.Errorf("fetch %s: connect to %s: %w (run `mailport test %s` for the cause and the fix)", j.name, connect.Describe(j.acct), err, j.name)
	}
	return in, nil
}

// fetchFolder fetches a.j.folder over in into st and prints its summary.
func (o *Options) fetchFolder(ctx context.Context, in mail.Inbound, st *store.Store, a *acctRun, out *output) error {
	f, j := o.F, a.j
	fo := fetch.Options{
		Account:     j.name,
		Folder:      j.folder,
		Criteria:    mail.Criteria{Unseen: o.Unseen, Since: o.since},
		Limit:       o.Limit,
		MaxSize:     o.maxSize,
		Action:      a.action,
		MoveTo:      o.MoveTo,
		Exec:        j.exec,
		ExecOutput:  out.lockedErr(),
		ExecTimeout: o.ExecTimeout,
		DryRun:      o.DryRun,
		KeepOpen:    a.keepOpen,
		Report:      out.message,
	}
	if !o.All && !j.multi && !f.JSON && !o.DryRun && f.IO.IsStderrTTY() && f.Getenv("NO_COLOR") == "" {
		bar := newBar(f.IO.ErrOut)
		fo.Start, fo.Progress = bar.start, bar.progress
		defer bar.finish()
	}
	sum, err := fetch.Run(ctx, in, st, fo)
	if a.sum != nil {
		a.sum(sum)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if j.acct.Protocol == config.Microsoft {
			err = fetch.AccessDenied(err, j.name, a.tcName, a.tc, a.tok, a.action)
		}
		if testExplains(err) {
			err = fmt.Errorf("%w (run `mailport test %s` for the cause and the fix)", err, j.name)
		}
		err = fmt.Errorf("fetch %s: %w", j.name, err)
		if connect.IsAuthFailure(err) {
			err = &cmdutil.AuthRequiredError{Err: err}
		}
	}
	return out.finish(j, sum, err)
}

// testExplains: err is a server's answer that `mailport test` names the
// cause of (a missing folder, a Graph error code, a refused login), not a
// local one (the target directory, an interrupt) and not one that already
// says what to do.
func testExplains(err error) bool {
	var pe *fetch.PermissionError
	if errors.As(err, &pe) {
		return false
	}
	return errors.As(err, new(*mail.FolderNotFoundError)) || graph.ErrorCode(err) != "" || connect.IsAuthFailure(err)
}

// output serialises what concurrent account fetches print.
type output struct {
	f    *cmdutil.Factory
	json bool
	all  bool
	dry  bool
	mu   sync.Mutex
}

func (o *output) lockedErr() io.Writer { return &lockedWriter{mu: &o.mu, w: o.f.IO.ErrOut} }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (o *output) message(r fetch.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		writeJSONLine(o.f.IO.Out, r)
	}
	switch {
	case r.Status == fetch.StatusWouldFetch && !o.json:
		date := r.Date
		if date == "" {
			date = "-"
		}
		fmt.Fprintf(o.f.IO.Out, "would fetch %s\t%s\t%s\n", r.ID, formatBytes(r.Size), date)
	case r.Status == fetch.StatusFailed:
		fmt.Fprintf(o.f.IO.ErrOut, "error: %s: message %s (%s): %s\n", r.Account, r.ID, r.File, r.Error)
	}
}

// finish prints an account's summary and returns what the command should
// make of it: err, or ErrSilent when messages failed.
func (o *output) finish(j job, s *fetch.Summary, err error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	// What the server got wrong without losing mail goes to stderr even
	// with --json: stdout stays machine-readable, and the user learns it.
	for _, w := range s.Warnings {
		fmt.Fprintf(o.f.IO.ErrOut, "warning: %s: %s\n", j.name, w)
	}
	if o.json {
		rec := Summary{Type: "summary", Account: j.name, Folder: s.Folder, Dir: j.dir, Fetched: s.Fetched, Matched: s.Matched,
			Recovered: s.Recovered, Skipped: s.Skipped, Failed: s.Failed, Gone: s.Gone, Bytes: s.Bytes, WouldFetch: s.WouldFetch, TooLarge: s.TooLarge}
		if vc := s.ValidityChange; vc != nil {
			rec.ValidityChange = &ValidityChange{Old: vc.Old, New: vc.New}
		}
		if err != nil {
			rec.Error = err.Error()
		}
		writeJSONLine(o.f.IO.Out, rec)
	} else {
		prefix := ""
		if o.all {
			prefix = j.name + ": "
		}
		if j.multi {
			prefix += j.folder + ": "
		}
		if vc := s.ValidityChange; vc != nil {
			fmt.Fprintf(o.f.IO.ErrOut, "warning: %sthe server renumbered folder %s (UIDVALIDITY %s, was %s); messages already in %s are recognised by Message-ID and size and not stored again\n",
				prefix, s.Folder, vc.New, orNone(vc.Old), j.dir)
		}
		if s.Gone > 0 {
			fmt.Fprintf(o.f.IO.ErrOut, "warning: %s%s %s removed from the server by another client before they could be fetched\n", prefix, plural.Of(s.Gone, "message", "messages"), plural.Word(s.Gone, "was", "were"))
		}
		if s.Pending > 0 {
			fmt.Fprintf(o.f.IO.ErrOut, "warning: %s%s whose --exec failed earlier %s kept on the server; run again with --exec to retry %s\n", prefix, plural.Of(s.Pending, "message", "messages"), plural.Word(s.Pending, "is", "are"), plural.Word(s.Pending, "it", "them"))
		}
		stored := s.Fetched+s.Matched+s.Recovered > 0
		switch {
		case err != nil && !stored:
			// Nothing was fetched: the error says why; a "fetched 0
			// messages" line would read like a success.
		case o.dry:
			fmt.Fprintf(o.f.IO.Out, "%swould fetch %s (%s) into %s, %d already there\n", prefix, plural.Of(s.WouldFetch, "message", "messages"), formatBytes(s.WouldFetchBytes), j.dir, s.Skipped)
		default:
			line := fmt.Sprintf("%sfetched %s (%s) into %s, %d failed", prefix, plural.Of(s.Fetched, "message", "messages"), formatBytes(s.Bytes), j.dir, s.Failed)
			if s.Matched > 0 {
				line += fmt.Sprintf(", %d already there under %s", s.Matched, plural.Word(s.Matched, "its old number", "their old numbers"))
			}
			if s.Recovered > 0 {
				line += fmt.Sprintf(", %d finished from an earlier run", s.Recovered)
			}
			fmt.Fprintln(o.f.IO.Out, line)
		}
		if s.TooLarge > 0 && (err == nil || stored) {
			fmt.Fprintf(o.f.IO.Out, "%sleft %s larger than %s on the server\n", prefix, plural.Of(s.TooLarge, "message", "messages"), formatLimit(s.MaxSize))
		}
		if err != nil && (o.all || j.multi) {
			fmt.Fprintf(o.f.IO.ErrOut, "error: %v\n", err)
		}
	}
	switch {
	case err != nil && (o.all || j.multi):
		if cmdutil.ExitCode(err) == cmdutil.ExitAuth {
			return &cmdutil.AuthRequiredError{Err: cmdutil.ErrSilent}
		}
		return cmdutil.ErrSilent
	case err != nil:
		return err
	case s.Failed > 0:
		return cmdutil.ErrSilent
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

// formatBytes is a size for people: "512 bytes", "3.1 KB", "3.1 MB" (powers of 1000).
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return plural.Of(n, "byte", "bytes")
	case n < 1000_000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// bar is the terminal progress bar: bytes, with messages in the description.
type bar struct {
	w     io.Writer
	mu    sync.Mutex
	b     *progressbar.ProgressBar
	total int
	done  int
}

func newBar(w io.Writer) *bar { return &bar{w: w} }

func (b *bar) start(messages int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if messages == 0 {
		return
	}
	b.total = messages
	b.b = progressbar.NewOptions64(bytes,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(), // bytes so far and in all, not only the rate
		progressbar.OptionSetDescription(b.desc()),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
}

func (b *bar) desc() string {
	return fmt.Sprintf("%d/%s", b.done, plural.Of(b.total, "message", "messages"))
}

func (b *bar) progress(n int64, message bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b == nil {
		return
	}
	if n > 0 {
		// Server sizes are approximate (Graph); never let the bar overflow.
		if b.b.GetMax64() < b.b.State().CurrentNum+n {
			b.b.ChangeMax64(b.b.State().CurrentNum + n)
		}
		_ = b.b.Add64(n)
	}
	if message {
		b.done++
		b.b.Describe(b.desc())
	}
}

func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b != nil {
		_ = b.b.Finish()
	}
}
