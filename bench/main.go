// Command bench measures `mailport fetch` against mbsync, fetchmail and
// getmail6 on the same real Dovecot (internal/testbed): wall time, CPU
// (user+sys of the child, from rusage) and peak RSS (rusage maxrss), as
// medians over alternating runs, with the ratio mailport/peer, and checks
// every copy each tool wrote byte for byte against the generated originals.
//
// It needs root (Dovecot switches users) and the peers installed
// (MAILPORT_BENCH=1 scripts/install-deps.sh); `make bench` does both and
// builds mailport first:
//
//	make bench                 # N=2000, 3 runs per tool
//	make bench N=200 RUNS=1    # quick
//	go run ./bench -h          # every flag
//
// Each run starts from a fresh, empty target directory and fresh tool state
// (mbsync's sync state, getmail's oldmail file, fetchmail's idfile,
// mailport's journal all live in it); nothing is deleted on the server, so
// every run fetches all N messages. Before the first timed run one untimed
// pass reads every message over IMAP and lists them over POP3, so the
// server's index and the page cache are warm for every tool alike. Run
// order rotates from round to round.
//
// After the timed rounds a memory round adds one 30 MiB message to the
// mailbox and runs every tool once more; its peak RSS is the one the
// 40 MB target is about.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mailport/mailport/internal/testbed"
)

const (
	benchUser     = "bench@example.test"
	benchPassword = "bench-password"
)

