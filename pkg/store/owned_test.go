package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const victimText = "root:x:0:0:root:/root:/bin/bash\n"

// plantVictim is a file outside the target directory that a planted link
// points at; it must come out unchanged.
func plantVictim(t *testing.T) string {
	t.Helper()
	victim := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(victim, []byte(victimText), 0o644); err != nil {
		t.Fatal(err)
	}
	return victim
}

func checkVictim(t *testing.T, victim string) {
	t.Helper()
	b, err := os.ReadFile(victim)
	if err != nil || string(b) != victimText {
		t.Fatalf("the file the link points at was changed: %q, %v", b, err)
	}
}

// TestPlantedSymlinksAreRefused: a symbolic link planted as the lock file
// or the fetch state makes Open refuse with one sentence naming the file
// and the fix, and the file it points at stays as it was.
func TestPlantedSymlinksAreRefused(t *testing.T) {
	for _, name := range []string{LockName, JournalName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			victim := plantVictim(t)
			if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			st, err := Open(dir, Options{})
			if err == nil {
				st.Close()
				t.Fatal("Open wrote through a planted symbolic link")
			}
			want := filepath.Join(dir, name) + " is a symbolic link; mailport will not write through it: remove it"
			if err.Error() != want {
				t.Fatalf("error:\n got %q\nwant %q", err, want)
			}
			var no *NotOwnedError
			if !errors.As(err, &no) {
				t.Fatalf("error %T is not a *NotOwnedError", err)
			}
			checkVictim(t, victim)
			wantRead := filepath.Join(dir, name) + " is a symbolic link; mailport will not read through it: remove it"
			if _, _, err := RecordedFiles(dir); name == JournalName && (err == nil || err.Error() != wantRead) {
				t.Fatalf("RecordedFiles read through the link: %v", err)
			}
		})
	}
}

// TestSymlinkToMissingFileIsRefused: a dangling link would be created
// wherever it points.
func TestSymlinkToMissingFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "created-by-mailport")
	if err := os.Symlink(target, filepath.Join(dir, JournalName)); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(dir, Options{}); err == nil {
		st.Close()
		t.Fatal("Open followed a dangling link")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}

// TestNonRegularStateIsRefused: a FIFO in place of the fetch state is
// refused, not opened (which could block).
func TestNonRegularStateIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := mkfifo(filepath.Join(dir, JournalName)); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	_, err := Open(dir, Options{})
	want := filepath.Join(dir, JournalName) + " is not a regular file; mailport will not write to it: remove it"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %q", err, want)
	}
}

// TestFilesOfAnotherUserAreRefused: as root, a lock file or fetch state
// owned by another uid is refused and left unchanged.
func TestFilesOfAnotherUserAreRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another uid")
	}
	for _, name := range []string{LockName, JournalName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(victimText), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 4242, 4242); err != nil {
				t.Fatal(err)
			}
			st, err := Open(dir, Options{})
			if err == nil {
				st.Close()
				t.Fatal("Open used a file of another user")
			}
			want := path + " belongs to another user (uid 4242); mailport will not write to it: remove it, or run mailport as that user"
			if err.Error() != want {
				t.Fatalf("error:\n got %q\nwant %q", err, want)
			}
			checkVictim(t, path)
		})
	}
}

// TestStatusReadsTheStateOfAnotherUser: reading is not writing; status
// run by an admin still shows the last run of a fetch run as root.
func TestStatusReadsTheStateOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another uid")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, JournalName)
	if err := os.WriteFile(path, []byte(`{"t":"run","a":"support","n":3}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	run, ok, err := LastRun(dir, "support")
	if err != nil || !ok || run.Messages != 3 {
		t.Fatalf("LastRun = %+v, %v, %v", run, ok, err)
	}
}

// TestOwnFilesStillWork: a directory mailport made before opens again,
// with its PID in the lock file.
func TestOwnFilesStillWork(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		st, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		if pid := readPID(filepath.Join(dir, LockName)); pid != os.Getpid() {
			t.Fatalf("lock file holds PID %d, want %d", pid, os.Getpid())
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFetchIndexLinksAreRefused: the index of fetch directories beside
// the config and its lock are not written through planted links either.
func TestFetchIndexLinksAreRefused(t *testing.T) {
	for _, name := range []string{RecentName, RecentName + ".lock"} {
		t.Run(name, func(t *testing.T) {
			cfgDir := t.TempDir()
			victim := plantVictim(t)
			if err := os.Symlink(victim, filepath.Join(cfgDir, name)); err != nil {
				t.Fatal(err)
			}
			err := RememberDir(filepath.Join(cfgDir, RecentName), "support", t.TempDir())
			var no *NotOwnedError
			if !errors.As(err, &no) {
				t.Fatalf("RememberDir: %v", err)
			}
			checkVictim(t, victim)
		})
	}
}
