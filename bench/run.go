package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Sample is one measured run of a job.
type Sample struct {
	Wall    time.Duration
	CPU     time.Duration // user + system of the tool and the children it waited for
	PeakRSS int64         // bytes: the largest resident set of the tool or any child it waited for
	Verdict Verdict
}

// runJob runs one job in a fresh directory below work, checks its output
// against the originals and removes the directory again unless keep.
func runJob(ctx context.Context, j Job, work string, round int, originals map[int]Original, keep bool, timeout time.Duration) (Sample, error) {
	dir := filepath.Join(work, fmt.Sprintf("%s-%s-%s-%d", j.Tool, j.Protocol, j.Format, round))
	if err := os.RemoveAll(dir); err != nil {
		return Sample{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Sample{}, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	cmd, out, err := j.command(dir)
	if err != nil {
		return Sample{}, err
	}
	u, logs, err := measured(ctx, cmd, dir, timeout)
	if err != nil {
		return Sample{}, fmt.Errorf("%s %w", j.Name(), err)
	}
	s := Sample{Wall: u.Wall, CPU: u.CPU, PeakRSS: u.MaxRSS}
	if u.Exit != 0 {
		return s, fmt.Errorf("%s failed after %s with exit code %d: %s", j.Name(), secs(u.Wall), u.Exit, lastLines(logs, 8))
	}
	s.Verdict, err = Check(out, originals, j)
	if err != nil {
		return s, fmt.Errorf("%s: check output: %w", j.Name(), err)
	}
	return s, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Stats are the medians of a job's samples and its worst check.
type Stats struct {
	Job     Job
	Runs    int
	Wall    time.Duration
	CPU     time.Duration
	PeakRSS int64
	Worst   Verdict // the run with the fewest byte-exact copies
}

// Summarize takes the median of each measure separately.
func Summarize(j Job, samples []Sample) Stats {
	st := Stats{Job: j, Runs: len(samples)}
	if len(samples) == 0 {
		return st
	}
	var walls, cpus []time.Duration
	var rss []int64
	st.Worst = samples[0].Verdict
	for _, s := range samples {
		walls = append(walls, s.Wall)
		cpus = append(cpus, s.CPU)
		rss = append(rss, s.PeakRSS)
		if s.Verdict.Exact < st.Worst.Exact {
			st.Worst = s.Verdict
		}
	}
	st.Wall = median(walls)
	st.CPU = median(cpus)
	st.PeakRSS = median(rss)
	return st
}

// median of an odd count is the middle value; of an even count, the mean
// of the two middle ones.
func median[T int64 | time.Duration](v []T) T {
	s := append([]T(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Usage is what GNU time reports about the tool it ran.
type Usage struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
	Exit   int
}

// TimeProgram is GNU time (Debian package time), the small C program
// that starts each tool and reports its resource usage.
//
// Why not read the rusage of a child started from here: Go starts children
// with vfork, so the child execs while sharing the harness's memory, and
// Linux carries the high-water RSS of the memory a process leaves at exec
// into its ru_maxrss. Every tool would show at least the harness's peak
// (which has read whole messages to check them). GNU time forks the tool
// from its own tiny process, so a tool's peak RSS is its own plus at most
// GNU time's one MiB, which the bench reports as the floor.
const TimeProgram = "/usr/bin/time"

// measured runs c through GNU time in dir and returns the tool's usage
// and its output. A tool still running after timeout is killed with its
// whole process group.
func measured(ctx context.Context, c *exec.Cmd, dir string, timeout time.Duration) (Usage, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	result := filepath.Join(dir, ".usage")
	w := exec.CommandContext(ctx, TimeProgram, append([]string{"-o", result, "-f", "%U %S %M"}, c.Args...)...)
	w.Args[5] = c.Path
	w.Env, w.Dir = c.Env, dir
	var logs bytes.Buffer
	w.Stdout, w.Stderr = &logs, &logs
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w.Cancel = func() error { return syscall.Kill(-w.Process.Pid, syscall.SIGKILL) }
	w.WaitDelay = 5 * time.Second
	start := time.Now()
	err := w.Run()
	u := Usage{Wall: time.Since(start)}
	// Kept with -keep, for a look at what a tool said.
	_ = os.WriteFile(filepath.Join(dir, ".output"), logs.Bytes(), 0o600)
	if ctx.Err() == context.DeadlineExceeded {
		return u, logs.String(), fmt.Errorf("did not finish within %s and was killed: %s", timeout, lastLines(logs.String(), 8))
	}
	if ctx.Err() != nil {
		return u, logs.String(), ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		u.Exit = exit.ExitCode()
	} else if err != nil {
		return u, logs.String(), fmt.Errorf("could not be started: %w", err)
	}
	data, err := os.ReadFile(result)
	if err != nil {
		return u, logs.String(), fmt.Errorf("could not be measured: %w", err)
	}
	// GNU time writes "Command exited with non-zero status N" first when
	// the tool failed; the format's line is the last.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var user, sys float64
	var kib int64
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%f %f %d", &user, &sys, &kib); err != nil {
		return u, logs.String(), fmt.Errorf("unexpected GNU time output %q: %w", string(data), err)
	}
	u.CPU = time.Duration((user + sys) * float64(time.Second))
	u.MaxRSS = kib * 1024
	return u, logs.String(), nil
}

// Floor is the peak RSS GNU time reports for /bin/true: the least any
// tool can show.
func Floor(ctx context.Context, dir string) (int64, error) {
	u, logs, err := measured(ctx, exec.Command("/bin/true"), dir, time.Minute)
	if err != nil || u.Exit != 0 {
		return 0, fmt.Errorf("measure /bin/true with %s: %v %s", TimeProgram, err, logs)
	}
	return u.MaxRSS, nil
}
