package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofrs/flock"
	"go.yaml.in/yaml/v3"
)

// FileName is the file backend's file, kept beside the config file.
const FileName = "secrets.yaml"

// DefaultFileLockTimeout is how long a write waits for another mailport
// process to finish its own write before giving up.
const DefaultFileLockTimeout = 10 * time.Second

const fileHeader = "# mailport secrets, in plain text: keep this file private (mode 0600).\n" +
	"# Keys are client-secret/<token config>, password/<account> and token/<account>.\n"

// FilePath returns where the file backend keeps secrets for the config
// file at configPath: secrets.yaml in the same directory.
func FilePath(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), FileName)
}

// File is the Store for machines without an OS keyring: a flat YAML map
// of key to value in one file, mode 0600; with a passphrase (see
// NewEncryptedFile) the map is encrypted with age's scrypt recipient.
//
// Writes are atomic (a temporary file in the same directory, fsync,
// rename, fsync of the directory) and each read-modify-write holds an
// exclusive lock on PATH.lock, so two processes setting different keys
// never lose one. Reads take no lock: a rename never shows a half-written
// file. A missing file is an empty store.
//
// The first use of a File writes one warning line to the warn writer: the
// secrets are in plain text. A file whose permissions let others read it
// (wider than 0600, e.g. after a copy or an editor) is changed back to
// 0600, with a second warning line saying so; if that fails the warning
// says it could not be fixed, and reading goes on, so a CI job with a
// mounted read-only file still works.
//
// An encrypted File warns instead, once, when the file on disk is still
// plain text, and encrypts it at its next write. It decrypts the file once
// per process: the opened map is kept while the file on disk is the same
// (same inode, size and modification time), so a command reading several
// secrets and writing a rotated token pays for one scrypt open and one
// scrypt seal.
type File struct {
	path string
	warn io.Writer

	// LockTimeout bounds the wait for another process's write; zero
	// means DefaultFileLockTimeout.
	LockTimeout time.Duration

	// WorkFactor is the scrypt work factor of an encrypted file mailport
	// writes; zero means DefaultWorkFactor.
	WorkFactor int

	pass *Passphrase // nil: plain text

	warnOnce sync.Once

	// openMu lets one goroutine at a time open an encrypted file, or
	// replace it and its cache.
	openMu sync.Mutex

	mu          sync.Mutex
	cached      map[string]string // the decrypted map of cachedInfo
	cachedInfo  fs.FileInfo
	plainOnDisk bool // the last read found a plain file with content
	decrypts    int  // how often the file was decrypted (tests)
}

// NewFile returns the file store at path (see FilePath). Warnings go to
// warn; nil discards them.
func NewFile(path string, warn io.Writer) *File {
	if warn == nil {
		warn = io.Discard
	}
	// Absolute, so the warning names the file wherever the user is.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return &File{path: path, warn: warn}
}

// NewEncryptedFile returns the file store at path, encrypted with pass.
// It reads a plain file too, and encrypts it at the first write.
func NewEncryptedFile(path string, pass Passphrase, warn io.Writer) *File {
	f := NewFile(path, warn)
	f.pass = &pass
	return f
}

// Encrypted reports whether the store encrypts what it writes.
func (f *File) Encrypted() bool { return f.pass != nil }

// Describe says what kind of file store this is, for status and config:
// "file (encrypted, age scrypt)" or "file (plain)", with a note when the
// file on disk differs from what the next write makes of it.
func (f *File) Describe() string {
	head := make([]byte, 64)
	n := 0
	if file, err := os.Open(f.path); err == nil {
		n, _ = io.ReadFull(file, head)
		file.Close()
	}
	onDisk := isAgeFile(head[:n])
	switch {
	case f.pass != nil && n > 0 && !onDisk && len(bytes.TrimSpace(head[:n])) > 0:
		return "file (plain; encrypted with age scrypt at the next write)"
	case f.pass != nil:
		return "file (encrypted, age scrypt)"
	case onDisk:
		return "file (encrypted, age scrypt; no passphrase set)"
	}
	return "file (plain)"
}

