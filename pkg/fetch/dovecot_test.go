package fetch_test

// Real-server tests: the whole `mailport fetch` command against the test
// Dovecot (internal/testbed), in-process or, for the crash test, as a child
// process that is killed. The test binary doubles as the mailport binary:
// started with asMailportEnv set, TestMain runs the CLI instead of tests.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd"
	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/fetchtest"
	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/store"
)

const asMailportEnv = "MAILPORT_FETCH_TEST_AS_MAILPORT"

var bedUsers = []string{"imap", "pop3", "crash", "cut", "exec", "validity", "lock", "popcrash", "maximap", "maxpop3", "moveto", "folders", "foldersmd"}

var bed = &testbed.Shared{Options: testbed.Options{NoPostfix: true}}

func TestMain(m *testing.M) {
	if os.Getenv(asMailportEnv) == "1" {
		os.Exit(cmd.Execute())
	}
	for _, u := range bedUsers {
		bed.Options.Users = append(bed.Options.Users, testbed.User{Name: u + "@example.test", Password: "pw-" + u})
	}
	code := m.Run()
	bed.Stop()
	os.Exit(code)
}

// world is a config with one account on the bed and the variables mailport runs with.
type world struct {
	t    *testing.T
	b    *testbed.Bed
	dir  string
	user string
	vars map[string]string
}

type acct struct {
	name, protocol string
	port           int
	encryption     string
	extra          string // more YAML lines for the account
}

func newWorld(t *testing.T, user string, accounts ...acct) *world {
	b := bed.Get(t)
	dir := t.TempDir()
	var y strings.Builder
	y.WriteString("version: 1\naccounts:\n")
	w := &world{t: t, b: b, dir: dir, user: user + "@example.test", vars: map[string]string{}}
	for _, a := range accounts {
		fmt.Fprintf(&y, "  %s:\n    enabled: true\n    type: inbound\n    protocol: %s\n    host: 127.0.0.1\n    port: %d\n    encryption: %s\n    auth: basic\n    login: %s\n    properties:\n      tls_ca_file: %s\n%s",
			a.name, a.protocol, a.port, a.encryption, w.user, b.CAFile, a.extra)
		w.vars["MAILPORT_PASSWORD_"+strings.ToUpper(a.name)] = "pw-" + user
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w.vars["MAILPORT_CONFIG"] = cfg
	w.vars["MAILPORT_SECRETS"] = "file"
	return w
}

type res struct {
	out, err string
	code     int
}

// run runs mailport in-process.
func (w *world) run(args ...string) res {
	w.t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IO: ios, Getenv: func(k string) string { return w.vars[k] }, Now: time.Now}
	code := cmd.Run(f, args)
	return res{out.String(), errOut.String(), code}
}

func (w *world) mustRun(args ...string) res {
	w.t.Helper()
	r := w.run(args...)
	if r.code != 0 {
		w.t.Fatalf("mailport %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r
}

// command is mailport as a child process.
func (w *world) command(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), asMailportEnv+"=1")
	for k, v := range w.vars {
		c.Env = append(c.Env, k+"="+v)
	}
	return c
}

// deliver puts n distinct messages into the user's INBOX and returns the
// SHA-256 of each.
func (w *world) deliver(n int, tag string, size func(i int) int) map[string]bool {
	w.t.Helper()
	hashes := map[string]bool{}
	for i := 0; i < n; i++ {
		body := strings.Repeat(fmt.Sprintf("%s line %d of message %d\r\n", tag, i, i), max(1, size(i)/40))
		raw := fmt.Sprintf("From: sender@example.com\r\nTo: %s\r\nSubject: %s %d\r\nMessage-ID: <%s-%d@example.test>\r\nDate: Thu, 26 Nov 2026 10:15:00 +0000\r\n\r\n.dot line\r\n%s",
			w.user, tag, i, tag, i, body)
		if _, err := w.b.Deliver(w.user, strings.NewReader(raw)); err != nil {
			w.t.Fatal(err)
		}
		hashes[hexsum([]byte(raw))] = true
	}
	return hashes
}

