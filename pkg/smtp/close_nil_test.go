package smtp_test

import (
	"testing"

	"github.com/mailport/mailport/pkg/smtp"
)

// TestCloseOfNilOrUnconnectedClient: Close on a nil or never-connected
// Client (what a failed Dial leaves) does nothing and returns nil.
func TestCloseOfNilOrUnconnectedClient(t *testing.T) {
	var nilClient *smtp.Client
	for _, c := range []*smtp.Client{nilClient, new(smtp.Client)} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of %#v: %v", c, err)
		}
	}
}
