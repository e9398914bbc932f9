package imap_test

import (
	"testing"

	"github.com/mailport/mailport/pkg/imap"
)

// TestCloseOfNilOrUnconnectedClient: Close on a nil or never-connected
// Client (what a failed Dial leaves) does nothing and returns nil.
func TestCloseOfNilOrUnconnectedClient(t *testing.T) {
	var nilClient *imap.Client
	for _, c := range []*imap.Client{nilClient, new(imap.Client)} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of %#v: %v", c, err)
		}
	}
}