func hexsum(b []byte) string { h := sha256.Sum256(b); return fmt.Sprintf("%x", h) }

func (w *world) serverCount() int {
	w.t.Helper()
	msgs, err := w.b.Messages(w.user, "INBOX")
	if err != nil {
		w.t.Fatal(err)
	}
	return len(msgs)
}

// dirHashes counts each content hash among the messages in dir and fails
// on anything that is neither a message, the state nor the lock.
func dirHashes(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case e.Name() == store.JournalName || e.Name() == store.LockName:
		case strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), "."):
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[hexsum(b)]++
		default:
			t.Errorf("unexpected file in the target directory: %s", e.Name())
		}
	}
	return out
}

func sameOnce(t *testing.T, got map[string]int, want map[string]bool) {
	t.Helper()
	for h, n := range got {
		if !want[h] {
			t.Errorf("a file that is not one of the originals: %s", h[:12])
		} else if n != 1 {
			t.Errorf("message %s is in the directory %d times", h[:12], n)
		}
	}
	for h := range want {
		if got[h] == 0 {
			t.Errorf("message %s is missing from the directory", h[:12])
		}
	}
}

var summaryLine = regexp.MustCompile(`^fetched (\d+) messages \(([^)]+)\) into (\S+), (\d+) failed`)

func fetched(t *testing.T, r res) int {
	t.Helper()
	m := summaryLine.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no summary line in %q (stderr %q)", r.out, r.err)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestDovecotIMAPAndPOP3FetchTwiceThenFiveNew(t *testing.T) {
	for _, tc := range []struct {
		user, protocol string
		port           func(*testbed.Bed) int
	}{
		{"imap", "imap", func(b *testbed.Bed) int { return b.IMAPPort }},
		{"pop3", "pop3", func(b *testbed.Bed) int { return b.POP3Port }},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			b := bed.Get(t)
			w := newWorld(t, tc.user, acct{name: "box", protocol: tc.protocol, port: tc.port(b), encryption: "starttls"})
			want := w.deliver(20, tc.user+"-a", func(int) int { return 3000 })
			to := filepath.Join(w.dir, "in")
			r := w.mustRun("fetch", "box", "--to", to)
			if n := fetched(t, r); n != 20 || !strings.Contains(r.out, "into "+to+", 0 failed") {
				t.Fatalf("first run: %q", r.out)
			}
			if r := w.mustRun("fetch", "box", "--to", to); fetched(t, r) != 0 {
				t.Fatalf("second run fetched again: %q", r.out)
			}
			for h := range w.deliver(5, tc.user+"-b", func(int) int { return 100 }) {
				want[h] = true
			}
			r = w.mustRun("fetch", "box", "--to", to, "--json")
			var records, summaries int
			for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
				switch {
				case strings.HasPrefix(line, `{"type":"message"`):
					records++
					if !strings.Contains(line, `"status":"fetched","action":"kept"`) || !strings.Contains(line, `"from":"sender@example.com"`) {
						t.Errorf("record %s", line)
					}
				case strings.HasPrefix(line, `{"type":"summary"`):
					summaries++
					if !strings.Contains(line, `"fetched":5,`) || !strings.Contains(line, `"skipped":20,`) {
						t.Errorf("summary %s", line)
					}
				default:
					t.Errorf("not a JSON record: %q", line)
				}
			}
			if records != 5 || summaries != 1 || r.err != "" {
				t.Fatalf("--json: %d records, %d summaries, stderr %q", records, summaries, r.err)
			}
			sameOnce(t, dirHashes(t, to), want)
			if w.serverCount() != 25 {
				t.Fatalf("server has %d messages; fetch without --delete must keep them", w.serverCount())
			}
			// Now deleting: nothing new to fetch, and the 25 stay because
			// they were acknowledged as kept; a fresh directory takes them all.
			to2 := filepath.Join(w.dir, "in2")
			r = w.mustRun("fetch", "box", "--to", to2, "--delete")
			if fetched(t, r) != 25 || w.serverCount() != 0 {
				t.Fatalf("delete run: %q; %d left on the server", r.out, w.serverCount())
			}
			sameOnce(t, dirHashes(t, to2), want)
		})
	}
}

