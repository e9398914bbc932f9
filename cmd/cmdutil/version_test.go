package cmdutil

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func info(mainVersion string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.24.1", Path: "github.com/mailport/mailport",
		Main: debug.Module{Path: "github.com/mailport/mailport", Version: mainVersion}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

const rev = "4f2a9c1d0b7e6a5f4e3d2c1b0a9f8e7d6c5b4a39"

func TestBuildOf(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		line                  string
		want                  Build
	}{{
		name:    "go install of a release from the module proxy",
		version: "dev", commit: "none", date: "unknown",
		bi:   info("v1.2.3"),
		line: "mailport v1.2.3 (go1.24.1 linux/amd64)",
		want: Build{Version: "v1.2.3", Go: "go1.24.1", OS: "linux", Arch: "amd64"},
	}, {
		name:    "go build in a clean clone",
		version: "dev", commit: "none", date: "unknown",
		bi:   info("(devel)", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-30T08:15:00Z", "vcs.modified", "false"),
		line: "mailport dev (commit 4f2a9c1d0b7e, committed 2026-11-30T08:15:00Z, go1.24.1 linux/amd64)",
		want: Build{Version: "dev", Commit: rev, Date: "2026-11-30T08:15:00Z", Go: "go1.24.1", OS: "linux", Arch: "amd64"},
	}, {
		name:    "go build with uncommitted changes (Go 1.24 stamps a pseudo-version)",
		version: "dev", commit: "none", date: "unknown",
		bi:   info("v0.0.0-20261130081500-4f2a9c1d0b7e+dirty", "vcs.revision", rev, "vcs.time", "2026-11-30T08:15:00Z", "vcs.modified", "true"),
		line: "mailport v0.0.0-20261130081500-4f2a9c1d0b7e+dirty (commit 4f2a9c1d0b7e-dirty, committed 2026-11-30T08:15:00Z, go1.24.1 linux/amd64)",
		want: Build{Version: "v0.0.0-20261130081500-4f2a9c1d0b7e+dirty", Commit: rev, Date: "2026-11-30T08:15:00Z", Modified: true, Go: "go1.24.1", OS: "linux", Arch: "amd64"},
	}, {
		name:    "release: the stamped values win",
		version: "v1.4.0", commit: "4f2a9c1", date: "2026-12-01T10:00:00Z",
		bi:   info("(devel)", "vcs.revision", rev, "vcs.time", "2026-11-30T08:15:00Z", "vcs.modified", "false"),
		line: "mailport v1.4.0 (commit 4f2a9c1, built 2026-12-01T10:00:00Z, go1.24.1 linux/amd64)",
		want: Build{Version: "v1.4.0", Commit: "4f2a9c1", Date: "2026-12-01T10:00:00Z", Go: "go1.24.1", OS: "linux", Arch: "amd64"},
	}, {
		name:    "nothing recorded",
		version: "dev", commit: "none", date: "unknown",
		bi:   nil,
		line: "mailport dev (" + runtime.Version() + " linux/amd64)",
		want: Build{Version: "dev", Go: runtime.Version(), OS: "linux", Arch: "amd64"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := BuildOf(tc.version, tc.commit, tc.date, tc.bi, "linux", "amd64")
			if s := got.String(); s != tc.line {
				t.Errorf("line = %q\nwant   %q", s, tc.line)
			}
			got.dateIsCommit = false
			if got != tc.want {
				t.Errorf("Build = %+v\nwant    %+v", got, tc.want)
			}
		})
	}
}

func TestBuildJSON(t *testing.T) {
	b := BuildOf("dev", "none", "unknown", info("(devel)", "vcs.revision", rev, "vcs.time", "2026-11-30T08:15:00Z", "vcs.modified", "true"), "darwin", "arm64")
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"dev","commit":"` + rev + `","date":"2026-11-30T08:15:00Z","modified":true,"go":"go1.24.1","os":"darwin","arch":"arm64"}`
	if string(out) != want {
		t.Errorf("JSON = %s\nwant   %s", out, want)
	}
}

func TestCurrentBuildNamesThePlatform(t *testing.T) {
	b := CurrentBuild()
	if b.Version == "" || !strings.HasPrefix(b.Go, "go") || b.OS == "" || b.Arch == "" {
		t.Errorf("CurrentBuild() = %+v; want a version, the Go version and the platform", b)
	}
}
