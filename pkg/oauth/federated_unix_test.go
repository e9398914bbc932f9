//go:build unix

package oauth_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/oauth/oauthtest"
)

// TestFederatedTokenFileThatIsAFIFO: a FIFO is refused at once instead of
// blocking the run on open.
func TestFederatedTokenFileThatIsAFIFO(t *testing.T) {
	iss := oauthtest.NewIssuer(k8sIssuer)
	e := fedEnv(t, iss, k8sSubject)
	fifo := filepath.Join(t.TempDir(), "token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	e.tc().FederatedTokenFile = fifo
	c, _, err := e.m.Client("tc")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.ClientCredentialsToken(ctx(t), nil); done <- err }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO as the federated token file blocked")
	}
	if want := "the federated token file " + fifo + " is not a regular file"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("fifo: err = %v, want %q", err, want)
	}
}
