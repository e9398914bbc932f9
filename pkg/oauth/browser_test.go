//go:build unix

package oauth_test

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

func TestBrowserCommandFollowsBROWSERConvention(t *testing.T) {
	cmd, err := oauth.BrowserCommand("no-such-browser-xyz:sh -c 'true' %s", "http://127.0.0.1:1/x?a=b")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cmd.Args[1:], " "); got != "-c 'true' http://127.0.0.1:1/x?a=b" {
		t.Fatalf("args = %q", got)
	}
	cmd, err = oauth.BrowserCommand("true --flag", "http://u")
	if err != nil || strings.Join(cmd.Args[1:], " ") != "--flag http://u" {
		t.Fatalf("args = %v, %v", cmd, err)
	}
	if _, err := oauth.BrowserCommand("no-such-browser-xyz", "http://u"); err == nil || err.Error() != "none of the browsers in $BROWSER (no-such-browser-xyz) was found" {
		t.Fatalf("err = %v", err)
	}
}

// TestRealBrowser signs in with headless Chromium as the browser: it opens
// the authorize URL on the fake server, follows the redirect into the
// loopback listener, and the token lands in the store.
func TestRealBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("MAILPORT_REQUIRE_REALSERVERS") == "1" {
			t.Fatal("chromium is not installed: install the Debian package chromium (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
	profile := t.TempDir()
	browserEnv := chromium + " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking" +
		" --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=" + profile + " --dump-dom %s"

	var mu sync.Mutex
	var started []*exec.Cmd
	var exited []chan struct{}
	var dom strings.Builder
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for i, c := range started {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL) // Chromium and its helpers
			<-exited[i]
		}
	})
	open := func(u string) error {
		cmd, err := oauth.BrowserCommand(browserEnv, u)
		if err != nil {
			return err
		}
		cmd.Stdout = &dom
		cmd.Env = append(os.Environ(), "HOME="+profile)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		mu.Lock()
		defer mu.Unlock()
		started, exited = append(started, cmd), append(exited, done)
		return nil
	}
	res, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, Open: open, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("sign-in through Chromium: %v\n%s", err, e.out.String())
	}
	tok, err := oauth.LoadToken(e.store, "support")
	if err != nil || tok.AccessToken != res.Token.AccessToken || tok.User != user {
		t.Fatalf("stored token = %+v, %v", tok, err)
	}
	// --dump-dom prints the page Chromium ended on: our success page.
	mu.Lock()
	done := exited[0]
	mu.Unlock()
	select {
	case <-done:
		if !strings.Contains(dom.String(), "Authenticated as "+user+", you can close this window.") {
			t.Fatalf("Chromium ended on:\n%s", dom.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium did not exit after dumping the page")
	}
	assertNoSecret(t, e.out.String(), dom.String())
}
