package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
// of key to value in one file, mode 0600.
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
type File struct {
	path string
	warn io.Writer

	// LockTimeout bounds the wait for another process's write; zero
	// means DefaultFileLockTimeout.
	LockTimeout time.Duration

	warnOnce sync.Once
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
	f.warnOnce.Do(func() {
		fmt.Fprintf(f.warn, "warning: secrets are kept in plain text at %s\n", f.path)
	})
}

// read loads the whole map. A missing file is an empty store.
func (f *File) read() (map[string]string, error) {
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

	m := map[string]string{}
	if err := yaml.NewDecoder(file).Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the secrets file %s: %w (it must be a map of key: value)", f.path, err)
	}
	if m == nil {
		// A file holding only "~" or comments decodes to a nil map.
		m = map[string]string{}
	}
	return m, nil
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
	if !change(m) {
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

// write replaces the file atomically with m, mode 0600.
func (f *File) write(m map[string]string) (err error) {
	body, err := encodeSecrets(m)
	if err != nil {
		return err
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
	if _, err := io.WriteString(tmp, fileHeader); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if _, err := tmp.Write(body); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing the secrets file: %w", err)
	}
	return syncDir(dir)
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
