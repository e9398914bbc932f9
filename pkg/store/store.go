package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/mailport/mailport/pkg/mail"
)

// Format is how messages are laid out in the target directory.
type Format string

const (
	// EML writes one <date>_<id>.eml file per message in the directory itself.
	EML Format = "eml"
	// Maildir writes into the directory's tmp/, new/ and cur/ (created when
	// missing); messages land in new/.
	Maildir Format = "maildir"
)

// Options tune Open. The zero value writes .eml files and fails at once
// when another fetch holds the directory.
type Options struct {
	// Format is EML (the default) or Maildir.
	Format Format
	// Wait is how long Open waits for another mailport fetch on the same
	// directory to finish before failing with a *LockedError.
	Wait time.Duration
	// FileMode is the permission of written messages; 0 means 0600.
	FileMode fs.FileMode
	// Hostname is the host part of Maildir names; "" means os.Hostname.
	Hostname string
	// Now is the clock (for tests); nil means time.Now.
	Now func() time.Time
}

// Key identifies a message in the journal: the account, the folder, the
// folder's validity (IMAP UIDVALIDITY; "" for POP3 and Graph) and the
// server-unique id.
type Key struct {
	Account  string `json:"a"`
	Folder   string `json:"f"`
	Validity string `json:"v,omitempty"`
	ID       string `json:"id"`
}

// State is how far a recorded message has got.
type State string

const (
	// StateFetched: written and recorded; not yet handed to --exec nor
	// acknowledged on the server.
	StateFetched State = "fetched"
	// StateDelivered: --exec succeeded; the server side is still to do.
	StateDelivered State = "delivered"
	// StateFailed: --exec failed; the message stays on the server and the
	// next run retries the command on the file.
	StateFailed State = "failed"
	// StateAcknowledged: done, including whatever the server was asked to
	// do (see Entry.Action).
	StateAcknowledged State = "acknowledged"
)

// Entry is what the state knows about one message.
type Entry struct {
	Key
	// File is the message's path relative to the directory, with slashes
	// ("20261126T101500Z_42.eml", "new/1764152100.M1P2Q3X....host,S=1234").
	File      string
	Size      int64
	SHA256    string // hex
	MessageID string // from the message's header, "" when it has none
	Fetched   time.Time
	State     State
	Action    string    // for StateAcknowledged: e.g. "deleted", "moved", "seen", "kept"
	Error     string    // for StateFailed: the last failure
	Tries     int       // failed --exec attempts so far
	Updated   time.Time // time of the last state change
	// MatchedFrom is set when, after a validity change, this message was
	// recognised as an already fetched one (same Message-ID and size, or
	// the same bytes) and recorded against that entry's file instead of
	// being written a second time.
	MatchedFrom *Key
}

// Receipt is a recorded message whose record is durable: only Commit,
// Unacknowledged and Failed hand them out, and only a Receipt lets the
// caller mark a message delivered, failed or acknowledged. So the engine
// cannot acknowledge on the server a message whose file and record a crash
// could still lose.
type Receipt struct {
	Entry
	store *Store
}

// Path is the message file's path.
func (r Receipt) Path() string {
	if r.store == nil {
		return ""
	}
	return filepath.Join(r.store.dir, filepath.FromSlash(r.File))
}

// Written is the result of Put.
type Written struct {
	Entry
	// Adopted: the file was already in place with this exact content (a
	// crash after the rename, before the record) and is recorded as is.
	Adopted bool
	// Matched: the message was matched to an entry of an older validity
	// (see Mailbox) and nothing was written.
	Matched bool
}

// Run is the summary of one fetch run of an account, kept so that status
// can say when the account was last fetched and how it went.
type Run struct {
	Account  string
	Started  time.Time
	Finished time.Time
	Messages int64  // messages written
	Bytes    int64  // bytes written
	Failed   int64  // messages that failed
	Error    string // the run's error, "" when it succeeded
}

// ValidityChange reports that a folder's validity is not the one of the
// last run: the server renumbered its messages.
type ValidityChange struct {
	Account, Folder string
	Old, New        string
	// Candidates is how many entries of older validities may still be
	// matched to messages under the new one.
	Candidates int
}

// LockedError is returned by Open when another mailport fetch holds the
// directory.
type LockedError struct {
	Dir    string
	PID    int // 0 when unknown
	Waited time.Duration
}

