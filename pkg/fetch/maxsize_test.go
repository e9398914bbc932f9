package fetch_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/fetchtest"
	"github.com/mailport/mailport/pkg/fetch"
	"github.com/mailport/mailport/pkg/graph/graphtest"
)

// big is a message of about n bytes.
func big(id string, n int) fetchtest.Message {
	m := msg(id, "big "+id)
	m.Raw = append(m.Raw, []byte(strings.Repeat("x", n))...)
	return m
}

func TestMaxSizeLeavesLargerMessagesAndConsidersThemAgain(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	mb.Add(msg("1", "small"))
	mb.Add(big("2", 5000))
	mb.Add(msg("3", "small"))
	mb.Add(big("4", 9000))
	s, recs, err := runOnce(t, dir, mb, fetch.Options{MaxSize: 1024, Action: fetch.Delete})
	if err != nil || s.Fetched != 2 || s.TooLarge != 2 || len(recs) != 2 {
		t.Fatalf("first run: %+v %v %+v", s, err, recs)
	}
	if got := fmt.Sprint(mb.IDs()); got != "[2 4]" {
		t.Fatalf("on the server after --delete: %s, want the two large ones", got)
	}
	// Not recorded: the next run counts them again, and without the limit fetches them.
	s, _, err = runOnce(t, dir, mb, fetch.Options{MaxSize: 1024, Action: fetch.Delete})
	if err != nil || s.Fetched != 0 || s.TooLarge != 2 || s.Skipped != 0 {
		t.Fatalf("second run: %+v %v", s, err)
	}
	s, _, err = runOnce(t, dir, mb, fetch.Options{MaxSize: 6000, DryRun: true})
	if err != nil || s.WouldFetch != 1 || s.TooLarge != 1 {
		t.Fatalf("dry run: %+v %v", s, err)
	}
	s, _, err = runOnce(t, dir, mb, fetch.Options{Action: fetch.Delete})
	if err != nil || s.Fetched != 2 || s.TooLarge != 0 || len(mb.IDs()) != 0 || len(messageFiles(t, dir)) != 4 {
		t.Fatalf("run without --max-size: %+v %v, server %v", s, err, mb.IDs())
	}
}

// --limit counts only what is fetched: a too large message does not use
// up the limit.
func TestMaxSizeDoesNotUseUpLimit(t *testing.T) {
	dir := t.TempDir()
	mb := fetchtest.NewMailbox()
	mb.Add(big("1", 5000))
	mb.Add(msg("2", "small"))
	mb.Add(msg("3", "small"))
	s, _, err := runOnce(t, dir, mb, fetch.Options{MaxSize: 1024, Limit: 2})
	if err != nil || s.Fetched != 2 || s.TooLarge != 1 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestGraphMaxSizeUsesTheListedSize(t *testing.T) {
	srv := graphtest.New(t, graphtest.Options{})
	srv.AddUser(graphUser)
	srv.AddMessage(graphUser, "Inbox", []byte("Subject: small\r\nMessage-ID: <s@x>\r\n\r\nhi\r\n"))
	srv.AddMessage(graphUser, "Inbox", []byte("Subject: large\r\nMessage-ID: <l@x>\r\n\r\n"+strings.Repeat("y", 20000)+"\r\n"))
	dir := t.TempDir()
	s := graphRun(t, srv, dir, fetch.Options{MaxSize: 10 << 10, Action: fetch.Delete})
	if s.Fetched != 1 || s.TooLarge != 1 {
		t.Fatalf("first %+v", s)
	}
	left := srv.Messages(graphUser, "Inbox")
	if len(left) != 1 || left[0].Subject != "large" {
		t.Fatalf("left on the server: %+v", left)
	}
	if s := graphRun(t, srv, dir, fetch.Options{Action: fetch.Delete}); s.Fetched != 1 || s.TooLarge != 0 {
		t.Fatalf("without --max-size %+v", s)
	}
	if n := len(messageFiles(t, dir)); n != 2 {
		t.Fatalf("%d files", n)
	}
}

func TestDovecotMaxSize(t *testing.T) {
	for _, tc := range []struct {
		user, protocol string
	}{{"maximap", "imap"}, {"maxpop3", "pop3"}} {
		t.Run(tc.protocol, func(t *testing.T) {
			b := bed.Get(t)
			port := b.IMAPPort
			if tc.protocol == "pop3" {
				port = b.POP3Port
			}
			w := newWorld(t, tc.user, acct{name: "box", protocol: tc.protocol, port: port, encryption: "starttls"})
			want := w.deliver(3, tc.user+"-small", func(int) int { return 500 })
			large := w.deliver(2, tc.user+"-large", func(int) int { return 30000 })
			to := filepath.Join(w.dir, "in")
			r := w.mustRun("fetch", "box", "--to", to, "--max-size", "10K", "--delete")
			if fetched(t, r) != 3 || !strings.Contains(r.out, "\nleft 2 messages larger than 10 KiB on the server\n") {
				t.Fatalf("first run: %q", r.out)
			}
			sameOnce(t, dirHashes(t, to), want)
			if n := w.serverCount(); n != 2 {
				t.Fatalf("%d messages on the server, want the 2 large ones", n)
			}
			r = w.mustRun("fetch", "box", "--to", to, "--max-size", "10K", "--json")
			var sum map[string]any
			for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
				if strings.HasPrefix(line, `{"type":"summary"`) {
					if err := json.Unmarshal([]byte(line), &sum); err != nil {
						t.Fatal(err)
					}
				}
			}
			if sum["too_large"] != float64(2) || sum["fetched"] != float64(0) {
				t.Fatalf("--json summary: %v", sum)
			}
			r = w.mustRun("fetch", "box", "--to", to, "--delete")
			if fetched(t, r) != 2 || strings.Contains(r.out, "larger than") {
				t.Fatalf("run without --max-size: %q", r.out)
			}
			for h := range large {
				want[h] = true
			}
			sameOnce(t, dirHashes(t, to), want)
		})
	}
}
