package cmd

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
)

// What a user sees when the server floods or trickles forever: one error
// sentence naming the server and what it did, exit 1, within about twice
// --timeout.
func TestFetchAndSendAgainstServersThatNeverFinish(t *testing.T) {
	pop := hostile.Start(t, func(c net.Conn) {
		io.WriteString(c, "+OK ready\r\n")
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			if line == "UIDL" {
				io.WriteString(c, "+OK\r\n")
				hostile.Flood(c, bytes.Repeat([]byte("1 a"), 1000)) // one line, never ended
				return
			}
			reply := "+OK\r\n"
			switch {
			case line == "CAPA":
				reply = "-ERR\r\n"
			case line == "STAT":
				reply = "+OK 1 10\r\n"
			}
			io.WriteString(c, reply)
		}
	})
	smtpSrv := hostile.Start(t, func(c net.Conn) {
		io.WriteString(c, "220 mx ready\r\n")
		if _, ok := hostile.ReadLine(hostile.Lines(c)); ok {
			io.WriteString(c, "250-mx\r\n")
			hostile.Flood(c, bytes.Repeat([]byte("250-AUTH PLAIN\r\n"), 1000))
		}
	})
	trickle := make(chan *hostile.Server, 1)
	slow := hostile.Start(t, func(c net.Conn) {
		s := <-trickle
		trickle <- s
		hostile.Trickle(s, c, []byte("+"), 100*time.Millisecond)
	})
	trickle <- slow

	e := newEnv(t)
	for name, srv := range map[string]*hostile.Server{"box": pop, "slow": slow} {
		e.mustRun("pw", "account", "add", name, "--type", "inbound", "--protocol", "pop3", "--host", srv.Host, "--port", itoa(srv.Port),
			"--encryption", "none", "--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	}
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", smtpSrv.Host, "--port", itoa(smtpSrv.Port),
		"--encryption", "none", "--login", "out@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fetch", "box", "--to", e.dir + "/in", "--timeout", "1s"},
			"pop3: UIDL: the POP3 server " + pop.Addr() + " sent a line longer than 64 KiB"},
		{[]string{"fetch", "slow", "--to", e.dir + "/in", "--timeout", "1s"},
			"pop3: greeting: " + slow.Addr() + " kept sending for 1s"},
		{[]string{"send", "outbox", "--to", "a@example.com", "--subject", "s", "--body", "b", "--timeout", "1s"},
			"EHLO with " + smtpSrv.Addr() + ": the SMTP server sent a reply longer than 1,000 lines or 1 MiB"},
	} {
		start := time.Now()
		r := e.run("", tc.args...)
		took := time.Since(start)
		if r.code != 1 || !strings.Contains(r.err, tc.want) || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
			t.Errorf("%v: exit %d stderr %q\nwant 1 and one line saying %q", tc.args[:2], r.code, r.err, tc.want)
		}
		// About 2 × --timeout: the command also loads its configuration
		// and secrets, on a machine that may be busy.
		if took > 2*time.Second+500*time.Millisecond {
			t.Errorf("%v: took %v, want about 2 × --timeout at most", tc.args[:2], took)
		}
	}
}
