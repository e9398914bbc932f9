package diagnose

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/config"
)

// TestMisbehavingServers: a server that greets as the account's protocol
// and then sends without end is named as such (server-misbehaves, with
// what it did), within about twice the timeout, rather than as a server
// that "did not list its capabilities" or a wrong password.
func TestMisbehavingServers(t *testing.T) {
	endless := []byte(strings.Repeat("x", 4096))
	cases := []struct {
		name, proto, greeting, on string
		reply                     []byte
		check, said               string
	}{
		{"POP3 endless CAPA line", config.POP3, "+OK ready\r\n", "CAPA", endless, "capabilities", "sent a line longer than 64 KiB"},
		{"IMAP endless CAPABILITY line", config.IMAP, "* OK ready\r\n", "CAPABILITY", endless, "capabilities", "sent a line longer than"},
		{"SMTP endless EHLO reply", config.SMTP, "220 mx.example.test ESMTP\r\n", "EHLO", []byte("250-PIPELINING\r\n"), "greeting", "1,000 lines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostile.Start(t, func(c net.Conn) {
				io.WriteString(c, tc.greeting)
				br := hostile.Lines(c)
				for {
					line, ok := hostile.ReadLine(br)
					if !ok {
						return
					}
					if i := strings.IndexByte(line, ' '); tc.proto == config.IMAP && i >= 0 {
						line = line[i+1:] // the tag
					}
					if strings.HasPrefix(strings.ToUpper(line), tc.on) {
						if tc.proto == config.IMAP {
							io.WriteString(c, "* CAPABILITY IMAP4rev1 ")
						}
						hostile.Flood(c, tc.reply)
						return
					}
					io.WriteString(c, "+OK\r\n")
				}
			})
			w := newWorld(t)
			typ := config.Inbound
			if tc.proto == config.SMTP {
				typ = config.Outbound
			}
			w.account("box", typ, tc.proto, srv.Addr(), config.None, config.AuthBasic, "a@example.test")
			w.password("box", "pw")
			timeout := 700 * time.Millisecond
			start := time.Now()
			rep := w.run("box", Options{Timeout: timeout})
			took := time.Since(start)
			expect(t, rep, tc.check, Fail, "server-misbehaves")
			out := render(rep)
			if !strings.Contains(out, tc.said) || strings.Contains(out, "goroutine") {
				t.Errorf("the report does not say what the server did (%q):\n%s", tc.said, out)
			}
			if took > 2*timeout+time.Second {
				t.Errorf("the diagnosis took %v; want about the %v timeout at most twice", took, timeout)
			}
		})
	}
}
