// Package fetch is the engine behind `mailport fetch`: it drives one
// account's mail.Inbound and a pkg/store target directory in the order that
// makes a fetch safe to kill at any moment.
//
// For one folder, Run
//
//  0. with Move, checks that Options.MoveTo exists (IMAP LIST, Graph folder
//     id) and stops before anything is fetched when it does not;
//  1. opens the folder and its Mailbox in the store (reporting a UIDVALIDITY
//     change, which the store resolves without duplicates);
//  2. finishes what an earlier run left: messages recorded but not yet
//     acknowledged (runs --exec if it never ran, then the server action) and
//     messages whose --exec failed (runs it again);
//  3. lists the folder, skips what the store already holds, and streams the
//     rest in chunks: every message goes through Mailbox.Put (temporary file,
//     fsync, rename), every CommitEvery messages the journal is committed,
//     and only after a chunk's receipts are durable does it run --exec on
//     them and then mark seen, move or delete them on the server;
//  4. records the run's summary in the store so `mailport status` can show it.
//
// A message whose --exec fails is never acknowledged on the server; it stays
// in the store's failed list and the next run retries the command. POP3
// deletes only when the server accepts QUIT, so for POP3 the deletions are
// recorded after Close succeeds.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/graph"
	"github.com/mailport/mailport/pkg/imap"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/store"
)

// Action is what happens to a message on the server once it is safely
// stored (and, with --exec, handed over).
type Action string

// Server actions.
const (
	Keep     Action = "keep"      // leave it as it is
	MarkSeen Action = "mark-seen" // set \Seen / isRead
	Delete   Action = "delete"    // remove it from the folder
	Move     Action = "move"      // move it to Options.MoveTo
)

// Record statuses.
const (
	StatusFetched    = "fetched"     // downloaded and written in this run
	StatusMatched    = "matched"     // after a validity change: already in the directory, not written again
	StatusRecovered  = "recovered"   // written by an earlier run; finished now
	StatusFailed     = "failed"      // --exec or the server action failed; kept on the server
	StatusWouldFetch = "would-fetch" // --dry-run
)

// Defaults for Options.
const (
	DefaultChunkSize   = 500
	DefaultCommitEvery = 50
)

// Options are one folder's fetch.
type Options struct {
	Account  string
	Folder   string // "" is the protocol's default (INBOX)
	Criteria mail.Criteria
	Limit    int // at most this many new messages; 0 means no limit
	// MaxSize leaves messages larger than this many bytes, as the
	// server's listing gives their size, on the server and out of the
	// state, so every run considers them again (fetchmail's --limit);
	// they are counted in Summary.TooLarge. 0 means no limit; a message
	// whose size the server does not report is fetched.
	MaxSize int64
	Action  Action
	MoveTo  string // the folder path for Move

	// Exec is a shell command run with `sh -c` for every message, the file
	// path as $1 and the message on stdin. Empty means none.
	Exec string
	// ExecEnv is the command's base environment; nil means os.Environ().
	ExecEnv []string
	// ExecOutput receives the command's standard output and error; nil
	// discards them.
	ExecOutput io.Writer
	// ExecTimeout stops a command that runs longer (0: no limit); the
	// message then counts as failed, stays on the server and is retried.
	ExecTimeout time.Duration

	// DryRun lists what would be fetched, writing and acknowledging nothing.
	// The store may be nil then (the directory does not exist yet).
	DryRun bool

	// KeepOpen leaves in open when Run returns, so the caller can fetch
	// another folder over the same connection (and must Close it).
	// Ignored when deletions wait for Close (DeleteAtClose).
	KeepOpen bool

	// DeleteAtClose says deletions take effect only when Close succeeds
	// (POP3). It is set automatically for a *pop3.Client.
	DeleteAtClose bool

	// ChunkSize is how many messages one Inbound.Fetch streams before the
	// server actions for them run; 0 means DefaultChunkSize. Without a
	// server action or --exec the whole list is one chunk.
	ChunkSize int
	// CommitEvery is how many messages are put between journal commits;
	// 0 means DefaultCommitEvery.
	CommitEvery int

	// Report receives each message's outcome, in order. May be nil.
	Report func(Record)
	// Start is told how many messages and bytes are about to be
	// downloaded; Progress how many bytes arrived since its last call and
	// whether a message was completed. Both may be nil.
	Start    func(messages int, bytes int64)
	Progress func(bytes int64, message bool)
}

