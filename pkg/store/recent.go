package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// RecentName is the index of where each account was last fetched into,
// kept beside the config file. The runs themselves stay in each target
// directory's journal; the index only lets `status` find a directory that
// is not the account's hold_dir (a `fetch --to DIR`).
const RecentName = "fetch-dirs.json"

// RememberDir notes dir as the directory account was last fetched into, in
// the index file at index. Concurrent fetches of other accounts update it
// under a lock, and it is replaced atomically.
func RememberDir(index, account, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	l := flock.New(index+".lock", flock.SetPermissions(0o600))
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
	data, err := os.ReadFile(index)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	if err := json.Unmarshal(data, &dirs); err != nil {
		return nil, fmt.Errorf("%s is not a fetch index: %w", index, err)
	}
	return dirs, nil
}
