package cmdutil

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Build identifies the binary that runs: what `mailport version` prints.
type Build struct {
	// Version is the release (v1.2.3), the module version Go recorded
	// (a `go install ...@v1.2.3`, or a pseudo-version for a source build),
	// or "dev" when nothing says which.
	Version string `json:"version"`
	// Commit is the revision built, "" when the build recorded none.
	Commit string `json:"commit"`
	// Date is the release's build time, or for a source build the time of
	// its commit; "" when unknown.
	Date string `json:"date"`
	// Modified means the source tree had uncommitted changes.
	Modified bool `json:"modified"`
	// Go is the Go release that compiled the binary, e.g. "go1.24.1".
	Go   string `json:"go"`
	OS   string `json:"os"`
	Arch string `json:"arch"`

	// dateIsCommit: Date is the commit's time, not the build's.
	dateIsCommit bool
}

// The values Version, Commit and Date have when the linker set nothing.
const (
	noVersion = "dev"
	noCommit  = "none"
	noDate    = "unknown"
)

// CurrentBuild describes this binary: the values the release build stamps
// in with -ldflags win; what is missing comes from the build information
// Go records in every binary (module version, VCS revision, time and
// modified flag).
func CurrentBuild() Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return BuildOf(Version, Commit, Date, bi, runtime.GOOS, runtime.GOARCH)
}

// BuildOf combines the -ldflags values (version, commit, date; their
// defaults "dev", "none" and "unknown" mean unset) with bi, which may be
// nil. It is CurrentBuild without the process's globals.
func BuildOf(version, commit, date string, bi *debug.BuildInfo, goos, goarch string) Build {
	b := Build{Go: runtime.Version(), OS: goos, Arch: goarch}
	var vcsRev, vcsTime string
	if bi != nil {
		if bi.GoVersion != "" {
			b.Go = bi.GoVersion
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				vcsRev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if version != "" && version != noVersion {
		b.Version = version
	}
	if b.Version == "" {
		b.Version = noVersion
	}
	b.Commit = vcsRev
	if commit != "" && commit != noCommit {
		b.Commit = commit
	}
	b.Date, b.dateIsCommit = vcsTime, vcsTime != ""
	if date != "" && date != noDate {
		b.Date, b.dateIsCommit = date, false
	}
	return b
}

// String is the line `mailport version` prints, e.g.
// "mailport v1.2.3 (commit 4f2a9c1, built 2026-05-01T10:00:00Z, go1.24.1 linux/amd64)".
// A source build names its commit ("-dirty" when the tree had changes)
// and when that commit was made; what the build did not record is left out.
func (b Build) String() string {
	var parts []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 && isHex(c) {
			c = c[:12]
		}
		if b.Modified {
			c += "-dirty"
		}
		parts = append(parts, "commit "+c)
	} else if b.Modified {
		parts = append(parts, "uncommitted changes")
	}
	switch {
	case b.Date != "" && b.dateIsCommit:
		parts = append(parts, "committed "+b.Date)
	case b.Date != "":
		parts = append(parts, "built "+b.Date)
	}
	parts = append(parts, fmt.Sprintf("%s %s/%s", b.Go, b.OS, b.Arch))
	return fmt.Sprintf("mailport %s (%s)", b.Version, strings.Join(parts, ", "))
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