// TestDovecotCrashSafety kills `mailport fetch --delete` with SIGKILL at 20
// random moments of a 500-message run, reruns until it finishes, and checks
// that every message is in the directory exactly once and none on the server.
func TestDovecotCrashSafety(t *testing.T) {
	for _, tc := range []struct {
		user, protocol string
		n              int
	}{{"crash", "imap", 500}, {"popcrash", "pop3", 200}} {
		t.Run(tc.protocol, func(t *testing.T) {
			b := bed.Get(t)
			port := b.IMAPPort
			if tc.protocol == "pop3" {
				port = b.POP3Port
			}
			w := newWorld(t, tc.user, acct{name: "box", protocol: tc.protocol, port: port, encryption: "starttls"})
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
			want := w.deliver(tc.n, tc.user, func(int) int { return 500 + rng.IntN(20000) })
			to := filepath.Join(w.dir, "in")
			start := time.Now()
			kills, finished, rounds, midway := 0, 0, 0, 0
			var delays []time.Duration
			// The delay window adapts: a run that finished before its kill
			// shrinks it, so the kills land inside runs that still work.
			window := 400 * time.Millisecond
			for kills < 20 {
				stored := countEML(to)
				c := w.command("fetch", "box", "--to", to, "--delete")
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				d := time.Duration(rng.Int64N(int64(window)))
				done := make(chan error, 1)
				go func() { done <- c.Wait() }()
				// Every other kill waits for the run to store a message
				// first, then a little more: those crashes hit the middle
				// of a transfer (a file half-written, a journal batch not
				// synced), which a kill at a random time often misses.
				kill := time.After(d)
				if kills%2 == 1 {
					kill = afterStored(to, stored, time.Duration(rng.Int64N(int64(15*time.Millisecond))))
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("fetch failed on its own: %v\n%s", err, stderr.String())
					}
					finished++
					window = window * 2 / 3
					if w.serverCount() == 0 {
						// Everything was fetched before the 20th kill: the
						// remaining kills go to a fresh round of messages.
						rounds++
						for h := range w.deliver(50, fmt.Sprintf("%s-more%d", tc.user, rounds), func(int) int { return 2000 }) {
							want[h] = true
						}
					}
				case <-kill:
					c.Process.Signal(syscall.SIGKILL)
					if err := <-done; err == nil {
						finished++
					} else {
						kills++
						delays = append(delays, d)
						if countEML(to) > stored && w.serverCount() > 0 {
							midway++ // killed after writing some messages, before the last
						}
					}
				}
			}
			runs := 0
			for w.serverCount() > 0 || runs == 0 {
				runs++
				if runs > 5 {
					t.Fatalf("still %d messages on the server after %d clean runs", w.serverCount(), runs)
				}
				if out, err := w.command("fetch", "box", "--to", to, "--delete").CombinedOutput(); err != nil {
					t.Fatalf("clean run: %v\n%s", err, out)
				}
			}
			t.Logf("%d kills (at %v), %d of them mid-transfer, %d runs finished before their kill, %d clean runs; %s", kills, delays, midway, finished, runs, time.Since(start).Round(time.Millisecond))
			if midway < 5 {
				t.Errorf("only %d of %d kills came after a run had stored messages and before it finished: crashes mid-transfer were not exercised", midway, kills)
			}
			sameOnce(t, dirHashes(t, to), want)
			if n := w.serverCount(); n != 0 {
				t.Fatalf("%d messages left on the server", n)
			}
			// The journal agrees: a last run without error.
			if run, ok, err := store.LastRun(to, "box"); err != nil || !ok || run.Error != "" {
				t.Fatalf("last run %+v %v %v", run, ok, err)
			}
		})
	}
}

