package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSourceBuildNamesItsCommit builds mailport the way `go build` does for
// someone who cloned the source (no -ldflags) and checks that `version`,
// `version --json` and `--version` name the commit of HEAD, and add
// "-dirty" once the tree has uncommitted changes.
//
// The source is copied into a fresh repository first: Go records VCS
// information only where a .git directory sits (not in a git worktree),
// and the copy also carries uncommitted edits of the code under test.
func TestSourceBuildNamesItsCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on $PATH")
	}
	src, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(dir, name string, args ...string) string {
		t.Helper()
		c := exec.Command(name, args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GOPROXY=off")
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}

	// The tracked and untracked (not ignored) files of this checkout.
	files := strings.Split(strings.TrimRight(run(src, git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	copied := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
		copied++
	}
	if copied < 10 {
		t.Fatalf("copied only %d files from %s", copied, src)
	}
	run(dir, git, "init", "-q")
	run(dir, git, "add", "-A")
	run(dir, git, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "snapshot")
	head := strings.TrimSpace(run(dir, git, "rev-parse", "HEAD"))
	when, err := time.Parse(time.RFC3339, strings.TrimSpace(run(dir, git, "log", "-1", "--format=%cI")))
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "mailport")
	build := func() {
		t.Helper()
		// -buildvcs=true: this machine's GOFLAGS may turn it off; a user's
		// `go build` has it on (auto) by default.
		start := time.Now()
		run(dir, gobin, "build", "-buildvcs=true", "-o", bin, ".")
		t.Logf("go build took %s", time.Since(start).Round(time.Millisecond))
	}
	check := func(dirty bool) {
		t.Helper()
		line := strings.TrimSpace(run(dir, bin, "version"))
		wantCommit := "commit " + head[:12]
		if dirty {
			wantCommit += "-dirty"
		}
		if !strings.Contains(line, wantCommit+",") {
			t.Errorf("mailport version = %q; want it to name %q", line, wantCommit)
		}
		if !dirty && strings.Contains(line, "dirty") {
			t.Errorf("mailport version = %q; the tree is clean", line)
		}
		if want := "committed " + when.UTC().Format(time.RFC3339); !strings.Contains(line, want) {
			t.Errorf("mailport version = %q; want %q", line, want)
		}
		if want := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"; !strings.HasSuffix(line, want) {
			t.Errorf("mailport version = %q; want it to end with %q", line, want)
		}
		if strings.Contains(line, "none") || strings.Contains(line, "unknown") {
			t.Errorf("mailport version = %q still says none/unknown", line)
		}
		if v := strings.TrimSpace(run(dir, bin, "--version")); v != line {
			t.Errorf("mailport --version = %q; want the same line as mailport version, %q", v, line)
		}
		var got map[string]any
		out := run(dir, bin, "version", "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("version --json: %v\n%s", err, out)
		}
		if got["commit"] != head || got["modified"] != dirty || got["date"] != when.UTC().Format(time.RFC3339) ||
			got["go"] != runtime.Version() || got["os"] != runtime.GOOS || got["arch"] != runtime.GOARCH {
			t.Errorf("version --json = %s; want commit %s, modified %v, date %s", out, head, dirty, when.UTC().Format(time.RFC3339))
		}
	}

	build()
	check(false)

	f, err := os.OpenFile(filepath.Join(dir, "README.md"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nan uncommitted edit\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	build()
	check(true)
}
