package secret

import (
	"fmt"
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