type options struct {
	n        int
	runs     int
	seed     uint64
	mailport string
	tools    string
	tls      bool
	memory   bool
	bigSize  int
	work     string
	keep     bool
	strict   bool
	verbose  bool
	timeout  time.Duration
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "mda" {
		if err := mda(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(75) // EX_TEMPFAIL: fetchmail keeps the message
		}
		return
	}
	var o options
	flag.IntVar(&o.n, "n", 2000, "number of messages in the set")
	flag.IntVar(&o.runs, "runs", 3, "timed runs per tool (medians are reported)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the message generator")
	flag.StringVar(&o.mailport, "mailport", "bin/mailport", "the mailport binary to measure")
	flag.StringVar(&o.tools, "tools", "", "comma-separated tools to run, e.g. mailport,mbsync or getmail/imap (default all)")
	flag.BoolVar(&o.tls, "tls", false, "fetch over implicit TLS (IMAPS/POP3S) with every tool instead of plain IMAP/POP3 on loopback")
	flag.BoolVar(&o.memory, "memory", true, "after the timed rounds, add one large message and run every tool once more for peak RSS")
	flag.IntVar(&o.bigSize, "big", 30<<20, "size in bytes of the large message of the memory round")
	flag.StringVar(&o.work, "work", "", "working directory for originals and outputs (default a new temporary one, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep every run's output and the working directory")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when mailport misses a target")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "kill a tool's run that takes longer than this")
	flag.BoolVar(&o.verbose, "v", false, "print up to three differences per tool whose output was altered")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: bench [flags]\n\nTimes mailport fetch against mbsync, fetchmail and getmail6 on a real Dovecot.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || o.n < 1 || o.runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(ctx context.Context, o options, out, log io.Writer) (int, error) {
	if err := testbed.Check(); err != nil {
		return 1, err
	}
	jobs, env, err := prepareJobs(o)
	if err != nil {
		return 2, err
	}

	work := o.work
	if work == "" {
		if work, err = os.MkdirTemp("", "mpbench-"); err != nil {
			return 1, err
		}
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		return 1, err
	}
	if !o.keep && o.work == "" {
		defer os.RemoveAll(work)
	}
	// getmail delivers as nobody, who must reach its run directory.
	if err := os.Chmod(work, 0o755); err != nil {
		return 1, err
	}
	origDir := filepath.Join(work, "originals")
	if err := os.MkdirAll(origDir, 0o700); err != nil {
		return 1, err
	}

	began := time.Now()
	originals := map[int]Original{}
	var total int64
	for i := 0; i < o.n; i++ {
		orig, err := WriteOriginal(origDir, o.seed, i, 0)
		if err != nil {
			return 1, err
		}
		originals[i] = orig
		total += orig.Size
	}
	fmt.Fprintf(log, "generated %d messages (%s) in %s\n", o.n, mib(total), since(began))

	began = time.Now()
	bed, err := testbed.Start(testbed.Options{
		Users:     []testbed.User{{Name: benchUser, Password: benchPassword}},
		NoPostfix: true,
	})
	if err != nil {
		return 1, err
	}
	defer bed.Stop()
	// An interrupt must still stop Dovecot: the deferred Stop runs only
	// when run returns, so end the wait early on a signal.
	go func() {
		<-ctx.Done()
		bed.Stop()
	}()
	for i := 0; i < o.n; i++ {
		if err := deliver(bed, originals[i].Path); err != nil {
			return 1, err
		}
	}
	fmt.Fprintf(log, "started Dovecot and delivered them in %s\n", since(began))

	env.Server.Host = bed.Host
	env.Server.CAFile = bed.CAFile
	env.Server.IMAPPort, env.Server.POP3Port = bed.IMAPPort, bed.POP3Port
	if o.tls {
		env.Server.IMAPPort, env.Server.POP3Port = bed.IMAPSPort, bed.POP3SPort
	}
	if err := warmup(env.Server); err != nil {
		return 1, err
	}

	floor, err := Floor(ctx, work)
	if err != nil {
		return 1, err
	}

	failed := false
	samples := map[string][]Sample{}
	for r := 0; r < o.runs; r++ {
		for k := range jobs {
			j := jobs[(k+r)%len(jobs)]
			if ctx.Err() != nil {
				return 130, errors.New("interrupted")
			}
			s, err := runJob(ctx, j, work, r, originals, o.keep, o.timeout)
			if err != nil {
				failed = true
				fmt.Fprintf(log, "round %d/%d %-24s FAILED: %v\n", r+1, o.runs, j.Name(), err)
				continue
			}
			samples[j.Name()] = append(samples[j.Name()], s)
			fmt.Fprintf(log, "round %d/%d %-24s %s\n", r+1, o.runs, j.Name(), sampleLine(s, o.n))
		}
	}

	var stats []Stats
	for _, j := range jobs {
		stats = append(stats, Summarize(j, samples[j.Name()]))
	}
	fmt.Fprintf(out, "\n%d messages, %s, seed %d, %s on loopback, Dovecot %s; medians of %d runs\n",
		o.n, mib(total), o.seed, transport(o.tls), dovecotVersion(), o.runs)
	fmt.Fprintf(out, "versions: %s\n", versions(env, jobs))
	fmt.Fprintf(out, "peak RSS floor of the measuring wrapper (GNU time running /bin/true): %s\n", mib(floor))
	PrintTable(out, stats, o.n, false)
	if o.verbose {
		printExamples(out, stats)
	}

	var memStats []Stats
	if o.memory && ctx.Err() == nil {
		big, err := WriteOriginal(origDir, o.seed, BigIndex, o.bigSize)
		if err != nil {
			return 1, err
		}
		if err := deliver(bed, big.Path); err != nil {
			return 1, err
		}
		originals[BigIndex] = big
		if err := warmup(env.Server); err != nil {
			return 1, err
		}
		for _, j := range jobs {
			s, err := runJob(ctx, j, work, o.runs, originals, o.keep, o.timeout)
			if err != nil {
				failed = true
				fmt.Fprintf(log, "memory round %-24s FAILED: %v\n", j.Name(), err)
				continue
			}
			fmt.Fprintf(log, "memory round %-24s %s\n", j.Name(), sampleLine(s, o.n+1))
			memStats = append(memStats, Summarize(j, []Sample{s}))
		}
		fmt.Fprintf(out, "\nmemory round: the same set plus one %s message (%d messages, %s), one run each\n",
			mib(big.Size), o.n+1, mib(total+big.Size))
		PrintTable(out, memStats, o.n+1, true)
		if o.verbose {
			printExamples(out, memStats)
		}
	}

	missed := PrintTargets(out, stats, memStats, o.n)
	switch {
	case failed:
		return 1, errors.New("some runs failed (see above)")
	case missed && o.strict:
		return 1, errors.New("mailport missed a target")
	}
	return 0, nil
}

// prepareJobs checks the tools before anything slow happens.
func prepareJobs(o options) ([]Job, *Env, error) {
	var want []string
	for _, t := range strings.Split(o.tools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			want = append(want, t)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find this program for fetchmail's MDA: %w", err)
	}
	env := &Env{
		Server: Server{User: benchUser, Password: benchPassword, TLS: o.tls},
		Self:   self,
	}
	jobs, err := Jobs(env, want)
	if err != nil {
		return nil, env, err
	}
	if _, err := Lookup(TimeProgram); err != nil {
		return nil, env, err
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Tool] {
			continue
		}
		seen[j.Tool] = true
		if j.Tool == "mailport" {
			if env.Mailport, err = checkMailport(o.mailport); err != nil {
				return nil, env, err
			}
			continue
		}
		if _, err := Lookup(j.Tool); err != nil {
			return nil, env, err
		}
	}
	return jobs, env, nil
}

