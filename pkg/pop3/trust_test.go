package pop3_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// retrieve lists and fetches every message, returning the ids in order,
// the bodies by id and the sizes List reported.
func retrieve(t *testing.T, c *pop3.Client) ([]string, map[string]string, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var ids []string
	sizes := map[string]int64{}
	for _, m := range msgs {
		ids = append(ids, m.ID)
		sizes[m.ID] = m.Size
	}
	bodies := map[string]string{}
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		bodies[m.ID] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return ids, bodies, sizes
}

func TestDuplicateUIDLsLoseNoMessage(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	s.AddMessageUID("same", []byte("Subject: one\r\n\r\n1\r\n"))
	s.AddMessageUID("other", []byte("Subject: two\r\n\r\n2\r\n"))
	s.AddMessageUID("same", []byte("Subject: three\r\n\r\n33\r\n"))
	s.AddMessageUID("same", []byte("Subject: four\r\n\r\n444\r\n"))

	c := login(t, s.Endpoint(), basic())
	ids, bodies, _ := retrieve(t, c)
	want := []string{"same", "other", "same#2.22", "same#3.22"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("ids %q, want %q", ids, want)
	}
	for i, subj := range []string{"one", "two", "three", "four"} {
		if !strings.Contains(bodies[want[i]], "Subject: "+subj) {
			t.Errorf("message %s is %q, want the one with subject %s", want[i], bodies[want[i]], subj)
		}
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "gave 2 messages a UIDL that an earlier message already has") {
		t.Errorf("warnings %q", w)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("the warning came twice: %q", w)
	}

	// The next session names them the same way, so a rerun skips them.
	c2 := login(t, s.Endpoint(), basic())
	ids2, _, _ := retrieve(t, c2)
	if fmt.Sprint(ids2) != fmt.Sprint(want) {
		t.Errorf("second session: ids %q, want %q", ids2, want)
	}
	// Deleting a derived id deletes that message and no other.
	if err := c2.Delete(context.Background(), []string{"same#2.22"}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range s.Messages() {
		left = append(left, strings.SplitN(string(m.Data), "\r\n", 2)[0])
	}
	if fmt.Sprint(left) != "[Subject: one Subject: two Subject: four]" {
		t.Errorf("left on the server: %q", left)
	}
}

func TestDerivedIDsNeverTakeAnotherMessagesUIDL(t *testing.T) {
	s := newServer(t, pop3test.Options{})
	s.AddMessageUID("x", []byte("a\r\n"))
	s.AddMessageUID("x#2.3", []byte("b\r\n"))
	s.AddMessageUID("x", []byte("c\r\n"))
	ids, bodies, _ := retrieve(t, login(t, s.Endpoint(), basic()))
	if fmt.Sprint(ids) != "[x x#2.3 x#2.3#]" || bodies["x#2.3#"] != "c\r\n" || bodies["x#2.3"] != "b\r\n" {
		t.Errorf("ids %q, bodies %q", ids, bodies)
	}
}

func TestListSizesAreHints(t *testing.T) {
	lies := map[int]string{1: "-5", 2: "99999999999999999999999", 3: "2", 4: "900000", 5: "9000000000000000000"}
	s := newServer(t, pop3test.Options{ListSize: func(n, size int) string { return lies[n] }})
	var want []string
	for i := 1; i <= 5; i++ {
		body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("z", 1000*i))
		s.AddMessage([]byte(body))
		want = append(want, body)
	}
	ids, bodies, sizes := retrieve(t, login(t, s.Endpoint(), basic()))
	for i, id := range ids {
		if bodies[id] != want[i] {
			t.Errorf("message %d: %d octets retrieved, want all %d", i+1, len(bodies[id]), len(want[i]))
		}
	}
	if sizes[ids[0]] != 0 || sizes[ids[1]] != 0 || sizes[ids[2]] != 2 || sizes[ids[3]] != 900000 || sizes[ids[4]] != 0 {
		t.Errorf("sizes %v: want a negative, unreadable or absurd size as unknown (0), the others as the server said", sizes)
	}
}

func TestStatCountAndMissingUIDLAreReported(t *testing.T) {
	s := newServer(t, pop3test.Options{
		StatCount: func(n int) int { return n + 2 },
		HideUIDL:  func(n int) bool { return n == 2 },
	})
	for i := 0; i < 3; i++ {
		s.AddMessage([]byte("x\r\n"))
	}
	c := login(t, s.Endpoint(), basic())
	ids, _, _ := retrieve(t, c)
	if len(ids) != 2 {
		t.Fatalf("ids %q", ids)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		"listed 1 message without a UIDL (message 2 first); mailport cannot tell them apart across sessions, so they stay on the server",
		"reported 5 messages in STAT but listed 2 in UIDL",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q\nwant %q", w, want)
		}
	}
}

