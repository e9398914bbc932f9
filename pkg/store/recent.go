package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mailport/mailport/internal/plural"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// RecentName is the index of where each account was last fetched into,
// kept beside the config file. The runs themselves stay in each target
// directory's journal; the index only lets `status` find a directory that
// is not the account's hold_dir (a `fetch --to DIR`).
const RecentName = "fetch-dirs.json"

// maxIndex bounds the index: a line per account.
const maxIndex = 4 << 20

// RememberDir notes dir as the directory account was last fetched into, in
// the index file at index. Concurrent fetches of other accounts update it
// under a lock, and it is replaced atomically.
func RememberDir(index, account, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	l, err := newLock(index + ".lock")
	if err != nil {
		return err
	}
	if err := l.Lock(); err != nil {
		return fmt.Errorf("lock %s: %w", index, err)
	}
	defer l.Unlock()
	dirs, err := RememberedDirs(index)
	if err != nil {
		return err
	}
	if dirs[account] == abs {
		return nil
	}
	dirs[account] = abs
	data, err := json.MarshalIndent(dirs, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(index), ".fetch-dirs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), index)
}

// RememberedDirs reads the index at index: account → directory. A missing
// index is empty.
func RememberedDirs(index string) (map[string]string, error) {
	f, err := openOwned(index, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIndex+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxIndex {
		return nil, fmt.Errorf("%s is larger than a fetch index can be (%s): remove it", index, plural.Of(maxIndex, "byte", "bytes"))
	}
	dirs := map[string]string{}
	if err := json.Unmarshal(data, &dirs); err != nil {
		return nil, fmt.Errorf("%s is not a fetch index: %w", index, err)
	}
	return dirs, nil
}
