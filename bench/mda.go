package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// mda is fetchmail's delivery agent in the bench: it writes the message on
// stdin into the Maildir dir exactly as given (tmp/, fsync, rename into
// new/), so what the check sees is what fetchmail handed over.
func mda(dir string) error {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), host)
	tmp := filepath.Join(dir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("mda: %w", err)
	}
	_, err = io.Copy(f, os.Stdin)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, "new", name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mda: deliver into %s: %w", dir, err)
	}
	return nil
}
