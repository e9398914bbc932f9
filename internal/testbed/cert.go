package testbed

import (
	"fmt"
	"os"

	"github.com/mailport/mailport/internal/testcert"
)

// writeCerts stores the PEM files; the key stays readable by root only,
// which is enough because Dovecot and Postfix read it before dropping
// privileges.
func writeCerts(c *testcert.Set, caFile, certFile, keyFile string) error {
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{caFile, c.CAPEM, 0o644}, {certFile, c.CertPEM, 0o644}, {keyFile, c.KeyPEM, 0o600}} {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("testbed: write %s: %w", f.path, err)
		}
	}
	return nil
}
