//go:build !linux

package testbed

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; Stop must be called.
func dieWithParent(*exec.Cmd) {}
