package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/gofrs/flock"
)

// NotOwnedError refuses a file of the target directory that mailport is
// about to write (the lock, the fetch state) but that is not plainly its
// own: a symbolic link (planted, it would make a fetch run as root write
// wherever it points), something other than a regular file, or a file of
// another user.
type NotOwnedError struct {
	Path   string
	Reason string // "is a symbolic link", ...
	Fix    string
	Read   bool // refused for reading (status), not writing
}

func (e *NotOwnedError) Error() string {
	verb, prep := "write", "to"
	if e.Read {
		verb, prep = "read", "from"
	}
	if e.Reason == reasonSymlink {
		prep = "through"
	}
	return fmt.Sprintf("%s %s; mailport will not %s %s it: %s", e.Path, e.Reason, verb, prep, e.Fix)
}

const reasonSymlink = "is a symbolic link"

// checkOwned refuses fi (of path, from Lstat or the open file's Stat)
// unless it is a regular file, of the caller's uid when it is to be
// written (reading another user's file, as status does, is fine).
func checkOwned(path string, fi fs.FileInfo, write bool) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &NotOwnedError{Path: path, Reason: reasonSymlink, Fix: "remove it", Read: !write}
	case !fi.Mode().IsRegular():
		return &NotOwnedError{Path: path, Reason: "is not a regular file", Fix: "remove it", Read: !write}
	}
	if !write {
		return nil
	}
	if uid, ok := fileUID(fi); ok && uid != os.Getuid() {
		return &NotOwnedError{Path: path, Reason: fmt.Sprintf("belongs to another user (uid %d)", uid),
			Fix: "remove it, or run mailport as that user"}
	}
	return nil
}

// openOwned opens path, a file the run owns in the target directory,
// without following a symbolic link, and checks that what it opened is a
// regular file, of the caller's uid unless flag is os.O_RDONLY. flag may
// hold os.O_CREATE.
func openOwned(path string, flag int) (*os.File, error) {
	write := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if fi, err := os.Lstat(path); err == nil {
		// Before opening: opening a FIFO or a device can block or act.
		if err := checkOwned(path, fi, write); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|oNoFollow, 0o600)
	if err != nil {
		if isSymlinkLoop(err) {
			// Planted between our look and the open.
			return nil, &NotOwnedError{Path: path, Reason: reasonSymlink, Fix: "remove it", Read: !write}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkOwned(path, fi, write)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// newLock returns a lock on the file at path, created when missing, which
// must be our own regular file: the lock opens it without following a
// symbolic link.
func newLock(path string) (*flock.Flock, error) {
	f, err := openOwned(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	_ = f.Close()
	return flock.New(path, flock.SetPermissions(0o600), flock.SetFlag(os.O_RDWR|os.O_CREATE|oNoFollow)), nil
}

func isSymlinkLoop(err error) bool {
	return oNoFollow != 0 && errors.Is(err, syscall.ELOOP)
}
