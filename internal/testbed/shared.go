package testbed

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// Require decides what a test does with an error from Start or Check: nothing
// when err is nil; skip when the machine cannot run the servers (not root,
// packages missing) unless RequireEnv is 1; fail otherwise, since a bed that
// is installed but does not start is a bug to see, never a skip.
func Require(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) && os.Getenv(RequireEnv) != "1" {
		tb.Skipf("%v (set %s=1 to fail instead of skipping)", err, RequireEnv)
	}
	tb.Fatal(err)
}

// Shared starts one bed for a whole test package on first use. Set Options
// before the first Get; call Stop from TestMain after m.Run.
type Shared struct {
	Options Options

	once sync.Once
	bed  *Bed
	err  error
}

// Get returns the package's bed, starting it on the first call, and arranges
// for the servers' log lines written during the test to be printed if the
// test fails. It skips or fails the test as Require does.
func (s *Shared) Get(tb testing.TB) *Bed {
	tb.Helper()
	s.once.Do(func() { s.bed, s.err = Start(s.Options) })
	Require(tb, s.err)
	s.bed.LogOnFailure(tb)
	return s.bed
}

// Stop stops the bed if one was started.
func (s *Shared) Stop() {
	// A Get after Stop must not start a bed that nobody stops.
	s.once.Do(func() { s.err = errors.New("testbed: the shared bed was stopped before it was used") })
	s.bed.Stop()
}

// LogOnFailure prints, when tb fails, what Dovecot and Postfix logged from
// now until the end of the test.
func (b *Bed) LogOnFailure(tb testing.TB) {
	tb.Helper()
	type mark struct {
		name, path string
		off        int64
	}
	var marks []mark
	for _, l := range []struct{ name, path string }{{"Dovecot", b.DovecotLog}, {"Postfix", b.PostfixLog}} {
		if l.path == "" {
			continue
		}
		var off int64
		if st, err := os.Stat(l.path); err == nil {
			off = st.Size()
		}
		marks = append(marks, mark{l.name, l.path, off})
	}
	tb.Cleanup(func() {
		if !tb.Failed() {
			return
		}
		for _, m := range marks {
			text, err := readFrom(m.path, m.off, 32<<10)
			if err != nil {
				tb.Logf("%s log %s: %v", m.name, m.path, err)
				continue
			}
			tb.Logf("%s log (%s) during this test:\n%s", m.name, m.path, text)
		}
	})
}

// Logs returns the current contents of both logs' last lines, for printing
// outside a test (e.g. when TestMain fails).
func (b *Bed) Logs() string {
	return fmt.Sprintf("== %s ==\n%s\n== %s ==\n%s\n", b.DovecotLog, tail(b.DovecotLog, 50), b.PostfixLog, tail(b.PostfixLog, 50))
}

// readFrom reads at most max bytes of a file from off on.
func readFrom(path string, off, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, max))
	return string(data), err
}
