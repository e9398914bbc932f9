package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errSyncUnsupported is what file systems that cannot sync a directory
// (some FUSE and network mounts) answer; the rename is then as durable as
// that file system makes it.
var errSyncUnsupported = syscall.EINVAL

// tmpPrefix starts every temporary file name: a dot file no collector
// takes for a message, removed by Open when a crash left it behind.
const tmpPrefix = ".mailport-tmp-"

// TempPrefix is tmpPrefix for adapters that stage downloads in the target
// directory themselves (Graph): Open removes their leftovers too.
const TempPrefix = tmpPrefix

// copyBufSize is the only buffer a message passes through.
const copyBufSize = 64 << 10

// maxHeaderSniff bounds how much of a message's header is kept to find its
// Message-ID and Date.
const maxHeaderSniff = 64 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// tempFile is a message streamed to a temporary file, synced and closed.
type tempFile struct {
	name      string // relative to the root
	size      int64
	sha256    string
	messageID string
	date      time.Time // from the Date: header; zero when absent or unreadable
}

// writeTemp streams r into a new temporary file under root (in subdir, ""
// for the root itself), computing its SHA-256 and sniffing its header on
// the way, and syncs it. On error nothing is left behind.
func writeTemp(root *os.Root, subdir string, mode fs.FileMode, r io.Reader) (t tempFile, err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return t, fmt.Errorf("naming a temporary file: %w", err)
	}
	t.name = tmpPrefix + hex.EncodeToString(rnd[:])
	if subdir != "" {
		t.name = subdir + "/" + t.name
	}
	f, err := root.OpenFile(t.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return t, fmt.Errorf("creating a temporary file in %s: %w", root.Name(), err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = root.Remove(t.name)
		}
	}()
	h := sha256.New()
	var sniff headerSniffer
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := io.CopyBuffer(&teeWriter{f: f, h: h, s: &sniff}, onlyReader{r}, *bp)
	if err != nil {
		return t, fmt.Errorf("writing a message into %s: %w", root.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return t, fmt.Errorf("syncing a message in %s: %w", root.Name(), err)
	}
	if err := f.Close(); err != nil {
		return t, fmt.Errorf("closing a message in %s: %w", root.Name(), err)
	}
	t.size = n
	t.sha256 = hex.EncodeToString(h.Sum(nil))
	t.messageID, t.date = sniff.fields()
	return t, nil
}

// onlyReader hides a reader's WriteTo, so io.CopyBuffer uses our bounded
// buffer rather than whatever the reader would allocate.
type onlyReader struct{ io.Reader }

// teeWriter writes to the file and feeds the hash and header sniffer.
// (io.MultiWriter would do, but this stops feeding the sniffer once the
// header is complete.)
type teeWriter struct {
	f *os.File
	h hash.Hash
	s *headerSniffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	if !w.s.done {
		w.s.write(p[:n])
	}
	return n, err
}

// headerSniffer keeps the start of a message until its header ends (the
// first empty line) or maxHeaderSniff bytes.
type headerSniffer struct {
	buf  []byte
	done bool
}

func (s *headerSniffer) write(p []byte) {
	from := max(0, len(s.buf)-2)
	room := maxHeaderSniff - len(s.buf)
	s.buf = append(s.buf, p[:min(len(p), room)]...)
	if len(s.buf) == 0 {
		return
	}
	if s.buf[0] == '\n' || bytes.HasPrefix(s.buf, []byte("\r\n")) {
		s.buf, s.done = s.buf[:0], true
		return
	}
	for i := from; i < len(s.buf); i++ {
		if s.buf[i] != '\n' {
			continue
		}
		rest := s.buf[i+1:]
		if len(rest) > 0 && rest[0] == '\n' || bytes.HasPrefix(rest, []byte("\r\n")) {
			s.buf, s.done = s.buf[:i+1], true
			return
		}
	}
	if len(s.buf) >= maxHeaderSniff {
		s.done = true
	}
}

// fields returns the Message-ID (the first <...> of the field, else the
// trimmed field) and the parsed Date of the sniffed header.
func (s *headerSniffer) fields() (messageID string, date time.Time) {
	var name, value string
	flush := func() {
		switch strings.ToLower(name) {
		case "message-id":
			if messageID == "" {
				messageID = normalizeMessageID(value)
			}
		case "date":
			if date.IsZero() {
				if d, err := mail.ParseDate(strings.TrimSpace(value)); err == nil {
					date = d
				}
			}
		}
		name, value = "", ""
	}
	for _, line := range strings.Split(string(s.buf), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			value += " " + strings.TrimSpace(line)
			continue
		}
		flush()
		n, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name, value = strings.TrimSpace(n), strings.TrimSpace(v)
	}
	flush()
	return messageID, date
}

func normalizeMessageID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i : i+j+1]
		}
	}
	return v
}

// hashFile returns the size and SHA-256 of the file name under root.
func hashFile(root *os.Root, name string) (int64, string, error) {
	f, err := root.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := io.CopyBuffer(h, onlyReader{f}, *bp)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// sameFile reports whether name under root is a regular file with exactly
// the given size and content hash.
func sameFile(root *os.Root, name string, size int64, sum string) (bool, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, nil
	}
	_, got, err := hashFile(root, name)
	if err != nil {
		return false, err
	}
	return got == sum, nil
}

// syncDir makes the renames in dir (relative to root) durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", root.Name(), err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupported) {
		return fmt.Errorf("syncing directory %s: %w", root.Name(), err)
	}
	return nil
}
