package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// The crash test plays both sides of a fetch with --delete. The "server" is
// a directory holding one file per message; the child process (this test
// binary re-executed) moves them into the store in the safe order and
// deletes them from the "server" only with a receipt. The parent kills the
// child with SIGKILL at random moments and checks after every kill, and at
// the end, that no message is lost or duplicated.

const (
	crashEnvDir    = "MAILPORT_STORE_CRASH_DIR"
	crashEnvServer = "MAILPORT_STORE_CRASH_SERVER"
	crashEnvFormat = "MAILPORT_STORE_CRASH_FORMAT"
	crashMessages  = 300
	crashBatch     = 7
)

func crashReceived(id string) time.Time {
	n, _ := strconv.Atoi(id)
	return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("only run as the crash test's child process")
	}
	if err := crashFetch(dir, os.Getenv(crashEnvServer), Format(os.Getenv(crashEnvFormat))); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
}

// crashFetch is a minimal fetch engine with --delete, as cmd will build it.
func crashFetch(dir, server string, format Format) error {
	st, err := Open(dir, Options{Format: format, Wait: 10 * time.Second})
	if err != nil {
		return err
	}
	defer st.Close()
	mb, err := st.Mailbox("acct", "INBOX", "1")
	if err != nil {
		return err
	}
	deleteOnServer := func(rs []Receipt) error {
		for _, r := range rs {
			if err := os.Remove(filepath.Join(server, r.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return mb.Acknowledge(ActionDeleted, rs...)
	}
	// What a crash left between writing and deleting.
	if err := deleteOnServer(mb.Unacknowledged()); err != nil {
		return err
	}
	ents, err := os.ReadDir(server)
	if err != nil {
		return err
	}
	var todo []string
	for _, e := range ents {
		if !mb.Seen(e.Name()) {
			todo = append(todo, e.Name())
		}
	}
	for len(todo) > 0 {
		batch := todo[:min(crashBatch, len(todo))]
		todo = todo[len(batch):]
		for _, id := range batch {
			f, err := os.Open(filepath.Join(server, id))
			if err != nil {
				return err
			}
			_, err = mb.Put(mail.Message{ID: id, Received: crashReceived(id)}, f)
			_ = f.Close()
			if err != nil {
				return err
			}
		}
		rs, err := mb.Commit()
		if err != nil {
			return err
		}
		if err := deleteOnServer(rs); err != nil {
			return err
		}
	}
	return st.Close()
}

func TestCrashAtRandomPointsLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MAILPORT_STORE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set MAILPORT_STORE_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	for _, format := range []Format{EML, Maildir} {
		t.Run(string(format), func(t *testing.T) {
			base := t.TempDir()
			dir, server := filepath.Join(base, "in"), filepath.Join(base, "server")
			if err := os.Mkdir(server, 0o700); err != nil {
				t.Fatal(err)
			}
			originals := map[string]string{} // content hash -> id
			for i := 0; i < crashMessages; i++ {
				size := 1000 + rng.IntN(30000)
				if i%25 == 0 {
					size = 300000
				}
				body := message(i, size)
				id := fmt.Sprintf("%04d", i)
				if err := os.WriteFile(filepath.Join(server, id), body, 0o600); err != nil {
					t.Fatal(err)
				}
				originals[sum(body)] = id
			}

			run := func(killAfter time.Duration) (finished bool) {
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvServer+"="+server, crashEnvFormat+"="+string(format))
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				if killAfter > 0 {
					select {
					case err := <-done:
						if err != nil {
							t.Fatalf("child failed: %v\n%s", err, stderr.String())
						}
						return true
					case <-time.After(killAfter):
						_ = cmd.Process.Signal(syscall.SIGKILL)
						<-done
						return false
					}
				}
				if err := <-done; err != nil {
					t.Fatalf("child failed: %v\n%s", err, stderr.String())
				}
				return true
			}

			kills := 0
			for i := 0; i < 20; i++ {
				if run(time.Duration(3+rng.IntN(60)) * time.Millisecond) {
					break
				}
				kills++
				checkCrashInvariant(t, dir, server, format, originals)
			}
			run(0)
			t.Logf("%d kills before the run that completed", kills)

			left, err := os.ReadDir(server)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%d messages left on the server", len(left))
			}
			count := map[string]int{}
			for _, p := range messageFiles(t, dir, format) {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := originals[sum(b)]; !ok {
					t.Errorf("%s is not any original message (partial or altered)", p)
				}
				count[sum(b)]++
			}
			var bad []string
			for h, id := range originals {
				if count[h] != 1 {
					bad = append(bad, fmt.Sprintf("%s×%d", id, count[h]))
				}
			}
			sort.Strings(bad)
			if len(bad) > 0 {
				t.Errorf("messages not exactly once in the directory: %v", bad)
			}
			if tf := tempFiles(t, dir); len(tf) > 0 {
				t.Errorf("temporary files left: %q", tf)
			}
			st := openStore(t, dir, Options{Format: format})
			mb := mustMailbox(t, st, "acct", "INBOX", "1")
			for _, id := range originals {
				if e, ok := mb.Entry(id); !ok || e.State != StateAcknowledged {
					t.Errorf("message %s: recorded %v, state %q; want acknowledged", id, ok, e.State)
				}
			}
		})
	}
}

// checkCrashInvariant checks the state a kill left: every message is on
// the server, or in the directory and recorded; nothing visible as a
// message is partial.
func checkCrashInvariant(t *testing.T, dir, server string, format Format, originals map[string]string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, JournalName)); errors.Is(err, fs.ErrNotExist) {
		return // killed before Open got anywhere
	}
	if format == Maildir {
		if _, err := os.Stat(filepath.Join(dir, "cur")); errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
	for _, p := range messageFiles(t, dir, format) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := originals[sum(b)]; !ok {
			t.Fatalf("after a kill, %s is visible as a message but is not a whole original", p)
		}
	}
	st, err := Open(dir, Options{Format: format})
	if err != nil {
		t.Fatalf("reopening after a kill: %v", err)
	}
	defer st.Close()
	mb, err := st.Mailbox("acct", "INBOX", "1")
	if err != nil {
		t.Fatal(err)
	}
	for h, id := range originals {
		if _, err := os.Stat(filepath.Join(server, id)); err == nil {
			continue
		}
		e, ok := mb.Entry(id)
		if !ok {
			t.Fatalf("after a kill, message %s is neither on the server nor recorded", id)
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil || sum(b) != h {
			t.Fatalf("after a kill, message %s is recorded as %s but that file is missing or different (%v)", id, e.File, err)
		}
	}
}
