//go:build linux

package testbed

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop a server when the test binary dies
// without calling Stop (a panic, a timeout, ^C), so no Dovecot or Postfix
// outlives the test run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
