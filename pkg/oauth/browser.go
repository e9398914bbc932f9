package oauth

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
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

// DefaultOpener opens url with $BROWSER or the desktop's opener, without
// waiting for the browser to close.
func DefaultOpener(url string) error {
	cmd, err := BrowserCommand(os.Getenv("BROWSER"), url)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go cmd.Wait() // reap it whenever it exits; its status does not matter
	return nil
}
