//go:build !linux

package testbed

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; Stop must be called.
func dieWithParent(*exec.Cmd) {}

// sweepStale needs /proc; elsewhere stale beds stay until removed by hand.
func sweepStale(string) {}
