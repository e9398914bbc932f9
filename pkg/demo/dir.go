package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailport/mailport/pkg/store"
)

// The demo's accounts and where their mail lands inside the demo's target
// directory.
const (
	InboundAccount = "demo-in"       // IMAP, fetched into the target directory
	GraphAccount   = "demo-graph-in" // Microsoft Graph, fetched into GraphDir
	GraphDir       = "graph"         // a subdirectory of the target directory
)

// NotDemoDirError is ResetDir's refusal of a directory holding anything an
// earlier demo did not write.
type NotDemoDirError struct {
	Dir  string // the directory refused
	What string // what it holds, e.g. "notes.txt, which no earlier demo wrote"
}

func (e *NotDemoDirError) Error() string {
	return fmt.Sprintf("%s holds %s", e.Dir, e.What)
}

// ResetDir empties a target directory that holds the mail an earlier demo
// fetched, and reports whether it did. Every demo starts new servers, which
// number their messages from 1 again and give Graph messages new ids, so
// the fetch state an earlier demo left would skip this run's new message
// and store the Graph messages a second time; starting afresh keeps what
// the demo prints true of what is on disk.
//
// Only what the demo writes is removed: the fetch state and lock, the
// files that state records for the demo's own accounts, the store's
// temporary files, and the same in GraphDir. A directory holding anything
// else is left untouched and the error is a *NotDemoDirError. A missing or
// empty directory is fine as it is.
func ResetDir(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, &NotDemoDirError{Dir: dir, What: "no directory: it is a file"}
	}
	var plan []string
	empty, err := planReset(dir, InboundAccount, map[string]string{GraphDir: GraphAccount}, &plan)
	if err != nil || empty {
		return false, err
	}
	// plan lists files before the directories holding them, and a
	// directory's state last, so an interrupted reset leaves a directory
	// the next demo still recognises.
	for _, p := range plan {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("clear the earlier demo's mail: %w", err)
		}
	}
	return true, nil
}

// planReset checks that dir holds only what the demo writes for account
// (and, in the named subdirectories, for theirs) and appends what to
// remove to plan. It reports whether dir was empty.
func planReset(dir, account string, subdirs map[string]string, plan *[]string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	if len(entries) == 0 {
		return true, nil
	}
	accounts, files, err := store.RecordedFiles(dir)
	if err != nil {
		return false, err
	}
	for a := range accounts {
		if a != account {
			return false, &NotDemoDirError{Dir: dir, What: "a fetch state (" + store.JournalName + ") that is not only the demo's"}
		}
	}
	var state []string
	for _, e := range entries {
		name, p := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case name == store.JournalName || name == store.LockName:
			state = append(state, p)
		case e.Type().IsRegular() && (files[name] != "" || store.IsTemp(name)):
			*plan = append(*plan, p)
		case e.IsDir() && subdirs[name] != "":
			if _, err := planReset(p, subdirs[name], nil, plan); err != nil {
				return false, err
			}
			*plan = append(*plan, p)
		default:
			return false, &NotDemoDirError{Dir: dir, What: name + ", which no earlier demo wrote"}
		}
	}
	*plan = append(*plan, state...)
	return false, nil
}