// checkMailport makes sure the binary exists and has the fetch command.
func checkMailport(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("no mailport binary at %s: run make build, or pass -mailport", path)
	}
	if out, err := exec.Command(abs, "fetch", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "--to") {
		return "", fmt.Errorf("%s has no fetch command yet (mailport fetch --help: %v); build a mailport with cmd/fetch, or leave it out with -tools mbsync,fetchmail,getmail", path, err)
	}
	return abs, nil
}

func deliver(bed *testbed.Bed, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = bed.Deliver(benchUser, f)
	return err
}

func sampleLine(s Sample, n int) string {
	v := s.Verdict
	line := fmt.Sprintf("wall %s, CPU %s, peak RSS %s, byte-exact %d/%d", secs(s.Wall), secs(s.CPU), mib(s.PeakRSS), v.Exact, n)
	if v.Altered+v.Missing+v.Extra > 0 {
		line += fmt.Sprintf(" (altered %d, missing %d, extra %d)", v.Altered, v.Missing, v.Extra)
	}
	return line
}

func printExamples(out io.Writer, stats []Stats) {
	for _, st := range stats {
		for _, e := range st.Worst.Examples {
			fmt.Fprintf(out, "  %s: %s\n", st.Job.Name(), e)
		}
	}
}

func transport(tls bool) string {
	if tls {
		return "implicit TLS (IMAPS/POP3S)"
	}
	return "plain IMAP/POP3"
}

func dovecotVersion() string {
	out, err := exec.Command("dovecot", "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

// versions names each tool's version, as the tool prints it.
func versions(env *Env, jobs []Job) string {
	seen := map[string]bool{}
	var parts []string
	for _, j := range jobs {
		if seen[j.Tool] {
			continue
		}
		seen[j.Tool] = true
		var cmd *exec.Cmd
		switch j.Tool {
		case "mailport":
			cmd = exec.Command(env.Mailport, "version")
		case "fetchmail":
			cmd = exec.Command("fetchmail", "--version")
		default:
			cmd = exec.Command(j.Tool, "--version")
		}
		out, _ := cmd.CombinedOutput()
		v := "?"
		for _, l := range strings.Split(string(out), "\n") {
			// fetchmail warns about root before its version line.
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "WARNING") {
				v = l
				break
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %s", j.Tool, v))
	}
	return strings.Join(parts, "; ")
}

func since(t time.Time) string { return secs(time.Since(t)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