// Check opens the file now, so that a missing or wrong passphrase or a
// damaged encrypted file is reported once, before a command starts its
// work. It returns only such *FileError problems; others (a plain file
// that is not a map) are left to the reads of single keys.
func (f *File) Check() error {
	_, err := f.read()
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return nil
}

// Path is the file the secrets are kept in.
func (f *File) Path() string { return f.path }

// Name reports "file".
func (f *File) Name() string { return string(SourceFile) }

// Get returns the value stored under key.
func (f *File) Get(key string) (string, error) {
	f.warnPlainText()
	m, err := f.read()
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if !ok {
		return "", notFound(key)
	}
	return v, nil
}

// Set stores value under key, replacing an earlier value.
func (f *File) Set(key, value string) error {
	return f.update(func(m map[string]string) bool {
		if old, ok := m[key]; ok && old == value {
			return false
		}
		m[key] = value
		return true
	})
}

// Delete removes key; a key that is not there is not an error.
func (f *File) Delete(key string) error {
	return f.update(func(m map[string]string) bool {
		if _, ok := m[key]; !ok {
			return false
		}
		delete(m, key)
		return true
	})
}

func (f *File) warnPlainText() {
	if f.pass != nil {
		return
	}
	f.warnOnce.Do(func() {
		fmt.Fprintf(f.warn, "warning: secrets are kept in plain text at %s (set %s to encrypt them)\n", f.path, EnvPassphrase)
	})
}

func (f *File) warnNotYetEncrypted() {
	f.warnOnce.Do(func() {
		fmt.Fprintf(f.warn, "warning: secrets are still in plain text at %s; mailport encrypts the file with %s at its next write\n", f.path, f.pass.From)
	})
}

// read loads the whole map. A missing file is an empty store.
//
// An encrypted file is read by one goroutine at a time: fetch --all asks
// for several accounts' secrets at once, and each scrypt open costs
// seconds and 256 MiB, so the others wait and take the map it opened.
func (f *File) read() (map[string]string, error) {
	if f.pass != nil {
		f.openMu.Lock()
		defer f.openMu.Unlock()
	}
	return f.readFile()
}

func (f *File) readFile() (map[string]string, error) {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the secrets file: %w", err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the secrets file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading the secrets file: %s is not a regular file", f.path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		if err := file.Chmod(0o600); err != nil {
			fmt.Fprintf(f.warn, "warning: %s can be read by other users (mode %04o) and could not be changed to 0600: %v\n", f.path, perm, err)
		} else {
			fmt.Fprintf(f.warn, "warning: %s could be read by other users (mode %04o); changed it to 0600\n", f.path, perm)
		}
	}

	f.mu.Lock()
	if f.cached != nil && sameVersion(f.cachedInfo, info) {
		m := maps.Clone(f.cached)
		f.mu.Unlock()
		return m, nil
	}
	f.mu.Unlock()

	b, err := io.ReadAll(io.LimitReader(file, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the secrets file: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("reading the secrets file: %s is larger than %d MiB, which is not a file mailport wrote", f.path, maxFileSize>>20)
	}
	m, encrypted, err := decodeFile(f.path, b, f.pass, MaxWorkFactor)
	if isAgeFile(b) {
		releaseScrypt()
	}
	if err != nil {
		return nil, err
	}
	plain := !encrypted && len(bytes.TrimSpace(b)) > 0
	if plain && f.pass != nil {
		f.warnNotYetEncrypted()
	}
	f.mu.Lock()
	f.plainOnDisk = plain
	if encrypted {
		f.decrypts++
		f.cached, f.cachedInfo = maps.Clone(m), info
	}
	f.mu.Unlock()
	return m, nil
}

// releaseScrypt collects the scrypt buffer just used (256 MiB at the
// default work factor) at once. Left to the collector's pacing, whose
// goal doubles after a heap that large, the next scrypt of the same
// command (the write after the read) would allocate beside it and double
// the process's peak memory.
func releaseScrypt() { runtime.GC() }

