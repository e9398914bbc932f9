package graph_test

import (
	"testing"

	"github.com/mailport/mailport/pkg/graph"
)

// TestCloseOfNilOrUnconnectedClient: Close on a nil or never-connected
// Client (what a failed Dial leaves) does nothing and returns nil.
func TestCloseOfNilOrUnconnectedClient(t *testing.T) {
	var nilClient *graph.Client
	for _, c := range []*graph.Client{nilClient, new(graph.Client)} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of %#v: %v", c, err)
		}
	}
}
