package oauth

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// BrowserCommand builds the command that opens url. browserEnv follows the
// $BROWSER convention: a colon-separated list of commands, the first one
// found on $PATH wins; "%s" in a command stands for the URL, otherwise the
// URL is appended. An empty browserEnv means the desktop's opener
// (xdg-open, open or rundll32).
func BrowserCommand(browserEnv, url string) (*exec.Cmd, error) {
	if strings.TrimSpace(browserEnv) != "" {
		var tried []string
		for _, entry := range strings.Split(browserEnv, ":") {
			fields := strings.Fields(entry)
			if len(fields) == 0 {
				continue
			}
			tried = append(tried, fields[0])
			path, err := exec.LookPath(fields[0])
			if err != nil {
				continue
			}
			args, substituted := make([]string, 0, len(fields)), false
			for _, f := range fields[1:] {
				if strings.Contains(f, "%s") {
					f, substituted = strings.ReplaceAll(f, "%s", url), true
				}
				args = append(args, f)
			}
			if !substituted {
				args = append(args, url)
			}
			return exec.Command(path, args...), nil
		}
		return nil, fmt.Errorf("none of the browsers in $BROWSER (%s) was found", strings.Join(tried, ", "))
	}
	switch runtime.GOOS {
	case "darwin":
		return exec.Command("open", url), nil
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url), nil
	}
	path, err := exec.LookPath("xdg-open")
	if err != nil {
		return nil, errors.New("no browser found: set $BROWSER or install xdg-utils")
	}
	return exec.Command(path, url), nil
}

// openerGrace is how long DefaultOpener gives the opener to fail. xdg-open
// without a browser to hand the address to exits non-zero at once; a
// browser started directly from $BROWSER keeps running, which is success.
const openerGrace = 2 * time.Second

// DefaultOpener opens url with $BROWSER or the desktop's opener. It fails
// when there is none, or when the opener exits non-zero within a moment
// (xdg-open on a machine without a browser); it does not wait for the
// browser to close.
func DefaultOpener(url string) error {
	cmd, err := BrowserCommand(os.Getenv("BROWSER"), url)
	if err != nil {
		return err
	}
	return runOpener(cmd, openerGrace)
}

// runOpener starts cmd and waits up to grace for it to fail.
func runOpener(cmd *exec.Cmd, grace time.Duration) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // also reaps it whenever it exits
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
		}
		return nil
	case <-t.C:
		return nil // still running: a browser in the foreground
	}
}
