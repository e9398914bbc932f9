package imaptest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailport/mailport/pkg/mail"
)

// Admin seeds and inspects a mailbox over plain go-imap, independently of
// the adapter under test, so the suite never checks the adapter with itself.
type Admin struct {
	t     testing.TB
	c     *imapclient.Client
	delim string
}

// NewAdmin logs in to the fixture's server as its user.
func NewAdmin(t testing.TB, f *Fixture) *Admin {
	t.Helper()
	ep := f.Endpoint
	ep.Trace = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := mail.Dial(ctx, ep)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	var c *imapclient.Client
	if ep.Encryption == mail.StartTLS {
		cfg, err := ep.TLSConfig()
		if err != nil {
			t.Fatalf("admin: %v", err)
		}
		c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			t.Fatalf("admin: STARTTLS: %v", err)
		}
	} else {
		c = imapclient.New(conn, nil)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(f.User, f.Password).Wait(); err != nil {
		t.Fatalf("admin: login as %s: %v", f.User, err)
	}
	l, err := c.List("", "", nil).Collect()
	if err != nil || len(l) == 0 {
		t.Fatalf("admin: LIST \"\" \"\": %v", err)
	}
	a := &Admin{t: t, c: c}
	if l[0].Delim != 0 {
		a.delim = string(l[0].Delim)
	}
	return a
}

// Name maps a configured path to the server's mailbox name.
func (a *Admin) Name(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return strings.Join(parts, a.delim)
}

// Create makes a folder and its parents (ignoring ones that exist).
func (a *Admin) Create(path string) {
	a.t.Helper()
	parts := strings.Split(a.Name(path), a.delim)
	for i := range parts {
		name := strings.Join(parts[:i+1], a.delim)
		if name == "INBOX" {
			continue
		}
		l, err := a.c.List("", name, nil).Collect()
		if err != nil {
			a.t.Fatalf("admin: LIST %s: %v", name, err)
		}
		if len(l) > 0 {
			continue
		}
		if err := a.c.Create(name, nil).Wait(); err != nil {
			a.t.Fatalf("admin: CREATE %s: %v", name, err)
		}
	}
}

// Append stores raw in the folder with flags and an internal date (zero: now).
func (a *Admin) Append(path string, raw []byte, flags []imap.Flag, date time.Time) {
	a.t.Helper()
	cmd := a.c.Append(a.Name(path), int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write(raw); err != nil {
		a.t.Fatalf("admin: APPEND: %v", err)
	}
	if err := cmd.Close(); err != nil {
		a.t.Fatalf("admin: APPEND: %v", err)
	}
	if _, err := cmd.Wait(); err != nil {
		a.t.Fatalf("admin: APPEND to %s: %v", path, err)
	}
}

// Stored is a message as the server holds it.
type Stored struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte
}

// Seen reports whether the message has \Seen.
func (s Stored) Seen() bool { return s.has(imap.FlagSeen) }

func (s Stored) has(flag imap.Flag) bool {
	for _, f := range s.Flags {
		if strings.EqualFold(string(f), string(flag)) {
			return true
		}
	}
	return false
}

// Messages lists a folder's messages with flags and (when withBody) bytes,
// by ascending UID. It selects the folder read-only.
func (a *Admin) Messages(path string, withBody bool) []Stored {
	a.t.Helper()
	data, err := a.c.Select(a.Name(path), &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		a.t.Fatalf("admin: EXAMINE %s: %v", path, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	opts := &imap.FetchOptions{UID: true, Flags: true}
	if withBody {
		opts.BodySection = []*imap.FetchItemBodySection{{Peek: true}}
	}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	bufs, err := a.c.Fetch(all, opts).Collect()
	if err != nil {
		a.t.Fatalf("admin: FETCH %s: %v", path, err)
	}
	out := make([]Stored, 0, len(bufs))
	for _, b := range bufs {
		s := Stored{UID: b.UID, Flags: b.Flags}
		if withBody && len(b.BodySection) > 0 {
			s.Raw = b.BodySection[0].Bytes
		}
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].UID < out[j-1].UID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if err := a.c.Unselect().Wait(); err != nil {
		a.t.Fatalf("admin: UNSELECT: %v", err)
	}
	return out
}

// UIDs are the UIDs in a folder, ascending, as decimal strings.
func (a *Admin) UIDs(path string) []string {
	var ids []string
	for _, s := range a.Messages(path, false) {
		ids = append(ids, fmt.Sprint(s.UID))
	}
	return ids
}
