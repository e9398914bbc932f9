package oauth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// TestTokenLockLinkIsRefused: a symbolic link planted as an account's
// token lock beside the config is not opened (nor created through), and
// the refresh says which file to remove.
func TestTokenLockLinkIsRefused(t *testing.T) {
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	e.signIn()
	e.advance(59 * time.Minute) // the token needs a refresh, under the lock
	lockDir := t.TempDir()
	target := filepath.Join(t.TempDir(), "created-through-the-link")
	lock := filepath.Join(lockDir, "token-support.lock")
	if err := os.Symlink(target, lock); err != nil {
		t.Fatal(err)
	}
	ts, err := e.manager(lockDir).TokenSource("support")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token(ctx(t))
	if err == nil || !strings.Contains(err.Error(), lock+" is not a regular file (a symbolic link?); mailport will not write through it: remove it") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Fatalf("the lock was created through the link: %v", err)
	}
}
