package testbed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Maildir returns the path of a user's INBOX Maildir (the directory holding
// cur, new and tmp).
func (b *Bed) Maildir(user string) (string, error) {
	u, ok := b.users[strings.ToLower(user)]
	if !ok {
		return "", fmt.Errorf("testbed: no user %q in the bed", user)
	}
	return filepath.Join(b.mailRoot, u.Name, "Maildir"), nil
}

// CreateFolder creates (and subscribes) an IMAP folder such as
// "INBOX/Endpoint" or "Archive/2024" through doveadm, so it is laid out
// exactly as Dovecot expects (Maildir++, hierarchy separator "/"). Spell
// INBOX in capitals inside a path: Dovecot 2.3 keeps "Inbox/Endpoint" as a
// different folder. Creating an existing folder is not an error.
func (b *Bed) CreateFolder(user, folder string) error {
	if isInbox(folder) {
		return nil
	}
	if _, err := b.Maildir(user); err != nil {
		return err
	}
	out, err := b.doveadm("mailbox", "create", "-s", "-u", strings.ToLower(user), folder)
	if err != nil && !strings.Contains(out, "already exists") {
		return fmt.Errorf("testbed: create folder %q for %s: %v: %s", folder, user, err, strings.TrimSpace(out))
	}
	return nil
}

// FolderPath returns the Maildir of a user's folder ("" or "INBOX" is the
// INBOX). The folder must exist (see CreateFolder).
func (b *Bed) FolderPath(user, folder string) (string, error) {
	root, err := b.Maildir(user)
	if err != nil || isInbox(folder) {
		return root, err
	}
	key := strings.ToLower(user) + "\x00" + folder
	b.mu.Lock()
	path, ok := b.folders[key]
	b.mu.Unlock()
	if ok {
		return path, nil
	}
	out, err := b.doveadm("mailbox", "path", "-u", strings.ToLower(user), "-t", "mailbox", folder)
	if err != nil {
		return "", fmt.Errorf("testbed: find folder %q of %s: %v: %s", folder, user, err, strings.TrimSpace(out))
	}
	path = strings.TrimSpace(out)
	if st, err := os.Stat(filepath.Join(path, "cur")); err != nil || !st.IsDir() {
		return "", fmt.Errorf("testbed: folder %q of %s does not exist (create it with CreateFolder)", folder, user)
	}
	b.mu.Lock()
	b.folders[key] = path
	b.mu.Unlock()
	return path, nil
}

// Deliver puts a raw RFC 5322 message (CRLF or LF line ends, as given) into a
// user's INBOX as a new, unseen message, without going through SMTP. It
// returns the file's path.
func (b *Bed) Deliver(user string, msg io.Reader) (string, error) {
	return b.DeliverTo(user, "", "", msg)
}

// DeliverTo puts a raw message into a user's folder with Maildir flags
// ("" for a new message; otherwise letters from "DFPRST", e.g. "S" for
// \Seen). The message is streamed into tmp/ and renamed into new/ or cur/
// with a unique Maildir name carrying its size (",S="), which Dovecot trusts
// as the message size. It returns the file's path.
func (b *Bed) DeliverTo(user, folder, flags string, msg io.Reader) (string, error) {
	dir, err := b.FolderPath(user, folder)
	if err != nil {
		return "", err
	}
	for _, f := range flags {
		if !strings.ContainsRune("DFPRST", f) {
			return "", fmt.Errorf("testbed: Maildir flag %q is not one of D, F, P, R, S, T", f)
		}
	}
	base := b.uniqueName()
	tmp := filepath.Join(dir, "tmp", base)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("testbed: deliver to %s: %w", user, err)
	}
	size, err := io.Copy(f, msg)
	if err == nil {
		err = f.Chown(b.mailUID, b.mailGID)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("testbed: deliver to %s: %w", user, err)
	}
	name := fmt.Sprintf("%s,S=%d", base, size)
	var dst string
	if flags == "" {
		dst = filepath.Join(dir, "new", name)
	} else {
		letters := strings.Split(flags, "")
		sort.Strings(letters)
		dst = filepath.Join(dir, "cur", name+":2,"+strings.Join(dedupe(letters), ""))
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("testbed: deliver to %s: %w", user, err)
	}
	return dst, nil
}

// uniqueName follows the Maildir naming convention
// (time.MusecPpidQseq.host) so names never collide with Postfix's or
// Dovecot's own.
func (b *Bed) uniqueName() string {
	b.mu.Lock()
	b.seq++
	seq := b.seq
	b.mu.Unlock()
	now := time.Now()
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return fmt.Sprintf("%d.M%dP%dQ%dR%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), seq, randomHex(4), host)
}

// Messages lists the message files in a user's folder (new and cur), sorted
// by name, which for Maildir names is delivery order.
func (b *Bed) Messages(user, folder string) ([]string, error) {
	dir, err := b.FolderPath(user, folder)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("testbed: list %s of %s: %w", sub, user, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return filepath.Base(out[i]) < filepath.Base(out[j]) })
	return out, nil
}

// WaitForMessage waits until a message containing needle on one line (a
// unique Message-ID or Subject header, say) is in a user's folder, and
// returns its path. Postfix delivers asynchronously, so use this after SMTP.
// Dovecot may move the file from new/ to cur/ meanwhile; either counts.
func (b *Bed) WaitForMessage(user, folder, needle string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		paths, err := b.Messages(user, folder)
		if err != nil {
			return "", err
		}
		for _, p := range paths {
			found, err := fileHasLine(p, needle)
			if err != nil {
				continue // renamed by Dovecot between listing and reading
			}
			if found {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("testbed: no message containing %q reached %s's %s within %s; Postfix log:\n%s",
				needle, user, folderLabel(folder), timeout, tail(b.PostfixLog, 15))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// fileHasLine streams a file line by line (messages may be large).
func fileHasLine(path, needle string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	n := []byte(needle)
	for {
		line, err := r.ReadSlice('\n')
		if bytes.Contains(line, n) {
			return true, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer is searched in 64 KiB pieces; a
			// needle meant for a header line never spans two of them.
			continue
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func (b *Bed) doveadm(args ...string) (string, error) {
	cmd := exec.Command("doveadm", append([]string{"-c", b.dovecotCf}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func isInbox(folder string) bool { return folder == "" || strings.EqualFold(folder, "INBOX") }

func folderLabel(folder string) string {
	if isInbox(folder) {
		return "INBOX"
	}
	return "folder " + folder
}