func TestDovecotConnectionCutMidMessage(t *testing.T) {
	b := bed.Get(t)
	proxy := fetchtest.NewProxy(t, b.Addr(b.IMAPPort))
	w := newWorld(t, "cut", acct{name: "box", protocol: "imap", port: proxy.Port(), encryption: "starttls"})
	want := w.deliver(12, "cut", func(int) int { return 60_000 })
	to := filepath.Join(w.dir, "in")
	proxy.CutNextAfter(300_000) // about five messages in, in the middle of one
	r := w.run("fetch", "box", "--to", to, "--delete")
	if r.code != 1 || proxy.Cuts() != 1 {
		t.Fatalf("exit %d after %d cuts; stdout %q stderr %q", r.code, proxy.Cuts(), r.out, r.err)
	}
	if !strings.HasPrefix(r.err, "error: fetch box: download from the server: ") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("stderr %q", r.err)
	}
	t.Logf("stdout %q stderr %q", r.out, r.err)
	got := fetched(t, r)
	if got == 0 || got >= 12 {
		t.Fatalf("fetched %d before the cut", got)
	}
	r = w.mustRun("fetch", "box", "--to", to, "--delete")
	sameOnce(t, dirHashes(t, to), want)
	if n := w.serverCount(); n != 0 {
		t.Fatalf("%d left on the server", n)
	}
	if run, _, _ := store.LastRun(to, "box"); run.Error != "" {
		t.Fatalf("last run %+v", run)
	}
}

func TestDovecotWriteErrorAndFailingExecKeepMessagesOnServer(t *testing.T) {
	b := bed.Get(t)
	w := newWorld(t, "exec", acct{name: "box", protocol: "imap", port: b.IMAPPort, encryption: "starttls"})
	w.deliver(4, "exec", func(int) int { return 500 })
	// The target is a file: nothing can be written, nothing is deleted.
	notDir := filepath.Join(w.dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o600)
	r := w.run("fetch", "box", "--to", notDir, "--delete")
	if r.code != 1 || !strings.HasPrefix(r.err, "error: open the target directory "+notDir+": ") || w.serverCount() != 4 {
		t.Fatalf("exit %d stderr %q; server %d", r.code, r.err, w.serverCount())
	}
	// The command refuses message 2 (by its subject) and accepts the others.
	to := filepath.Join(w.dir, "in")
	script := `grep -q "^Subject: exec 2" "$1" && { echo "refusing $MAILPORT_MESSAGE_ID" >&2; exit 1; }; exit 0`
	r = w.run("fetch", "box", "--to", to, "--delete", "--exec", script)
	if r.code != 1 || w.serverCount() != 1 {
		t.Fatalf("exit %d, %d on the server; stderr %q", r.code, w.serverCount(), r.err)
	}
	if !strings.Contains(r.err, "refusing ") || !regexp.MustCompile(`error: box: message \d+ \(\S+\.eml\): --exec exited with status 1\n`).MatchString(r.err) {
		t.Fatalf("stderr %q", r.err)
	}
	if !strings.HasPrefix(r.out, "fetched 4 messages") || !strings.Contains(r.out, ", 1 failed") {
		t.Fatalf("stdout %q", r.out)
	}
	// Still failing: retried, still kept.
	r = w.run("fetch", "box", "--to", to, "--delete", "--exec", script)
	if r.code != 1 || w.serverCount() != 1 || !strings.HasPrefix(r.out, "fetched 0 messages") {
		t.Fatalf("retry: exit %d %q %q", r.code, r.out, r.err)
	}
	// Fixed: retried and deleted.
	r = w.mustRun("fetch", "box", "--to", to, "--delete", "--exec", "exit 0")
	if w.serverCount() != 0 || !strings.Contains(r.out, "1 finished from an earlier run") {
		t.Fatalf("after fixing: %q, %d on the server", r.out, w.serverCount())
	}
}

