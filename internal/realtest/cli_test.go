package realtest

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/secret"
)

// cli is one user's mailport: a config file in a temporary directory, a
// memory secret store and a browser that approves every sign-in at once.
type cli struct {
	t      *testing.T
	dir    string
	config string
	store  *secret.Memory
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, dir: dir, config: filepath.Join(dir, "config.yaml"), store: secret.NewMemory()}
}

type result struct {
	out, err string
	code     int
}

// factory is what the mailport process would build, with the test's store
// and browser.
func (c *cli) factory(stdin string) (*cmdutil.Factory, *iostreams.IOStreams, func() (string, string)) {
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	f := &cmdutil.Factory{
		IO:          ios,
		Getenv:      func(string) string { return "" },
		Now:         time.Now,
		OpenBrowser: c.browse,
		OpenStore:   func(string, string) (secret.Store, error) { return c.store, nil },
	}
	return f, ios, func() (string, string) { return out.String(), errOut.String() }
}

// browse follows the sign-in URL like a user who approves at once: the fake
// redirects to mailport's loopback listener, which ends the sign-in.
func (c *cli) browse(u string) error {
	go func() {
		client := &http.Client{Timeout: 20 * time.Second}
		resp, err := client.Get(u)
		if err != nil {
			c.t.Logf("browser: %v", err)
			return
		}
		resp.Body.Close()
	}()
	return nil
}

// run runs `mailport ARGS` in this process, as a non-terminal caller.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	f, _, output := c.factory(stdin)
	code := cmd.Run(f, append([]string{"--config", c.config}, args...))
	out, errOut := output()
	return result{out: out, err: errOut, code: code}
}

func (c *cli) mustRun(stdin string, args ...string) result {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != 0 {
		c.t.Fatalf("mailport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

// opener connects the config's accounts as the commands do (fetch does not
// exist yet, so reading back goes through pkg/connect directly).
func (c *cli) opener() *connect.Opener {
	c.t.Helper()
	f, _, _ := c.factory("")
	f.ConfigFlag = c.config
	o, err := f.Opener(15 * time.Second)
	if err != nil {
		c.t.Fatalf("opener: %v", err)
	}
	return o
}
