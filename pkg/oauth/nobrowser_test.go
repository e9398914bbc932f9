//go:build unix

package oauth_test

import (
	"errors"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/oauth"
)

// quick is how long "at once" may take here: far below the minutes the
// sign-in would otherwise wait.
const quick = 2 * time.Second

func noBrowser(string) error {
	return errors.New("no browser found: set $BROWSER or install xdg-utils")
}

// waitFor polls out until it holds want, and returns when it did.
func waitFor(t *testing.T, out *syncBuffer, want string) time.Time {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return time.Now()
		}
	}
	t.Fatalf("output never showed %q:\n%s", want, out.String())
	return time.Time{}
}

// A terminal where no browser opens (no $BROWSER, no xdg-open, or one
// that fails): the paste prompt comes at once, and a pasted address
// finishes the sign-in.
func TestUserFlowNoBrowserOpenedOffersPasteAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		open    func(string) error
		browser string // $BROWSER, for the default opener
		why     string
	}{
		{"opener fails", noBrowser, "", "No browser opened (no browser found: set $BROWSER or install xdg-utils)."},
		{"opener exits non-zero", nil, "false", "No browser opened (false: exit status 1)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.browser != "" {
				t.Setenv("BROWSER", tc.browser)
			}
			e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
			pr, pw := io.Pipe() // a terminal: open, silent until the user pastes
			defer pw.Close()
			type result struct {
				res *oauth.AuthResult
				err error
			}
			done := make(chan result, 1)
			start := time.Now()
			go func() {
				r, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, In: pr, Open: tc.open, Timeout: 5 * time.Minute})
				done <- result{r, err}
			}()
			prompted := waitFor(t, e.out, "press Enter:")
			if d := prompted.Sub(start); d > quick {
				t.Errorf("the paste prompt came after %s; want it at once", d)
			}
			out := e.out.String()
			for _, want := range []string{tc.why, "Open the address above in a browser, on this machine or any other, and sign in; then paste the address the browser ends on (it starts with http://127.0.0.1:"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "Waiting for the browser") {
				t.Errorf("output waits for a browser that did not open:\n%s", out)
			}
			authURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\S+/authorize\?\S+`).FindString(out)
			if authURL == "" {
				t.Fatalf("no URL printed:\n%s", out)
			}
			if _, err := io.WriteString(pw, noFollow(t, authURL)+"\n"); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || r.res.User != user {
				t.Fatalf("after pasting: %+v, %v", r.res, r.err)
			}
		})
	}
}

// No browser and nothing to paste on: fail at once, saying how to sign in.
func TestUserFlowNoBrowserOpenedAndNothingToPasteFailsAtOnce(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	for _, tc := range []struct {
		name string
		in   io.Reader
		why  string
	}{
		{"stdin is /dev/null", devNull, "standard input is not a terminal (it is closed or /dev/null)"},
		{"stdin ends at once", strings.NewReader(""), "standard input ended before it was pasted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, config.ProviderMicrosoft, config.IMAP)
			start := time.Now()
			_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{Out: e.out, In: tc.in, Open: noBrowser, Timeout: 5 * time.Minute})
			elapsed := time.Since(start)
			var npe *oauth.NoPasteError
			if !errors.As(err, &npe) {
				t.Fatalf("err = %v, want a *oauth.NoPasteError", err)
			}
			want := "no browser opened (no browser found: set $BROWSER or install xdg-utils), and the address the browser ends on cannot be pasted instead as " + tc.why +
				": run `mailport authenticate support --no-browser` on a terminal and paste the address there, or sign in with a code on any device with `mailport authenticate support --device`"
			if err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if elapsed > quick {
				t.Errorf("failed after %s; want at once", elapsed)
			}
		})
	}
}

// --no-browser with standard input closed, /dev/null or a pipe without the
// address fails at once instead of waiting for a callback.
func TestUserFlowNoBrowserWithoutTerminalFailsAtOnce(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	closed, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for _, tc := range []struct {
		name     string
		provider string
		in       io.Reader
		why      string
		printed  bool // the URL was printed before the input ran dry
	}{
		{"stdin is /dev/null", config.ProviderMicrosoft, devNull, "standard input is not a terminal (it is closed or /dev/null)", false},
		{"stdin is closed", config.ProviderMicrosoft, closed, "standard input is closed", false},
		{"stdin is a pipe that ends", config.ProviderMicrosoft, strings.NewReader("not an address\n"), "standard input ended before it was pasted", true},
		{"Google: no --device to suggest", config.ProviderGoogle, devNull, "standard input is not a terminal (it is closed or /dev/null)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.provider, config.IMAP)
			start := time.Now()
			_, err := e.m.Authenticate(ctx(t), "support", oauth.AuthenticateOptions{NoBrowser: true, Out: e.out, In: tc.in, Timeout: 5 * time.Minute,
				Open: func(string) error { t.Error("browser opened with --no-browser"); return nil }})
			elapsed := time.Since(start)
			var npe *oauth.NoPasteError
			if !errors.As(err, &npe) {
				t.Fatalf("err = %v, want a *oauth.NoPasteError", err)
			}
			want := "--no-browser needs the address the browser ends on pasted on standard input, but " + tc.why +
				": run `mailport authenticate support --no-browser` on a terminal and paste the address there"
			if tc.provider == config.ProviderMicrosoft {
				want += ", or sign in with a code on any device with `mailport authenticate support --device`"
			}
			if err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if elapsed > quick {
				t.Errorf("failed after %s; want at once", elapsed)
			}
			if printed := strings.Contains(e.out.String(), "/authorize?"); printed != tc.printed {
				t.Errorf("URL printed = %v, want %v:\n%s", printed, tc.printed, e.out.String())
			}
		})
	}
}

func TestDefaultOpenerReportsAFailingOpener(t *testing.T) {
	t.Setenv("BROWSER", "false")
	start := time.Now()
	err := oauth.DefaultOpener("http://127.0.0.1:1/")
	if err == nil || err.Error() != "false: exit status 1" {
		t.Fatalf("DefaultOpener with BROWSER=false: %v, want \"false: exit status 1\"", err)
	}
	if d := time.Since(start); d > quick {
		t.Errorf("took %s to see the opener fail", d)
	}

	t.Setenv("BROWSER", "true")
	if err := oauth.DefaultOpener("http://127.0.0.1:1/"); err != nil {
		t.Fatalf("DefaultOpener with BROWSER=true: %v", err)
	}

	if runtime.GOOS != "linux" {
		return // elsewhere the desktop's opener is always there
	}
	t.Setenv("BROWSER", "")
	t.Setenv("PATH", t.TempDir()) // no xdg-open
	if err := oauth.DefaultOpener("http://127.0.0.1:1/"); err == nil || err.Error() != "no browser found: set $BROWSER or install xdg-utils" {
		t.Fatalf("DefaultOpener without xdg-open: %v", err)
	}
}
