//go:build linux

package testbed

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dieWithParent makes the kernel stop a server when the test binary dies
// without calling Stop (a panic, a timeout, ^C), so no Dovecot outlives the
// test run. Postfix's master drops this signal (it changes credentials as it
// starts), so sweepStale catches what it leaves.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// sweepStale stops the servers of earlier beds under parent whose test
// binary is gone (killed by go test -timeout or kill -9 before Stop ran)
// and removes their directories. A bed whose owner still runs, or that has
// no owner file yet, is left alone.
func sweepStale(parent string) {
	beds, _ := filepath.Glob(filepath.Join(parent, "mpbed-*"))
	for _, dir := range beds {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		stopProcessesUnder(dir)
		os.RemoveAll(dir)
	}
}

// stopProcessesUnder ends every process whose command line names a path
// below dir: Dovecot and Postfix's master (which takes its children along).
func stopProcessesUnder(dir string) {
	needle := []byte(dir + string(filepath.Separator))
	find := func() []int {
		var pids []int
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.Contains(cmdline, needle) {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for _, pid := range find() {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if len(find()) == 0 {
			return
		}
	}
	for _, pid := range find() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
