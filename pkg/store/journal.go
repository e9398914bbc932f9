package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// JournalName is the state file in the target directory: an append-only
// journal of JSON lines. It is a file, not a directory, so that a Maildir
// reader never takes it for a subfolder.
const JournalName = ".mailport-state.jsonl"

// LockName is the lock file beside the journal; it holds the PID of the
// fetch that has it.
const LockName = ".mailport.lock"

// journalVersion is written in the first line; a journal from a newer
// mailport is refused rather than misread.
const journalVersion = 1

// Record types of journal lines.
const (
	recHeader    = "mailport-journal"
	recFetched   = "fetched"
	recDelivered = "delivered"
	recFailed    = "failed"
	recAck       = "acknowledged"
	recValidity  = "validity"
	recRun       = "run"
)

// record is one journal line. Fields are short because there is one line
// per message and per state change.
type record struct {
	T       string    `json:"t"`
	Version int       `json:"version,omitempty"`
	Account string    `json:"a,omitempty"`
	Folder  string    `json:"f,omitempty"`
	Valid   string    `json:"v,omitempty"`
	ID      string    `json:"id,omitempty"`
	File    string    `json:"file,omitempty"`
	Size    int64     `json:"size,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	MsgID   string    `json:"mid,omitempty"`
	At      time.Time `json:"at"`
	Action  string    `json:"action,omitempty"`
	Err     string    `json:"err,omitempty"`
	// From names the entry of an older validity this one was matched to
	// (same Message-ID and size, or same content) instead of being written
	// again; State carries that entry's progress over.
	From  *Key   `json:"from,omitempty"`
	State string `json:"state,omitempty"`
	// Tries counts failed deliveries; Updated is the time of the last
	// state change (both kept when the journal is compacted).
	Tries   int        `json:"tries,omitempty"`
	Updated *time.Time `json:"updated,omitempty"`
	// Run summaries.
	Messages int64      `json:"n,omitempty"`
	Bytes    int64      `json:"bytes,omitempty"`
	Failures int64      `json:"failures,omitempty"`
	Started  *time.Time `json:"started,omitempty"`
}

// journal is the open journal file. Lines are appended with one write
// each and made durable by sync.
type journal struct {
	f     *os.File
	path  string
	lines int // lines in the file, for compaction
	dirty bool
}

// loadJournal reads every line of the journal at path, calling apply for
// each valid record, and returns the file opened for appending.
//
// A last line without its newline is what a crash in the middle of an
// append leaves: it was never synced, so no acknowledgement depended on it.
// It is cut off, so the next append starts on a clean line. A complete line
// that is not valid JSON (a block of zeros after a power loss) is skipped
// and counted in skipped; losing a "fetched" line only means the message
// is downloaded again and matched to its file, never written twice.
func loadJournal(path string, apply func(record) error) (j *journal, skipped int, err error) {
	f, err := openOwned(path, os.O_RDWR|os.O_CREATE)
	var no *NotOwnedError
	if errors.As(err, &no) {
		return nil, 0, err // the sentence names the file and the fix
	}
	if err != nil {
		return nil, 0, fmt.Errorf("opening the fetch state %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	br := bufio.NewReaderSize(f, 64<<10)
	var good int64 // offset just after the last complete line
	lines := 0
	for {
		line, n, rerr := readLine(br)
		if rerr == io.EOF {
			break // line (possibly non-empty) is a torn tail
		}
		if rerr != nil {
			return nil, 0, fmt.Errorf("reading the fetch state %s: %w", path, rerr)
		}
		good += n
		lines++
		if line == nil {
			skipped++ // longer than any record we write
			continue
		}
		body := bytes.TrimSpace(line)
		if len(body) == 0 {
			continue
		}
		var r record
		if json.Unmarshal(body, &r) != nil || r.T == "" {
			skipped++
			continue
		}
		if r.T == recHeader {
			if r.Version > journalVersion {
				return nil, 0, fmt.Errorf("the fetch state %s was written by a newer mailport (format %d); upgrade mailport", path, r.Version)
			}
			continue
		}
		if err := apply(r); err != nil {
			return nil, 0, err
		}
	}
	if err := f.Truncate(good); err != nil {
		return nil, 0, fmt.Errorf("repairing the fetch state %s: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("repairing the fetch state %s: %w", path, err)
	}
	j = &journal{f: f, path: path, lines: lines}
	if good == 0 {
		if err := j.append(record{T: recHeader, Version: journalVersion, At: time.Now().UTC()}); err != nil {
			return nil, 0, err
		}
	}
	return j, skipped, nil
}

// readJournal reads the journal at path without locking or repairing it,
// for status. A missing file is an empty journal.
func readJournal(path string, apply func(record) error) error {
	f, err := openOwned(path, os.O_RDONLY)
	var no *NotOwnedError
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.As(err, &no) {
		return err
	}
	if err != nil {
		return fmt.Errorf("opening the fetch state %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, _, rerr := readLine(br)
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading the fetch state %s: %w", path, rerr)
		}
		var r record
		if json.Unmarshal(bytes.TrimSpace(line), &r) != nil || r.T == "" || r.T == recHeader {
			continue
		}
		if err := apply(r); err != nil {
			return err
		}
	}
}

// MaxJournalLine bounds one line of the fetch state. Our records are a
// few hundred bytes; a longer line (a damaged or planted file) is skipped
// without being held in memory.
const MaxJournalLine = 1 << 20

// readLine reads one line ending in '\n' and the bytes it took. A line
// longer than MaxJournalLine comes back nil, having been read past. At
// the end of the input it returns io.EOF (with the torn tail, if any).
func readLine(br *bufio.Reader) (line []byte, n int64, err error) {
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		n += int64(len(frag))
		if !long {
			if len(line)+len(frag) > MaxJournalLine {
				long, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return line, n, err
		case long:
			return nil, n, nil
		}
		return line, n, nil
	}
}

func (j *journal) append(r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding a fetch state record: %w", err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("writing the fetch state %s: %w", j.path, err)
	}
	j.lines++
	j.dirty = true
	return nil
}

func (j *journal) sync() error {
	if !j.dirty {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing the fetch state %s: %w", j.path, err)
	}
	j.dirty = false
	return nil
}

func (j *journal) close() error {
	err := j.sync()
	if cerr := j.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the fetch state %s: %w", j.path, cerr)
	}
	return err
}