// Record is one message's outcome: the --json record of `mailport fetch`.
type Record struct {
	Type    string `json:"type"` // always "message"
	Account string `json:"account"`
	Folder  string `json:"folder"`
	ID      string `json:"id"`             // the server id (IMAP UID, POP3 UIDL, Graph id)
	File    string `json:"file,omitempty"` // the file, relative to the directory
	Size    int64  `json:"size"`
	From    string `json:"from,omitempty"`
	Subject string `json:"subject,omitempty"`
	Date    string `json:"date,omitempty"`  // the Date: header in RFC 3339, when it parses
	Status  string `json:"status"`          // fetched, matched, recovered, failed, would-fetch
	Action  string `json:"action"`          // deleted, moved, seen, kept, or none
	Error   string `json:"error,omitempty"` // why it failed
}

// Summary is the outcome of Run for one account's folder.
type Summary struct {
	Account string
	Folder  string
	Dir     string // the target directory ("" for a dry run without one)

	Listed    int   // messages matching the criteria on the server
	Skipped   int   // already in the directory from earlier runs
	Fetched   int   // written in this run (StatusFetched)
	Matched   int   // recognised after a validity change (StatusMatched)
	Recovered int   // finished from an earlier run
	Bytes     int64 // bytes written in this run
	Failed    int   // messages that failed (kept on the server)
	Gone      int   // listed but removed by another client before download
	Pending   int   // --exec failed earlier and no --exec was given to retry it
	TooLarge  int   // larger than Options.MaxSize: left on the server, not recorded
	MaxSize   int64 // Options.MaxSize, for the sentence about TooLarge

	// Warnings are what the server's listing got wrong without losing
	// mail (e.g. POP3 UIDLs given to more than one message), each one
	// sentence for stderr.
	Warnings []string

	WouldFetch      int   // dry run: messages that would be downloaded
	WouldFetchBytes int64 // dry run: their size as the server reports it

	ValidityChange *store.ValidityChange
}

// OK reports whether every message went through.
func (s *Summary) OK() bool { return s.Failed == 0 }

// Run fetches one folder of an account into st and closes in (unless
// Options.KeepOpen). The returned
// error is what stopped the run (connection lost, disk error, an action the
// server refused); messages handled before it are kept and recorded. Per
// message failures (a failing --exec) are counted in Summary.Failed and
// reported through Options.Report, not returned.
func Run(ctx context.Context, in mail.Inbound, st *store.Store, opts Options) (*Summary, error) {
	r := &runner{in: in, st: st, opts: opts, sum: &Summary{Account: opts.Account, Folder: opts.Folder, MaxSize: opts.MaxSize}, started: time.Now()}
	if _, ok := in.(*pop3.Client); ok {
		r.opts.DeleteAtClose = true
	}
	if r.opts.Action == "" {
		r.opts.Action = Keep
	}
	if r.opts.ChunkSize <= 0 {
		r.opts.ChunkSize = DefaultChunkSize
	}
	if r.opts.CommitEvery <= 0 {
		r.opts.CommitEvery = DefaultCommitEvery
	}
	if st != nil {
		r.sum.Dir = st.Dir()
		if g, ok := in.(*graph.Client); ok {
			// Downloads staged beside the messages: a crash leaves them
			// where the store's next Open removes them, not in $TMPDIR.
			g.StageIn(st.Dir(), store.TempPrefix)
		}
	}
	err := r.run(ctx)
	if cerr := r.close(); err == nil {
		err = cerr
	}
	if st != nil && !opts.DryRun {
		run := store.Run{Account: opts.Account, Started: r.started, Messages: int64(r.sum.Fetched + r.sum.Matched), Bytes: r.sum.Bytes, Failed: int64(r.sum.Failed)}
		if err != nil {
			run.Error = err.Error()
		} else if r.sum.Failed > 0 {
			run.Error = plural.Of(r.sum.Failed, "message", "messages") + " failed"
		}
		if rerr := st.RecordRun(run); rerr != nil && err == nil {
			err = fmt.Errorf("record the run's summary: %w", rerr)
		}
	}
	return r.sum, err
}