func TestImpossibleListingsAreRefused(t *testing.T) {
	for _, tc := range []struct{ uidl, want string }{
		{"0 abc\r\n.\r\n", "listed message number 0; POP3 numbers messages from 1"},
		{"1 a\r\n1 b\r\n.\r\n", "listed message number 1 twice"},
		{"1 " + strings.Repeat("u", 71) + "\r\n.\r\n", "sent a UIDL of 71 octets for message 1; RFC 1939 allows at most 70"},
		{"one abc\r\n.\r\n", `sent the listing line "one abc", which is not a message number and a unique id`},
	} {
		ep := startPOP3(t, "UIDL", func(_ *hostile.Server, c net.Conn) {
			io.WriteString(c, "+OK\r\n"+tc.uidl)
			br := hostile.Lines(c)
			for {
				line, ok := hostile.ReadLine(br)
				if !ok {
					return
				}
				if line == "LIST" {
					io.WriteString(c, "+OK\r\n1 10\r\n.\r\n")
				}
			}
		})
		err := listThrough(ep)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UIDL %q: got %v, want %q", tc.uidl, err, tc.want)
		}
	}
}

// A message body streams for as long as it keeps coming at a real line's
// pace: the reply deadline that stops an endless listing must not cut an
// honest message on a slow line.
func TestSlowBodyOutlastsTheStepTimeout(t *testing.T) {
	const chunks = 15 // 15 × 100ms: three step timeouts
	chunk := strings.Repeat("x", 7998) + "\r\n"
	_, bodies, err := fetchScripted(t, 1_000_000, func(c net.Conn) {
		io.WriteString(c, "+OK\r\nSubject: slow\r\n\r\n")
		for i := 0; i < chunks; i++ {
			time.Sleep(100 * time.Millisecond)
			io.WriteString(c, chunk)
		}
		io.WriteString(c, ".\r\n")
	}, 3*hostileTimeout)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if strings.Count(bodies["slow"], "\r\n") != chunks+2 {
		t.Errorf("got %d octets", len(bodies["slow"]))
	}
}

// A body dripped a few octets at a time never trips the per-read
// timeout, yet it is cut off after one step timeout: each window must
// bring at least minProgress octets. The message stays on the server.
func TestDrippedBodyIsCutOff(t *testing.T) {
	start := time.Now()
	_, _, err := fetchScripted(t, 100, func(c net.Conn) {
		io.WriteString(c, "+OK\r\nSubject: drip\r\n\r\n")
		for {
			if _, err := io.WriteString(c, "x"); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}, 0)
	took := time.Since(start)
	if !errors.Is(err, pop3.ErrTooSlow) || !strings.Contains(err.Error(), "the message stays on the server") {
		t.Fatalf("got %v, want ErrTooSlow", err)
	}
	if took > 2*hostileTimeout+time.Second {
		t.Errorf("it took %v to give up; want about the %v timeout", took, hostileTimeout)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}

// A body that goes on far past its LIST size (a server flooding a
// message forever) is cut off at twice the size plus 16 MB, with the heap
// flat: nothing fills the disk.
func TestEndlessBodyIsCutOff(t *testing.T) {
	var err error
	grew := heapmeter.Peak(func() {
		_, _, err = fetchScripted(t, 1000, func(c net.Conn) {
			io.WriteString(c, "+OK\r\nSubject: endless\r\n\r\n")
			hostile.Flood(c, []byte(strings.Repeat("y", 1022)+"\r\n"))
		}, 0)
	})
	if !errors.Is(err, pop3.ErrMessageTooLong) || !strings.Contains(err.Error(), "listed at 1000 octets") {
		t.Fatalf("got %v, want ErrMessageTooLong", err)
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MB", grew>>20)
	}
	t.Logf("%v, heap +%d KB", err, grew>>10)
}

// fetchScripted serves one message listed at size, whose RETR reply body
// writes, and fetches it. The bodies come back keyed by their Subject
// (the first MiB of each; the rest is read and dropped). It fails the test
// when a successful fetch took less than least.
func fetchScripted(t *testing.T, size int, body func(c net.Conn), least time.Duration) ([]string, map[string]string, error) {
	t.Helper()
	ep := startPOP3(t, "UIDL", func(s *hostile.Server, c net.Conn) {
		io.WriteString(c, "+OK\r\n1 m\r\n.\r\n")
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			switch line {
			case "LIST":
				fmt.Fprintf(c, "+OK\r\n1 %d\r\n.\r\n", size)
			case "RETR 1":
				body(c)
			case "QUIT":
				io.WriteString(c, "+OK\r\n")
				return
			default:
				io.WriteString(c, "+OK\r\n")
			}
		}
	})
	ctx := context.Background()
	c, err := pop3.Dial(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(ctx, basic()); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.List(ctx, mail.Criteria{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	start := time.Now()
	bodies := map[string]string{}
	var ids []string
	err = c.Fetch(ctx, msgs, func(m mail.Message, r io.Reader) error {
		ids = append(ids, m.ID)
		var b strings.Builder
		_, err := io.Copy(&b, io.LimitReader(r, 1<<20))
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if s := b.String(); strings.HasPrefix(s, "Subject: ") {
			key := strings.TrimSpace(strings.SplitN(s[len("Subject: "):], "\r\n", 2)[0])
			bodies[key] = s
		}
		return err
	})
	if took := time.Since(start); err == nil && took < least {
		t.Fatalf("the body came in %v; the test needs it slower than %v", took, least)
	}
	return ids, bodies, err
}