// sameVersion reports whether b is the file a was: a write replaces the
// file (a new inode), an edit in place changes its size or time.
func sameVersion(a, b fs.FileInfo) bool {
	return a != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}

// update runs a read-modify-write under the file lock; change reports
// whether it altered the map, so an unchanged store is not rewritten.
func (f *File) update(change func(map[string]string) bool) error {
	f.warnPlainText()

	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the directory for the secrets file: %w", err)
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()

	m, err := f.read()
	if err != nil {
		return err
	}
	changed := change(m)
	f.mu.Lock()
	migrate := f.pass != nil && f.plainOnDisk
	f.mu.Unlock()
	if !changed && !migrate {
		return nil
	}
	return f.write(m)
}

func (f *File) lock() (unlock func(), err error) {
	lockPath := f.path + ".lock"
	l := flock.New(lockPath, flock.SetPermissions(0o600))
	timeout := f.LockTimeout
	if timeout <= 0 {
		timeout = DefaultFileLockTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("locking the secrets file %s: %w", lockPath, err)
	}
	if !ok {
		return nil, fmt.Errorf("another mailport process has held the lock %s for %s; try again when it has finished", lockPath, timeout)
	}
	return func() { _ = l.Close() }, nil
}

// write replaces the file atomically with m, mode 0600, encrypted when
// the store has a passphrase.
func (f *File) write(m map[string]string) (err error) {
	yamlBody, err := encodeSecrets(m)
	if err != nil {
		return err
	}
	body := append([]byte(fileHeader), yamlBody...)
	if f.pass != nil {
		wf := f.WorkFactor
		if wf == 0 {
			wf = DefaultWorkFactor
		}
		body, err = encrypt(yamlBody, f.pass, wf)
		releaseScrypt()
		if err != nil {
			return err
		}
	}

	// Write through a symlink to its target, as an editor would, rather
	// than replacing the link with a regular file.
	target := followSymlinks(f.path)
	dir := filepath.Dir(target)

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600, so the secrets are never readable
	// by others, not even for a moment.
	if _, err := tmp.Write(body); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if f.pass != nil {
		// No reader may see the new file before the cache holds it, or
		// it would open with scrypt what this process just sealed.
		f.openMu.Lock()
		defer f.openMu.Unlock()
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plainOnDisk = false
	f.cached, f.cachedInfo = nil, nil
	if info, err := os.Stat(target); err == nil && f.pass != nil {
		f.cached, f.cachedInfo = maps.Clone(m), info
	}
	return nil
}

// encodeSecrets writes m as YAML, keys sorted. Values with control
// characters (newlines, CR, tabs) or edge spaces are double-quoted with
// escapes: yaml.v3's own choice of block scalars does not round-trip every
// such value (a lone "\n" comes back empty). Bytes that are not UTF-8 go
// as !!binary.
func encodeSecrets(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil // yaml would write "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range keys {
		doc.Content = append(doc.Content, scalarNode(k), scalarNode(m[k]))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding the secrets file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the secrets file: %w", err)
	}
	return buf.Bytes(), nil
}

func scalarNode(s string) *yaml.Node {
	if !utf8.ValidString(s) {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!binary", Value: base64.StdEncoding.EncodeToString([]byte(s))}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s != strings.TrimSpace(s) || strings.ContainsFunc(s, unicode.IsControl) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// followSymlinks returns the file path finally names, even when that file
// does not exist yet (filepath.EvalSymlinks fails then).
func followSymlinks(path string) string {
	for range 40 { // the usual kernel limit on link chains
		info, err := os.Lstat(path)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			return path
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return path
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing the secrets file's directory: %w", err)
	}
	defer d.Close()
	// Some file systems cannot sync a directory; the rename is still atomic.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("syncing the secrets file's directory: %w", err)
	}
	return nil
}
