package cmd

import (
	"net"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/secret"
)

// panickyStore panics when the password of account "bad" is read, as a
// bug in a secret backend would.
type panickyStore struct{ secret.Store }

func (s panickyStore) Get(key string) (string, error) {
	if key == secret.PasswordKey("bad") {
		var m map[string]*string
		return *m[key], nil
	}
	return s.Store.Get(key)
}

// TestTestSurvivesAPanic: a panic inside a check is that check's failure
// (exit 1, no stack trace), and `test --all` still reports every account.
func TestTestSurvivesAPanic(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"alpha", "bad", "omega"} {
		e.mustRun("pw", "account", "add", name, "--type", "inbound", "--protocol", "imap", "--host", "127.0.0.1", "--port", freePort(t), "--encryption", "ssl", "--login", "a@example.test", "--password-stdin")
	}
	e.wrapStore = func(s secret.Store) secret.Store { return panickyStore{s} }

	r := e.run("", "test", "bad", "--timeout", "1s")
	if r.code != 1 || r.err != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.err, r.out)
	}
	if !strings.Contains(r.out, "cause: The check stopped on an internal error: runtime error: invalid memory address or nil pointer dereference; please report it.") ||
		!strings.Contains(r.out, "see:   mailport explain internal-error") || strings.Contains(r.out, "goroutine") {
		t.Errorf("output:\n%s", r.out)
	}

	r = e.run("", "test", "--all", "--timeout", "1s")
	if r.code != 1 || r.err != "" || strings.Contains(r.out, "goroutine") {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.err, r.out)
	}
	for _, name := range []string{"alpha", "bad", "omega"} {
		if !strings.Contains("\n"+r.out, "\n"+name+"\t") {
			t.Errorf("--all does not report %s:\n%s", name, r.out)
		}
	}
	if !strings.Contains(r.out, "internal error") {
		t.Errorf("--all does not say bad stopped on an internal error:\n%s", r.out)
	}
}

// dovecotIMAPStartTLS is an IMAP server on a STARTTLS port as Dovecot
// greets, answering POP3's STLS as Dovecot does.
func dovecotIMAPStartTLS(t *testing.T) *hostile.Server {
	return hostile.Start(t, func(c net.Conn) {
		c.Write([]byte("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Debian) ready.\r\n"))
		br := hostile.Lines(c)
		for {
			line, ok := hostile.ReadLine(br)
			if !ok {
				return
			}
			tag, _, _ := strings.Cut(line, " ")
			c.Write([]byte(tag + " BAD Error in IMAP command received by server.\r\n"))
		}
	})
}

// TestTestPOP3OnTheIMAPPortGolden: a POP3 account pointed at the IMAP
// STARTTLS port is told that the port speaks IMAP and which port POP3
// uses, in one statement, instead of a refused STLS.
func TestTestPOP3OnTheIMAPPortGolden(t *testing.T) {
	s := dovecotIMAPStartTLS(t)
	_, port, _ := net.SplitHostPort(s.Addr())
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "box", "--type", "inbound", "--protocol", "pop3", "--host", "127.0.0.1", "--port", port, "--encryption", "starttls", "--login", "a@example.test", "--password-stdin")
	r := e.run("", "test", "box", "--timeout", "2s")
	if r.code != 1 || r.err != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.err, r.out)
	}
	golden(t, "pop3-on-imap-port.golden", normalise(r.out, port))
	if strings.Contains(r.out, "STLS") {
		t.Errorf("the output still speaks of STLS:\n%s", r.out)
	}
}
