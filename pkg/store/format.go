package store

import (
	"fmt"
	"strings"
)

// FormatError means the target directory already holds messages in the
// other format: fetching into it would write beside them while the
// journal counts them as fetched, so the fetch would silently bring
// nothing.
type FormatError struct {
	Dir   string // the absolute directory
	Found Format // the format the directory holds
	// Evidence is what shows it: "cur/ new/ tmp/", a .eml file's name, or
	// "the fetch journal".
	Evidence string
}

func (e *FormatError) Error() string {
	return e.Describe(e.Dir)
}

// Describe is the error's sentence with dir as the user named it.
func (e *FormatError) Describe(dir string) string {
	if e.Found == Maildir {
		return fmt.Sprintf("%s holds a Maildir (%s); fetch with --format maildir or choose another directory", dir, e.Evidence)
	}
	return fmt.Sprintf("%s holds messages fetched as .eml files (%s); fetch with --format eml or choose another directory", dir, e.Evidence)
}

// detectLayout refuses a directory whose files are in the other format:
// a Maildir (new/ and cur/ directories) for eml, top-level .eml files for
// maildir. It runs before Open creates anything.
func (s *Store) detectLayout() error {
	isDir := func(name string) bool {
		fi, err := s.root.Stat(name)
		return err == nil && fi.IsDir()
	}
	if s.format == EML {
		if isDir("new") && isDir("cur") {
			ev := "cur/ new/"
			if isDir("tmp") {
				ev = "cur/ new/ tmp/"
			}
			return &FormatError{Dir: s.dir, Found: Maildir, Evidence: ev}
		}
		return nil
	}
	f, err := s.root.Open(".")
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.dir, err)
	}
	defer f.Close()
	for {
		// Read in batches: a large directory is not read into memory at once.
		entries, err := f.ReadDir(1024)
		for _, e := range entries {
			if strings.HasSuffix(strings.ToLower(e.Name()), ".eml") && e.Type().IsRegular() {
				return &FormatError{Dir: s.dir, Found: EML, Evidence: e.Name()}
			}
		}
		if err != nil {
			return nil // io.EOF ends the listing; a read error shows later
		}
	}
}

// checkJournalLayout refuses a directory whose journal records messages
// in the other format (their files may since have been moved away).
func (s *Store) checkJournalLayout() error {
	for _, e := range s.entries {
		if e.File == "" {
			continue
		}
		maildir := strings.HasPrefix(e.File, "new/") || strings.HasPrefix(e.File, "cur/")
		switch {
		case s.format == EML && maildir:
			return &FormatError{Dir: s.dir, Found: Maildir, Evidence: "the fetch journal records " + e.File}
		case s.format == Maildir && !maildir:
			return &FormatError{Dir: s.dir, Found: EML, Evidence: "the fetch journal records " + e.File}
		}
	}
	return nil
}
