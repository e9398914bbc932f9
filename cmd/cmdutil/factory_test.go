package cmdutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// TestOneTokenManagerPerProcess: every opener of a run uses the same token
// manager, so their token sources share each account's token and a
// refresh token is redeemed once per run.
func TestOneTokenManagerPerProcess(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now,
		ConfigFlag: cfgPath,
		OpenStore:  func(string, string) (secret.Store, error) { return secret.NewMemory(), nil }}
	m1, err := f.OAuth()
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := f.OAuth()
	o, err := f.Opener(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m1 != m2 || o.OAuth != m1 {
		t.Fatal("a run has more than one token manager")
	}
}