func TestDovecotUIDValidityChange(t *testing.T) {
	b := bed.Get(t)
	w := newWorld(t, "validity", acct{name: "box", protocol: "imap", port: b.IMAPPort, encryption: "starttls"})
	want := w.deliver(6, "validity", func(int) int { return 800 })
	to := filepath.Join(w.dir, "in")
	w.mustRun("fetch", "box", "--to", to)
	out, err := exec.Command("doveadm", "-c", filepath.Join(b.Dir, "dovecot.conf"), "mailbox", "update", "-u", w.user, "--uid-validity", "4242", "INBOX").CombinedOutput()
	if err != nil {
		t.Fatalf("doveadm: %v %s", err, out)
	}
	for h := range w.deliver(2, "validity-new", func(int) int { return 800 }) {
		want[h] = true
	}
	r := w.mustRun("fetch", "box", "--to", to)
	if !strings.Contains(r.err, "the server renumbered folder INBOX (UIDVALIDITY 4242, was ") {
		t.Fatalf("not reported: %q", r.err)
	}
	if fetched(t, r) != 2 || !strings.Contains(r.out, "6 already there under their old numbers") {
		t.Fatalf("stdout %q", r.out)
	}
	sameOnce(t, dirHashes(t, to), want)
	r = w.mustRun("fetch", "box", "--to", to, "--json")
	if !strings.Contains(r.out, `"fetched":0,"matched":0`) || strings.Contains(r.out, "validity_change") {
		t.Fatalf("after: %q", r.out)
	}
}

func TestDovecotSecondFetchOnSameDirectoryRefuses(t *testing.T) {
	b := bed.Get(t)
	w := newWorld(t, "lock", acct{name: "box", protocol: "imap", port: b.IMAPPort, encryption: "starttls"})
	w.deliver(2, "lock", func(int) int { return 100 })
	to := filepath.Join(w.dir, "in")
	// Another fetch (a child process, held mid-run by its --exec) has the directory.
	gate := filepath.Join(w.dir, "gate")
	first := w.command("fetch", "box", "--to", to, "--exec", `touch "`+gate+`.started"; while [ ! -e "`+gate+`" ]; do sleep 0.02; done`)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(gate + ".started"); err != nil; _, err = os.Stat(gate + ".started") {
		if time.Now().After(deadline) {
			t.Fatal("the first fetch never reached its --exec")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pid := strconv.Itoa(first.Process.Pid)
	r := w.run("fetch", "box", "--to", to)
	want := "error: another mailport fetch (PID " + pid + ") is writing into " + to + "; try again when it has finished, or wait for it (--wait 10m waits up to ten minutes)\n"
	if r.code != 1 || r.err != want {
		t.Fatalf("exit %d stderr %q, want %q", r.code, r.err, want)
	}
	r = w.run("fetch", "box", "--to", to, "--wait", "300ms")
	if r.code != 1 || !strings.Contains(r.err, "did not finish within 300ms") {
		t.Fatalf("with --wait: exit %d %q", r.code, r.err)
	}
	// Released while the second one waits: it goes ahead.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		time.Sleep(200 * time.Millisecond)
		os.WriteFile(gate, nil, 0o600)
	}()
	r = w.run("fetch", "box", "--to", to, "--wait", "15s")
	if r.code != 0 || ctx.Err() != nil {
		t.Fatalf("waiting fetch: exit %d %q", r.code, r.err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	if got := len(dirHashes(t, to)); got != 2 {
		t.Fatalf("%d messages in the directory", got)
	}
}

// countEML counts the message files in dir (0 when it does not exist yet).
func countEML(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			n++
		}
	}
	return n
}

// afterStored fires extra after dir holds more than stored message files
// (polling every millisecond), or after 10s.
func afterStored(dir string, stored int, extra time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		for deadline := time.Now().Add(10 * time.Second); countEML(dir) <= stored && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(extra)
		ch <- time.Now()
	}()
	return ch
}
