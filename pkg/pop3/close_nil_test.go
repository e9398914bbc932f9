package pop3_test

import (
	"testing"

	"github.com/mailport/mailport/pkg/pop3"
)

// TestCloseOfNilOrUnconnectedClient: Close on a nil or never-connected
// Client (what a failed Dial leaves) does nothing and returns nil.
func TestCloseOfNilOrUnconnectedClient(t *testing.T) {
	var nilClient *pop3.Client
	for _, c := range []*pop3.Client{nilClient, new(pop3.Client)} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of %#v: %v", c, err)
		}
	}
}