type runner struct {
	in      mail.Inbound
	st      *store.Store
	mb      *store.Mailbox
	opts    Options
	sum     *Summary
	started time.Time
	closed  bool

	// atClose are POP3 deletions waiting for QUIT.
	atClose []pending
}

// warner is an Inbound that reports what its listing got wrong without
// losing mail (*pop3.Client).
type warner interface{ Warnings() []string }

// pending is a stored message waiting for its server action.
type pending struct {
	rc     store.Receipt
	status string
	hdr    header
}

func (r *runner) close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.opts.KeepOpen && !r.opts.DeleteAtClose {
		return nil
	}
	err := r.in.Close()
	if len(r.atClose) == 0 {
		return nil
	}
	if err != nil {
		for _, p := range r.atClose {
			rec := r.record(p, "none")
			rec.Error = fmt.Sprintf("stored, but the server did not confirm the deletion (%v); the next run deletes it", err)
			r.report(rec)
		}
		return fmt.Errorf("the server did not confirm the deletions when logging out: %w", err)
	}
	return r.acknowledge(store.ActionDeleted, r.atClose)
}

func (r *runner) run(ctx context.Context) error {
	if err := r.checkMoveTo(ctx); err != nil {
		return err
	}
	f, err := r.in.Open(ctx, r.opts.Folder)
	if err != nil {
		return err
	}
	if r.opts.Folder == "" {
		r.opts.Folder, r.sum.Folder = f.Name, f.Name
	}
	if r.st != nil {
		if r.mb, err = r.st.Mailbox(r.opts.Account, f.Name, f.Validity); err != nil {
			return err
		}
		r.sum.ValidityChange = r.mb.ValidityChange()
	}
	if r.mb != nil && !r.opts.DryRun {
		if err := r.recover(ctx); err != nil {
			return err
		}
	}
	list, err := r.in.List(ctx, r.opts.Criteria)
	if err != nil {
		return fmt.Errorf("list the messages of folder %s: %w", f.Name, err)
	}
	r.sum.Listed = len(list)
	if w, ok := r.in.(warner); ok {
		r.sum.Warnings = append(r.sum.Warnings, w.Warnings()...)
	}
	todo := list[:0:0]
	for _, m := range list {
		if r.mb != nil && r.mb.Seen(m.ID) {
			r.sum.Skipped++
			continue
		}
		if r.opts.MaxSize > 0 && m.Size > r.opts.MaxSize {
			// Not recorded: a later run with a larger --max-size, or
			// none, fetches it.
			r.sum.TooLarge++
			continue
		}
		todo = append(todo, m)
		if r.opts.Limit > 0 && len(todo) == r.opts.Limit {
			break
		}
	}
	var total int64
	for _, m := range todo {
		total += m.Size
	}
	if r.opts.DryRun {
		for _, m := range todo {
			r.sum.WouldFetch++
			r.sum.WouldFetchBytes += m.Size
			rec := Record{ID: m.ID, Size: m.Size, Status: StatusWouldFetch, Action: "none"}
			if !m.Received.IsZero() {
				rec.Date = m.Received.UTC().Format(time.RFC3339)
			}
			r.report(rec)
		}
		return nil
	}
	if r.opts.Start != nil {
		r.opts.Start(len(todo), total)
	}
	chunk := r.opts.ChunkSize
	if r.opts.Action == Keep && r.opts.Exec == "" {
		chunk = len(todo)
	}
	for start := 0; start < len(todo); start += chunk {
		end := min(start+chunk, len(todo))
		if err := r.fetchChunk(ctx, todo[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// fetchChunk streams msgs into the store, commits them, and hands the
// receipts to --exec and the server action.
func (r *runner) fetchChunk(ctx context.Context, msgs []mail.Message) error {
	var (
		done        []pending
		written     = map[string]store.Written{}
		headers     = map[string]header{}
		sinceCommit int
	)
	commit := func() error {
		rcs, err := r.mb.Commit()
		for _, rc := range rcs {
			p := pending{rc: rc, status: StatusFetched, hdr: headers[rc.ID]}
			if w := written[rc.ID]; w.Matched {
				p.status = StatusMatched
			}
			done = append(done, p)
		}
		sinceCommit = 0
		if err != nil {
			return fmt.Errorf("record fetched messages in %s: %w", store.JournalName, err)
		}
		return nil
	}
	fetchErr := r.in.Fetch(ctx, msgs, func(m mail.Message, body io.Reader) error {
		hc := &headerCapture{}
		nr := &netReader{r: body}
		src := io.TeeReader(nr, hc)
		if r.opts.Progress != nil {
			src = &progressReader{r: src, fn: r.opts.Progress}
		}
		w, err := r.mb.Put(m, src)
		if err != nil {
			if nr.err != nil {
				// The server's side broke, not our disk.
				return nr.err
			}
			return &writeError{err: err}
		}
		written[m.ID] = w
		headers[m.ID] = parseHeader(hc.bytes())
		if w.Matched {
			r.sum.Matched++
		} else {
			r.sum.Fetched++
			r.sum.Bytes += w.Size
		}
		if r.opts.Progress != nil {
			r.opts.Progress(0, true)
		}
		sinceCommit++
		if sinceCommit >= r.opts.CommitEvery {
			return commit()
		}
		return nil
	})
	var gone *imap.GoneError
	if errors.As(fetchErr, &gone) {
		r.sum.Gone += len(gone.IDs)
		fetchErr = nil
	}
	// Whatever was written is committed even when the download broke off,
	// so the next run starts after it.
	cerr := commit()
	if fetchErr == nil {
		fetchErr = cerr
	}
	if fetchErr == nil {
		return r.deliver(ctx, done)
	}
	// The run stops here. What was stored is safe and recorded; --exec and
	// the server side are left to the next run, which finds these messages
	// unacknowledged (the connection may well be gone).
	for _, p := range done {
		rec := r.record(p, "none")
		rec.Error = "stored; --exec and the server action are left for the next run"
		r.report(rec)
	}
	var we *writeError
	if errors.As(fetchErr, &we) {
		return fmt.Errorf("write to %s: %w", r.st.Dir(), we.err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("download from the server: %w", fetchErr)
}

// netReader remembers the error reading a message from the server, so a
// broken connection is not mistaken for a failing disk.
type netReader struct {
	r   io.Reader
	err error
}

func (n *netReader) Read(b []byte) (int, error) {
	c, err := n.r.Read(b)
	if err != nil && err != io.EOF {
		n.err = err
	}
	return c, err
}

// writeError marks a failure of our own disk, as opposed to the server's.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// recover finishes messages an earlier run recorded but did not finish.
func (r *runner) recover(ctx context.Context) error {
	unacked := r.mb.Unacknowledged()
	failed := r.mb.Failed()
	if r.opts.Exec == "" && len(failed) > 0 {
		r.sum.Pending = len(failed)
		failed = nil
	}
	if len(unacked) == 0 && len(failed) == 0 {
		return nil
	}
	var ps []pending
	for _, rc := range append(unacked, failed...) {
		hdr, _ := readHeaderFile(rc.Path())
		ps = append(ps, pending{rc: rc, status: StatusRecovered, hdr: hdr})
	}
	return r.deliver(ctx, ps)
}

// deliver runs --exec on the messages that need it, then the server
// action on those that are ready, then records them.
func (r *runner) deliver(ctx context.Context, ps []pending) error {
	ready := ps[:0:0]
	for _, p := range ps {
		if r.opts.Exec != "" && (p.rc.State == store.StateFetched || p.rc.State == store.StateFailed) {
			if err := r.exec(ctx, p.rc); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if ferr := r.mb.Fail(p.rc, err); ferr != nil {
					return fmt.Errorf("record the failure of message %s: %w", p.rc.ID, ferr)
				}
				r.sum.Failed++
				rec := r.record(p, "none")
				rec.Status, rec.Error = StatusFailed, err.Error()
				r.report(rec)
				continue
			}
			if err := r.mb.Delivered(p.rc); err != nil {
				return fmt.Errorf("record the delivery of message %s: %w", p.rc.ID, err)
			}
		}
		ready = append(ready, p)
	}
	if len(ready) == 0 {
		return nil
	}
	if p := ps[0]; p.status == StatusRecovered {
		// Messages from an earlier run may be gone already (the action
		// happened but was not recorded); acting on them again would fail.
		var err error
		if ready, err = r.dropGone(ctx, ready); err != nil {
			return err
		}
		if len(ready) == 0 {
			return nil
		}
	}
	ids := make([]string, len(ready))
	for i, p := range ready {
		ids[i] = p.rc.ID
	}
	var (
		err    error
		action string
	)
	switch r.opts.Action {
	case Keep:
		action = store.ActionKept
	case MarkSeen:
		action, err = store.ActionSeen, r.in.MarkSeen(ctx, ids)
	case Move:
		action, err = store.ActionMoved, r.in.Move(ctx, ids, r.opts.MoveTo)
	case Delete:
		action, err = store.ActionDeleted, r.in.Delete(ctx, ids)
		if err == nil && r.opts.DeleteAtClose {
			r.atClose = append(r.atClose, ready...)
			return nil
		}
	default:
		return fmt.Errorf("unknown server action %q", r.opts.Action)
	}
	if err != nil && graph.ErrorCode(err) == graph.CodeItemNotFound {
		// Graph stops at the first missing message; do them one by one so
		// the missing ones count as done and the others are still acted on.
		err = r.oneByOne(ctx, ready)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		werr := fmt.Errorf("%s on the server: %w", verb(r.opts.Action), err)
		for _, p := range ready {
			rec := r.record(p, "none")
			rec.Error = fmt.Sprintf("stored, but %v; the next run tries again", werr)
			r.report(rec)
		}
		return fmt.Errorf("%s %s stored but not yet %s: %w", plural.Of(len(ready), "message", "messages"), plural.Word(len(ready), "is", "are"), action, werr)
	}
	return r.acknowledge(action, ready)
}

// oneByOne repeats the server action per message, taking Graph's
// ErrorItemNotFound as already done.
func (r *runner) oneByOne(ctx context.Context, ps []pending) error {
	for _, p := range ps {
		ids := []string{p.rc.ID}
		var err error
		switch r.opts.Action {
		case MarkSeen:
			err = r.in.MarkSeen(ctx, ids)
		case Move:
			err = r.in.Move(ctx, ids, r.opts.MoveTo)
		case Delete:
			err = r.in.Delete(ctx, ids)
		}
		if err != nil && graph.ErrorCode(err) != graph.CodeItemNotFound {
			return err
		}
	}
	return nil
}

// dropGone acknowledges the messages no longer in the folder and returns
// the others.
func (r *runner) dropGone(ctx context.Context, ps []pending) ([]pending, error) {
	if r.opts.Action == Keep {
		return ps, nil
	}
	all, err := r.in.List(ctx, mail.Criteria{})
	if err != nil {
		return nil, fmt.Errorf("list the folder to finish the last run's messages: %w", err)
	}
	present := make(map[string]bool, len(all))
	for _, m := range all {
		present[m.ID] = true
	}
	var here, gone []pending
	for _, p := range ps {
		if present[p.rc.ID] {
			here = append(here, p)
		} else {
			gone = append(gone, p)
		}
	}
	action := map[Action]string{MarkSeen: store.ActionSeen, Move: store.ActionMoved, Delete: store.ActionDeleted}[r.opts.Action]
	if err := r.acknowledge(action, gone); err != nil {
		return nil, err
	}
	return here, nil
}

func (r *runner) acknowledge(action string, ps []pending) error {
	if len(ps) == 0 {
		return nil
	}
	rcs := make([]store.Receipt, len(ps))
	for i, p := range ps {
		rcs[i] = p.rc
	}
	if err := r.mb.Acknowledge(action, rcs...); err != nil {
		return fmt.Errorf("record that messages were %s: %w", action, err)
	}
	for _, p := range ps {
		if p.status == StatusRecovered {
			r.sum.Recovered++
		}
		r.report(r.record(p, action))
	}
	return nil
}

func (r *runner) record(p pending, action string) Record {
	return Record{
		ID: p.rc.ID, File: p.rc.File, Size: p.rc.Size, Status: p.status, Action: action,
		From: p.hdr.From, Subject: p.hdr.Subject, Date: p.hdr.Date,
	}
}

func (r *runner) report(rec Record) {
	if r.opts.Report == nil {
		return
	}
	rec.Type, rec.Account, rec.Folder = "message", r.opts.Account, r.opts.Folder
	r.opts.Report(rec)
}

func verb(a Action) string {
	switch a {
	case MarkSeen:
		return "marking them seen"
	case Move:
		return "moving them"
	case Delete:
		return "deleting them"
	}
	return string(a)
}

// exec runs --exec for one message: `sh -c CMD mailport FILE`, the message
// on stdin, the MAILPORT_* variables in the environment.
func (r *runner) exec(ctx context.Context, rc store.Receipt) error {
	path := rc.Path()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s for --exec: %w", path, err)
	}
	defer f.Close()
	runCtx := ctx
	if r.opts.ExecTimeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.opts.ExecTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, "sh", "-c", r.opts.Exec, "mailport", path)
	// A child of the shell that outlives it would hold the output pipe
	// open; do not wait for it longer than this after sh is gone.
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = f
	out := r.opts.ExecOutput
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	env := r.opts.ExecEnv
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string{}, env...),
		"MAILPORT_ACCOUNT="+r.opts.Account,
		"MAILPORT_FOLDER="+r.opts.Folder,
		"MAILPORT_MESSAGE_ID="+rc.ID,
		"MAILPORT_FILE="+path,
	)
	if err := cmd.Run(); err != nil {
		if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("--exec did not finish within %s and was stopped", r.opts.ExecTimeout)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ee.ExitCode() < 0 {
				return fmt.Errorf("--exec was killed (%v)", ee.ProcessState)
			}
			return fmt.Errorf("--exec exited with status %d", ee.ExitCode())
		}
		return fmt.Errorf("--exec could not run: %w", err)
	}
	return nil
}

