package secret

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"path/filepath"
	"sync"
	"testing"
)

// fetch --all and test --all read and write one encrypted File from
// several goroutines. Each scrypt open costs seconds and 256 MiB at the
// default work factor, so concurrent readers must not open the file side
// by side: a cold start decrypts once, and readers racing a write (a
// rotated token saved) never decrypt what this process just wrote.
func TestEncryptedFileConcurrentReadersDecryptOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	w, _ := newEncrypted(t, path, "pw")
	const accounts = 6
	for i := range accounts {
		if err := w.Set(TokenKey(fmt.Sprint(i)), "old"); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 10 {
		f, _ := newEncrypted(t, path, "pw")
		if round%2 == 1 {
			// As a command does: the factory opens the store first.
			if err := f.Check(); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, accounts)
		for i := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := TokenKey(fmt.Sprint(i))
				if _, err := f.Get(key); err != nil {
					errs <- err
					return
				}
				if err := f.Set(key, fmt.Sprintf("rotated %d.%d", round, i)); err != nil {
					errs <- err
					return
				}
				for j := range accounts {
					if _, err := f.Get(TokenKey(fmt.Sprint(j))); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if f.decrypts != 1 {
			t.Fatalf("round %d: %d accounts reading and writing at once decrypted the file %d times, want 1", round, accounts, f.decrypts)
		}
		for i := range accounts {
			if v, err := f.Get(TokenKey(fmt.Sprint(i))); err != nil || v != fmt.Sprintf("rotated %d.%d", round, i) {
				t.Fatalf("round %d: token %d = %q, %v: a write was lost", round, i, v, err)
			}
		}
	}
}

// A plain file with a passphrase set is left byte for byte as it was by
// reads, and by a migration that cannot happen: a file that is not a map,
// or a lock held by another process.
func TestPlainFileUntouchedUntilMigrationSucceeds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := NewFile(path, nil).Set(TokenKey("a"), "plain-value"); err != nil {
		t.Fatal(err)
	}
	before := readBytes(t, path)
	f, _ := newEncrypted(t, path, "pw")
	for range 3 {
		if v, err := f.Get(TokenKey("a")); err != nil || v != "plain-value" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readBytes(t, path), before) {
		t.Fatal("reads with a passphrase set changed the plain file")
	}

	// Another process holds the lock for longer than this one waits.
	other := flock.New(path + ".lock")
	if ok, err := other.TryLock(); err != nil || !ok {
		t.Fatalf("taking the lock: %v %v", ok, err)
	}
	f.LockTimeout = 100 * time.Millisecond
	err := f.Set(TokenKey("b"), "x")
	if err2 := other.Unlock(); err2 != nil {
		t.Fatal(err2)
	}
	if err == nil || !strings.Contains(err.Error(), "another mailport process has held the lock") {
		t.Fatalf("Set while another process writes: %v", err)
	}
	if !bytes.Equal(readBytes(t, path), before) {
		t.Fatal("a migration that could not take the lock changed the plain file")
	}

	bad := []byte("# not a map\n- a\n- b\n")
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	g, _ := newEncrypted(t, path, "pw")
	if err := g.Set(TokenKey("b"), "x"); err == nil || !strings.Contains(err.Error(), "it must be a map of key: value") {
		t.Fatalf("Set on a plain file that is not a map: %v", err)
	}
	if !bytes.Equal(readBytes(t, path), bad) {
		t.Fatal("a migration of a file that is not a map changed it")
	}
	if got := dirNames(t, dir); strings.Join(got, " ") != "secrets.yaml secrets.yaml.lock" {
		t.Errorf("directory holds %v after failed migrations", got)
	}
}
