//go:build !linux

package diagnose

import "testing"

func listenNoAccept(t *testing.T) (string, func()) {
	t.Skip("the full-backlog listener is Linux-only")
	return "", nil
}