// progressReader reports bytes as they stream.
type progressReader struct {
	r  io.Reader
	fn func(int64, bool)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n), false)
	}
	return n, err
}

// headerCapture keeps a message's header (up to maxHeader bytes) while the
// message streams past it, so From, Subject and Date need no second read.
type headerCapture struct {
	buf  []byte
	done bool
}

const maxHeader = 64 << 10

func (h *headerCapture) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	room := maxHeader - len(h.buf)
	take := p
	if len(take) > room {
		take = take[:room]
	}
	from := max(0, len(h.buf)-3)
	h.buf = append(h.buf, take...)
	if i := bytes.Index(h.buf[from:], []byte("\n\r\n")); i >= 0 {
		h.buf, h.done = h.buf[:from+i+1], true
	} else if i := bytes.Index(h.buf[from:], []byte("\n\n")); i >= 0 {
		h.buf, h.done = h.buf[:from+i+1], true
	} else if len(h.buf) >= maxHeader {
		h.done = true
	}
	return len(p), nil
}

func (h *headerCapture) bytes() []byte { return h.buf }

func readHeaderFile(path string) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	hc := &headerCapture{}
	buf := make([]byte, 8192)
	for !hc.done {
		n, err := f.Read(buf)
		hc.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return parseHeader(hc.bytes()), nil
}

// trimLine makes a header value printable on one line.
func trimLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