func (e *LockedError) Error() string {
	who := "another mailport fetch"
	if e.PID > 0 {
		who += " (PID " + strconv.Itoa(e.PID) + ")"
	}
	if e.Waited > 0 {
		return fmt.Sprintf("%s is writing into %s and did not finish within %s; try again later", who, e.Dir, e.Waited)
	}
	return fmt.Sprintf("%s is writing into %s; try again when it has finished, or wait for it", who, e.Dir)
}

// Store is an open target directory: it holds the directory's lock until
// Close. It is safe for concurrent use, so one Store can serve several
// accounts fetched into the same directory.
type Store struct {
	dir    string
	root   *os.Root
	format Format
	mode   fs.FileMode
	host   string
	now    func() time.Time
	lock   *flock.Flock

	mu        sync.Mutex
	j         *journal
	entries   map[Key]*Entry
	synced    map[Key]bool // entries whose fetched line is durable
	files     map[string]Key
	claimed   map[Key]bool
	validity  map[[2]string]string
	runs      map[string]Run
	mailboxes map[Key]*Mailbox // Key without ID
	inflight  map[Key]bool
	dirDirty  bool
	orphans   map[string][]string // Maildir: key hash -> unrecorded files
	seq       uint64
	skipped   int
	broken    error
	closed    bool
}

// Open takes the directory dir for one fetch: it creates it (and the
// Maildir subdirectories) when missing, takes its lock, removes temporary
// files a crash left behind, and loads the journal.
func Open(dir string, opts Options) (*Store, error) {
	format := opts.Format
	if format == "" {
		format = EML
	}
	if format != EML && format != Maildir {
		return nil, fmt.Errorf("unknown format %q: use eml or maildir", format)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("target directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating the target directory: %w", err)
	}
	lock, err := lockDir(abs, opts.Wait)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir: abs, format: format, mode: opts.FileMode, host: opts.Hostname, now: opts.Now, lock: lock,
		entries: map[Key]*Entry{}, synced: map[Key]bool{}, files: map[string]Key{}, claimed: map[Key]bool{},
		validity: map[[2]string]string{}, runs: map[string]Run{}, mailboxes: map[Key]*Mailbox{},
		inflight: map[Key]bool{},
	}
	if err := s.open(); err != nil {
		if s.root != nil {
			_ = s.root.Close()
		}
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open() error {
	if s.mode == 0 {
		s.mode = 0o600
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.host == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		s.host = h
	}
	s.host = maildirHost(s.host)

	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return fmt.Errorf("opening the target directory: %w", err)
	}
	s.root = root
	if err := s.detectLayout(); err != nil {
		return err
	}
	if err := s.removeTemps(); err != nil {
		return err
	}
	j, skipped, err := loadJournal(filepath.Join(s.dir, JournalName), s.apply)
	if err != nil {
		return err
	}
	s.j, s.skipped = j, skipped
	if err := s.checkJournalLayout(); err != nil {
		_ = j.close()
		return err
	}
	if s.format == Maildir {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := root.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				_ = j.close()
				return fmt.Errorf("creating the Maildir %s: %w", filepath.Join(s.dir, sub), err)
			}
		}
		if err := syncDir(root, "."); err != nil {
			_ = j.close()
			return err
		}
	}
	if s.j.lines > 2*(len(s.entries)+len(s.runs)+len(s.validity))+1000 {
		return s.compact()
	}
	return nil
}

// lockDir takes the directory's lock, waiting up to wait, and writes our
// PID into the lock file for the message another fetch would see.
func lockDir(dir string, wait time.Duration) (*flock.Flock, error) {
	lockPath := filepath.Join(dir, LockName)
	// Create it, or check the one there, before the lock opens it: it
	// must be our own regular file, never a link planted to make a fetch
	// (often root) write elsewhere.
	l, err := newLock(lockPath)
	var no *NotOwnedError
	if errors.As(err, &no) {
		return nil, err // the sentence names the file and the fix
	}
	if err != nil {
		return nil, fmt.Errorf("locking the target directory %s: %w", dir, err)
	}
	var ok bool
	if wait <= 0 {
		ok, err = l.TryLock()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		ok, err = l.TryLockContext(ctx, 20*time.Millisecond)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("locking the target directory %s: %w", dir, err)
	}
	if !ok {
		return nil, &LockedError{Dir: dir, PID: readPID(lockPath), Waited: wait}
	}
	if err := writePID(lockPath, l); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("locking the target directory %s: %w", dir, err)
	}
	return l, nil
}

