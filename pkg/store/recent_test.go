package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestRememberDirConcurrently(t *testing.T) {
	index := filepath.Join(t.TempDir(), RecentName)
	if dirs, err := RememberedDirs(index); err != nil || len(dirs) != 0 {
		t.Fatalf("missing index: %v %v", dirs, err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := RememberDir(index, fmt.Sprintf("acct%d", i), fmt.Sprintf("/mail/%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	dirs, err := RememberedDirs(index)
	if err != nil || len(dirs) != 20 || dirs["acct7"] != "/mail/7" {
		t.Fatalf("after 20 concurrent updates: %d entries, acct7=%q, %v", len(dirs), dirs["acct7"], err)
	}
	if err := RememberDir(index, "acct7", "rel"); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel")
	if dirs, _ := RememberedDirs(index); dirs["acct7"] != abs {
		t.Errorf("relative dir kept as %q, want %q", dirs["acct7"], abs)
	}
}