// writePID writes our PID into the lock file l holds, after checking that
// the path still names the file locked. The PID is informative only; the
// flock is what excludes.
func writePID(lockPath string, l *flock.Flock) error {
	locked, err := l.Stat()
	if err != nil {
		return err
	}
	f, err := openOwned(lockPath, os.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !os.SameFile(fi, locked) {
		return fmt.Errorf("%s was replaced while mailport locked it; is something else writing in the directory?", lockPath)
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return err
}

func readPID(lockPath string) int {
	f, err := openOwned(lockPath, os.O_RDONLY)
	if err != nil {
		return 0
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// removeTemps deletes temporary files left by a crash: ours only (the
// Maildir tmp/ may be shared with another delivery agent).
func (s *Store) removeTemps() error {
	dirs := []string{"."}
	if s.format == Maildir {
		dirs = append(dirs, "tmp")
	}
	for _, d := range dirs {
		f, err := s.root.Open(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cleaning up %s: %w", s.dir, err)
		}
		names, err := f.Readdirnames(-1)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("cleaning up %s: %w", s.dir, err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, tmpPrefix) {
				if err := s.root.Remove(path.Join(d, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("removing a leftover temporary file in %s: %w", s.dir, err)
				}
			}
		}
	}
	return nil
}

// apply replays one journal record into memory.
func (s *Store) apply(r record) error {
	k := Key{Account: r.Account, Folder: r.Folder, Validity: r.Valid, ID: r.ID}
	switch r.T {
	case recFetched:
		st := State(r.State)
		if st == "" {
			st = StateFetched
		}
		e := &Entry{Key: k, File: r.File, Size: r.Size, SHA256: r.SHA256, MessageID: r.MsgID,
			Fetched: r.At, State: st, Action: r.Action, Error: r.Err, Tries: r.Tries, Updated: r.At, MatchedFrom: r.From}
		if r.Updated != nil {
			e.Updated = *r.Updated
		}
		s.entries[k] = e
		s.synced[k] = true
		s.files[e.File] = k
		if r.From != nil {
			s.claimed[*r.From] = true
		}
	case recDelivered, recFailed, recAck:
		e := s.entries[k]
		if e == nil {
			return nil // its fetched line was lost or compacted away with it
		}
		e.Updated = r.At
		switch r.T {
		case recDelivered:
			e.State, e.Error = StateDelivered, ""
		case recFailed:
			e.State, e.Error = StateFailed, r.Err
			e.Tries++
		case recAck:
			e.State, e.Action, e.Error = StateAcknowledged, r.Action, ""
		}
	case recValidity:
		s.validity[[2]string{r.Account, r.Folder}] = r.Valid
	case recRun:
		s.runs[r.Account] = runFromRecord(r)
	}
	return nil
}

func runFromRecord(r record) Run {
	run := Run{Account: r.Account, Finished: r.At, Messages: r.Messages, Bytes: r.Bytes, Failed: r.Failures, Error: r.Err}
	if r.Started != nil {
		run.Started = *r.Started
	}
	return run
}

// compact rewrites the journal with one line per entry, folder validity
// and account run, atomically (temporary file, sync, rename, sync of the
// directory), and reopens it for appending.
func (s *Store) compact() error {
	tmp := tmpPrefix + "state"
	_ = s.root.Remove(tmp) // a crash's leftover, or a link planted in its place
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("compacting the fetch state in %s: %w", s.dir, err)
	}
	j := &journal{f: f, path: filepath.Join(s.dir, JournalName)}
	fail := func(err error) error {
		_ = f.Close()
		_ = s.root.Remove(tmp)
		return fmt.Errorf("compacting the fetch state in %s: %w", s.dir, err)
	}
	if err := j.append(record{T: recHeader, Version: journalVersion, At: s.now().UTC()}); err != nil {
		return fail(err)
	}
	for _, r := range s.snapshot() {
		if err := j.append(r); err != nil {
			return fail(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := s.root.Rename(tmp, JournalName); err != nil {
		_ = s.root.Remove(tmp)
		return fmt.Errorf("compacting the fetch state in %s: %w", s.dir, err)
	}
	if err := syncDir(s.root, "."); err != nil {
		return err
	}
	_ = s.j.f.Close()
	nf, err := openOwned(j.path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("reopening the fetch state %s: %w", j.path, err)
	}
	s.j = &journal{f: nf, path: j.path, lines: j.lines}
	return nil
}

// snapshot is the current state as journal records, in a stable order.
func (s *Store) snapshot() []record {
	var out []record
	vkeys := make([][2]string, 0, len(s.validity))
	for k := range s.validity {
		vkeys = append(vkeys, k)
	}
	sort.Slice(vkeys, func(i, j int) bool {
		return vkeys[i][0] < vkeys[j][0] || vkeys[i][0] == vkeys[j][0] && vkeys[i][1] < vkeys[j][1]
	})
	for _, k := range vkeys {
		out = append(out, record{T: recValidity, Account: k[0], Folder: k[1], Valid: s.validity[k], At: s.now().UTC()})
	}
	es := make([]*Entry, 0, len(s.entries))
	for k, e := range s.entries {
		if s.synced[k] {
			es = append(es, e)
		}
	}
	sortEntries(es)
	for _, e := range es {
		r := fetchedRecord(e)
		r.State, r.Action, r.Err, r.Tries = string(e.State), e.Action, e.Error, e.Tries
		u := e.Updated
		r.Updated = &u
		out = append(out, r)
	}
	accts := make([]string, 0, len(s.runs))
	for a := range s.runs {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	for _, a := range accts {
		out = append(out, runRecord(s.runs[a]))
	}
	return out
}

func fetchedRecord(e *Entry) record {
	r := record{T: recFetched, Account: e.Account, Folder: e.Folder, Valid: e.Validity, ID: e.ID,
		File: e.File, Size: e.Size, SHA256: e.SHA256, MsgID: e.MessageID, At: e.Fetched.UTC(), From: e.MatchedFrom}
	if e.State != StateFetched {
		r.State = string(e.State)
	}
	return r
}

func runRecord(run Run) record {
	r := record{T: recRun, Account: run.Account, At: run.Finished.UTC(), Messages: run.Messages,
		Bytes: run.Bytes, Failures: run.Failed, Err: run.Error}
	if !run.Started.IsZero() {
		st := run.Started.UTC()
		r.Started = &st
	}
	return r
}

func sortEntries(es []*Entry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if !a.Fetched.Equal(b.Fetched) {
			return a.Fetched.Before(b.Fetched)
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Folder != b.Folder {
			return a.Folder < b.Folder
		}
		if a.Validity != b.Validity {
			return a.Validity < b.Validity
		}
		return a.ID < b.ID
	})
}

// Dir is the target directory (absolute).
func (s *Store) Dir() string { return s.dir }

// Format is the layout messages are written in.
func (s *Store) Format() Format { return s.format }

// Skipped is how many damaged journal lines Open ignored (see the package
// documentation on crash recovery); the fetch may report it.
func (s *Store) Skipped() int { return s.skipped }

// LastRun returns the last recorded run of account.
func (s *Store) LastRun(account string) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[account]
	return r, ok
}

// RecordRun appends a run summary and syncs it. Finished defaults to now.
func (s *Store) RecordRun(run Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if run.Account == "" {
		return errors.New("recording a fetch run: no account named")
	}
	if run.Finished.IsZero() {
		run.Finished = s.now()
	}
	run.Finished, run.Started = run.Finished.UTC(), run.Started.UTC()
	if err := s.j.append(runRecord(run)); err != nil {
		return s.fail(err)
	}
	if err := s.j.sync(); err != nil {
		return s.fail(err)
	}
	s.runs[run.Account] = run
	return nil
}

// Close records every message written since the last Commit (so nothing
// written is left unrecorded), syncs and closes the journal and releases
// the lock. Receipts are no longer usable afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.broken == nil {
		for _, m := range s.mailboxes {
			if _, cerr := m.commitLocked(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}
	if cerr := s.j.close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := s.root.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing %s: %w", s.dir, cerr)
	}
	if cerr := s.lock.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("unlocking %s: %w", s.dir, cerr)
	}
	return err
}

func (s *Store) usable() error {
	if s.closed {
		return fmt.Errorf("the fetch state of %s is closed", s.dir)
	}
	return s.broken
}

// fail marks the store unusable after a journal write failed: what is in
// the file is no longer known, so nothing more may be acknowledged.
func (s *Store) fail(err error) error {
	if s.broken == nil {
		s.broken = fmt.Errorf("the fetch state of %s could not be written, so nothing more is acknowledged in this run: %w", s.dir, err)
	}
	return err
}

// LastRun reads the last recorded run of account from the state in dir
// without taking the lock, so status works while a fetch is running.
// ok is false when the account has no recorded run (or dir has no state).
func LastRun(dir, account string) (run Run, ok bool, err error) {
	err = readJournal(filepath.Join(dir, JournalName), func(r record) error {
		if r.T == recRun && r.Account == account {
			run, ok = runFromRecord(r), true
		}
		return nil
	})
	return run, ok, err
}

// RecordedFiles reads, without locking, the journal in dir and returns
// the accounts it records anything for and the message files it records,
// each with its account. A missing journal records nothing.
func RecordedFiles(dir string) (accounts map[string]bool, files map[string]string, err error) {
	accounts, files = map[string]bool{}, map[string]string{}
	err = readJournal(filepath.Join(dir, JournalName), func(r record) error {
		if r.Account != "" {
			accounts[r.Account] = true
		}
		if r.File != "" {
			files[r.File] = r.Account
		}
		return nil
	})
	return accounts, files, err
}

// IsTemp reports whether name is one of the store's temporary files (a
// crash may leave them; the next run removes them).
func IsTemp(name string) bool { return strings.HasPrefix(name, tmpPrefix) }

// Mailbox is one folder of one account in the store, at one validity. All
// message operations go through it.
type Mailbox struct {
	s      *Store
	base   Key // without ID
	change *ValidityChange

	pending []*Entry // written since the last Commit; no journal line yet
	// Entries of older validities of the same folder that may match a
	// message under the new numbering: by Message-ID and by content hash.
	poolByMsgID map[string][]*Entry
	poolBySum   map[string][]*Entry
}

// Mailbox returns the folder folder of account at validity (the IMAP
// UIDVALIDITY, "" for POP3 and Graph). Calling it again with the same
// arguments returns the same Mailbox.
//
// When validity differs from the one recorded by the last run, the change
// is recorded and reported by ValidityChange. From then on, messages put
// into this Mailbox are first compared with the entries of the older
// validities that have not been matched yet and were not deleted or moved
// away on the server: a message with the same Message-ID and size, or with
// exactly the same bytes, is recorded against the existing file (carrying
// over its progress: a message already delivered to --exec is not
// delivered again) rather than written a second time. The comparison needs
// the message itself, so the message is downloaded once more, but the
// directory never gets a duplicate. Matching is kept up across runs until
// every old entry is matched, so an interrupted run continues it.
func (s *Store) Mailbox(account, folder, validity string) (*Mailbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	base := Key{Account: account, Folder: folder, Validity: validity}
	if m := s.mailboxes[base]; m != nil {
		return m, nil
	}
	m := &Mailbox{s: s, base: base}
	af := [2]string{account, folder}
	old, known := s.validity[af]
	if !known || old != validity {
		if err := s.j.append(record{T: recValidity, Account: account, Folder: folder, Valid: validity, At: s.now().UTC()}); err != nil {
			return nil, s.fail(err)
		}
		s.validity[af] = validity
	}
	for k, e := range s.entries {
		if k.Account != account || k.Folder != folder || k.Validity == validity || s.claimed[k] {
			continue
		}
		if e.State == StateAcknowledged && (e.Action == ActionDeleted || e.Action == ActionMoved) {
			continue // gone from the folder: a lookalike is a new message
		}
		if m.poolBySum == nil {
			m.poolByMsgID, m.poolBySum = map[string][]*Entry{}, map[string][]*Entry{}
		}
		if e.MessageID != "" {
			m.poolByMsgID[e.MessageID] = append(m.poolByMsgID[e.MessageID], e)
		}
		m.poolBySum[e.SHA256] = append(m.poolBySum[e.SHA256], e)
	}
	if known && old != validity {
		n := 0
		for _, es := range m.poolBySum {
			n += len(es)
		}
		m.change = &ValidityChange{Account: account, Folder: folder, Old: old, New: validity, Candidates: n}
	}
	s.mailboxes[base] = m
	return m, nil
}

// Actions commonly recorded by Acknowledge.
const (
	ActionDeleted = "deleted" // removed from the server folder
	ActionMoved   = "moved"   // moved to another folder
	ActionSeen    = "seen"    // marked seen / read
	ActionKept    = "kept"    // left as it was; nothing to do on the server
)

// ValidityChange is non-nil when this folder's validity changed since the
// last run (see Store.Mailbox).
func (m *Mailbox) ValidityChange() *ValidityChange { return m.change }

func (m *Mailbox) key(id string) Key {
	k := m.base
	k.ID = id
	return k
}

// Seen reports whether the message id is already recorded (in any state,
// or written in this run and not yet committed): the engine skips it.
func (m *Mailbox) Seen(id string) bool {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	_, ok := m.s.entries[m.key(id)]
	return ok
}

// Entry returns the recorded entry of id.
func (m *Mailbox) Entry(id string) (Entry, bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	e, ok := m.s.entries[m.key(id)]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// MatchByMessageID looks for an entry of an older validity of this folder,
// not yet matched, with this Message-ID and size. Put does this matching
// by itself; the lookup is for callers that know a message's Message-ID
// before downloading it.
func (m *Mailbox) MatchByMessageID(messageID string, size int64) (Entry, bool) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if e := m.matchLocked(normalizeMessageID(messageID), size, ""); e != nil {
		return *e, true
	}
	return Entry{}, false
}

func (m *Mailbox) matchLocked(messageID string, size int64, sum string) *Entry {
	if messageID != "" {
		for _, e := range m.poolByMsgID[messageID] {
			if e.Size == size && !m.s.claimed[e.Key] {
				return e
			}
		}
	}
	if sum != "" {
		for _, e := range m.poolBySum[sum] {
			if !m.s.claimed[e.Key] {
				return e
			}
		}
	}
	return nil
}

// Put stores one message: it streams r into a temporary file in the target
// directory (memory stays flat whatever the size), syncs it, and renames
// it into place under a safe name (see EMLName; for Maildir a unique name
// in new/). The message is recorded in the journal by the next Commit,
// which is what yields the Receipt needed to act on it.
//
// msg.ID must be the server-unique id; msg.Received names .eml files (when
// zero, the message's Date: header, else NoDate). If a file with this
// exact content is already where a crash after the rename left it, it is
// recorded instead of writing a copy (Written.Adopted). An existing file
// with other content is never replaced: the message gets another name.
// Putting an id that is already recorded is an error.
func (m *Mailbox) Put(msg mail.Message, r io.Reader) (Written, error) {
	s := m.s
	k := m.key(msg.ID)
	if msg.ID == "" {
		return Written{}, errors.New("storing a message: the server gave it no id")
	}
	s.mu.Lock()
	err := s.usable()
	if err == nil {
		if _, ok := s.entries[k]; ok || s.inflight[k] {
			err = fmt.Errorf("storing message %s of %s: it is already recorded", msg.ID, k.Folder)
		}
	}
	if err == nil {
		s.inflight[k] = true
	}
	s.mu.Unlock()
	if err != nil {
		return Written{}, err
	}
	defer func() {
		s.mu.Lock()
		delete(s.inflight, k)
		s.mu.Unlock()
	}()

	sub := ""
	if s.format == Maildir {
		sub = "tmp"
	}
	t, err := writeTemp(s.root, sub, s.mode, r)
	if err != nil {
		return Written{}, fmt.Errorf("storing message %s: %w", msg.ID, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	removeTemp := func() { _ = s.root.Remove(t.name) }
	if err := s.usable(); err != nil {
		removeTemp()
		return Written{}, err
	}
	now := s.now().UTC()
	e := &Entry{Key: k, Size: t.size, SHA256: t.sha256, MessageID: t.messageID, Fetched: now, Updated: now, State: StateFetched}
	w := Written{}

	if old := m.matchLocked(t.messageID, t.size, t.sha256); old != nil {
		removeTemp()
		from := old.Key
		e.File, e.MatchedFrom = old.File, &from
		switch old.State {
		case StateDelivered, StateAcknowledged:
			e.State = StateDelivered
		}
		s.claimed[from] = true
		w.Matched = true
	} else {
		var adopted bool
		var err error
		if s.format == Maildir {
			e.File, adopted, err = s.placeMaildir(k, t)
		} else {
			date := msg.Received
			if date.IsZero() {
				date = t.date
			}
			e.File, adopted, err = s.placeEML(k, date, t)
		}
		if err != nil {
			removeTemp()
			return Written{}, fmt.Errorf("storing message %s: %w", msg.ID, err)
		}
		w.Adopted = adopted
		s.dirDirty = true
	}
	s.entries[k] = e
	s.files[e.File] = k
	m.pending = append(m.pending, e)
	w.Entry = *e
	return w, nil
}

// placeEML renames the temporary file to its .eml name, or adopts an
// identical unrecorded file already there. Names tried in turn:
// <date>_<id>.eml, then <date>_<id>.<keyhash8>.eml and -2, -3, ... after
// it, so a different message of another account or folder that happens to
// get the same name is never replaced.
func (s *Store) placeEML(k Key, date time.Time, t tempFile) (string, bool, error) {
	base := strings.TrimSuffix(EMLName(date, k.ID), ".eml")
	alt := base + "." + keyHash(k)[:8]
	for i := 0; i < 1000; i++ {
		name := base + ".eml"
		switch {
		case i == 1:
			name = alt + ".eml"
		case i > 1:
			name = alt + "-" + strconv.Itoa(i) + ".eml"
		}
		if placed, adopted, err := s.tryPlace(t, name); placed || err != nil {
			return name, adopted, err
		}
	}
	return "", false, fmt.Errorf("no free file name for message %s in %s", k.ID, s.dir)
}

// placeMaildir adopts an unrecorded file with this message's key and
// content left in new/ or cur/ by a crash, or renames the temporary file
// into new/ under a fresh unique name.
func (s *Store) placeMaildir(k Key, t tempFile) (string, bool, error) {
	kh := keyHash(k)
	if err := s.scanOrphans(); err != nil {
		return "", false, err
	}
	for _, name := range s.orphans[kh] {
		if _, recorded := s.files[name]; recorded {
			continue
		}
		same, err := sameFile(s.root, name, t.size, t.sha256)
		if err == nil && same {
			_ = s.root.Remove(t.name)
			return name, true, nil
		}
	}
	for {
		s.seq++
		name := "new/" + maildirName(s.now(), os.Getpid(), s.seq, k, s.host, t.size)
		if placed, adopted, err := s.tryPlace(t, name); placed || err != nil {
			return name, adopted, err
		}
	}
}

// tryPlace puts the temporary file at name unless something is there
// already. An unrecorded regular file with the same content is adopted.
func (s *Store) tryPlace(t tempFile, name string) (placed, adopted bool, err error) {
	if _, recorded := s.files[name]; recorded {
		return false, false, nil
	}
	_, err = s.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.root.Rename(t.name, name); err != nil {
			return false, false, fmt.Errorf("renaming into %s: %w", filepath.Join(s.dir, filepath.FromSlash(name)), err)
		}
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("checking %s: %w", filepath.Join(s.dir, filepath.FromSlash(name)), err)
	}
	same, err := sameFile(s.root, name, t.size, t.sha256)
	if err != nil {
		return false, false, fmt.Errorf("comparing with %s: %w", filepath.Join(s.dir, filepath.FromSlash(name)), err)
	}
	if !same {
		return false, false, nil
	}
	if err := s.root.Remove(t.name); err != nil {
		return false, false, fmt.Errorf("removing a temporary file in %s: %w", s.dir, err)
	}
	return true, true, nil
}

// scanOrphans indexes, once per Store, the Maildir files written by us
// (their name carries a key hash) that the journal does not know: what a
// crash between the rename and the record leaves. A mail reader may have
// moved them to cur/ and added flags after a colon.
func (s *Store) scanOrphans() error {
	if s.orphans != nil {
		return nil
	}
	recorded := map[string]bool{}
	for f := range s.files {
		u, _, _ := strings.Cut(path.Base(f), ":")
		recorded[u] = true
	}
	s.orphans = map[string][]string{}
	for _, d := range []string{"new", "cur"} {
		f, err := s.root.Open(d)
		if err != nil {
			return fmt.Errorf("reading the Maildir %s: %w", filepath.Join(s.dir, d), err)
		}
		names, err := f.Readdirnames(-1)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("reading the Maildir %s: %w", filepath.Join(s.dir, d), err)
		}
		for _, n := range names {
			u, _, _ := strings.Cut(n, ":")
			if recorded[u] {
				continue
			}
			if kh := maildirKeyHash(n); kh != "" {
				s.orphans[kh] = append(s.orphans[kh], d+"/"+n)
			}
		}
	}
	return nil
}

// Commit makes the messages put since the last Commit durable (the
// directory entries first, then their journal lines) and returns their
// receipts: only now may the engine run --exec on them or acknowledge them
// on the server. The engine calls it once per batch.
func (m *Mailbox) Commit() ([]Receipt, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.usable(); err != nil {
		return nil, err
	}
	return m.commitLocked()
}

func (m *Mailbox) commitLocked() ([]Receipt, error) {
	s := m.s
	if len(m.pending) == 0 {
		return nil, s.j.sync() // e.g. a validity line
	}
	// The renames must be durable before the records that point at them:
	// a record that survives a power loss without its file would let the
	// next run acknowledge (delete) a message that is nowhere.
	if s.dirDirty {
		dir := "."
		if s.format == Maildir {
			dir = "new"
		}
		if err := syncDir(s.root, dir); err != nil {
			return nil, s.fail(err)
		}
		s.dirDirty = false
	}
	for _, e := range m.pending {
		if err := s.j.append(fetchedRecord(e)); err != nil {
			return nil, s.fail(err)
		}
	}
	if err := s.j.sync(); err != nil {
		return nil, s.fail(err)
	}
	rs := make([]Receipt, len(m.pending))
	for i, e := range m.pending {
		s.synced[e.Key] = true
		rs[i] = Receipt{Entry: *e, store: s}
	}
	m.pending = nil
	return rs, nil
}

// Unacknowledged returns receipts for this folder's messages that are
// recorded but neither acknowledged nor failed, oldest first: what a crash
// between writing and acknowledging left. The engine acknowledges them
// (and for StateFetched runs --exec first) without fetching them again.
func (m *Mailbox) Unacknowledged() []Receipt {
	return m.receipts(func(e *Entry) bool { return e.State == StateFetched || e.State == StateDelivered })
}

// Failed returns receipts for this folder's messages whose --exec failed,
// oldest first, for the engine to retry.
func (m *Mailbox) Failed() []Receipt {
	return m.receipts(func(e *Entry) bool { return e.State == StateFailed })
}

func (m *Mailbox) receipts(want func(*Entry) bool) []Receipt {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	var es []*Entry
	for k, e := range m.s.entries {
		if k.Account == m.base.Account && k.Folder == m.base.Folder && k.Validity == m.base.Validity &&
			m.s.synced[k] && want(e) {
			es = append(es, e)
		}
	}
	sortEntries(es)
	rs := make([]Receipt, len(es))
	for i, e := range es {
		rs[i] = Receipt{Entry: *e, store: m.s}
		rs[i].File = m.s.locate(e.File)
	}
	return rs
}

// locate finds a Maildir message a mail reader has moved from new/ to cur/
// (adding flags after a colon) since it was recorded, so a retried --exec
// gets a path that exists. Anything else is returned as recorded.
func (s *Store) locate(file string) string {
	if s.format != Maildir || !strings.HasPrefix(file, "new/") {
		return file
	}
	if _, err := s.root.Lstat(file); err == nil {
		return file
	}
	unique, _, _ := strings.Cut(path.Base(file), ":")
	d, err := s.root.Open("cur")
	if err != nil {
		return file
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return file
	}
	for _, n := range names {
		if u, _, _ := strings.Cut(n, ":"); u == unique {
			return "cur/" + n
		}
	}
	return file
}

// Delivered records that --exec succeeded for these messages (synced
// before it returns), so a crash before the server side is done does not
// run the command again.
func (m *Mailbox) Delivered(rs ...Receipt) error {
	return m.mark(rs, func(e *Entry, now time.Time) record {
		e.State, e.Error = StateDelivered, ""
		return record{T: recDelivered, At: now}
	})
}

// Fail records that --exec failed for the message, with cause; it stays on
// the server and in Failed for the next run.
func (m *Mailbox) Fail(r Receipt, cause error) error {
	msg := "failed"
	if cause != nil {
		msg = cause.Error()
	}
	return m.mark([]Receipt{r}, func(e *Entry, now time.Time) record {
		e.State, e.Error = StateFailed, msg
		e.Tries++
		return record{T: recFailed, Err: msg, At: now}
	})
}

// Acknowledge records that the messages are done: action (ActionDeleted,
// ActionMoved, ActionSeen, ActionKept or another word) was carried out on
// the server, after --exec if any. Synced before it returns.
func (m *Mailbox) Acknowledge(action string, rs ...Receipt) error {
	if action == "" {
		action = ActionKept
	}
	return m.mark(rs, func(e *Entry, now time.Time) record {
		e.State, e.Action, e.Error = StateAcknowledged, action, ""
		return record{T: recAck, Action: action, At: now}
	})
}

// mark validates every receipt first, then appends one line each and syncs.
func (m *Mailbox) mark(rs []Receipt, change func(*Entry, time.Time) record) error {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	es := make([]*Entry, len(rs))
	for i, r := range rs {
		e := s.entries[r.Key]
		if r.store != s || e == nil || !s.synced[r.Key] {
			return fmt.Errorf("message %s of %s has no durable record in %s; it must not be acknowledged", r.ID, r.Folder, s.dir)
		}
		es[i] = e
	}
	now := s.now().UTC()
	for _, e := range es {
		rec := change(e, now)
		e.Updated = now
		rec.Account, rec.Folder, rec.Valid, rec.ID = e.Account, e.Folder, e.Validity, e.ID
		if err := s.j.append(rec); err != nil {
			return s.fail(err)
		}
	}
	if err := s.j.sync(); err != nil {
		return s.fail(err)
	}
	return nil
}
