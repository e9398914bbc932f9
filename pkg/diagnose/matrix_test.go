package diagnose

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
)

// matrixServer is one of the servers of TestProtocolMatrix.
type matrixServer struct {
	name  string
	addr  string
	speak string // the protocol it speaks: IMAP, POP3, SMTP, HTTP, junk, "" (silent)
	tls   bool   // implicit TLS
	real  bool   // Dovecot or Postfix
	// words the report must hold when speak is not the account's protocol.
	words string
}

// TestProtocolMatrix runs `mailport test` for every account protocol
// (imap, pop3, smtp) against every server (Dovecot's IMAP, IMAPS, POP3,
// POP3S, Postfix's submission and submissions, a web server, a port that
// sends junk, a port that stays silent) with every encryption (none, ssl,
// starttls). Each run ends, within a few timeouts, with a failed check
// that has a cause, or passes where it should (the account's protocol on
// its port with the port's encryption), never with a panic or a hang; a
// server of another protocol is named.
func TestProtocolMatrix(t *testing.T) {
	b := bed.Get(t)
	hp := func(port int) string { return net.JoinHostPort(b.Host, strconv.Itoa(port)) }
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	junk := hostile.Start(t, func(c net.Conn) { hostile.Flood(c, []byte("\x00\x05junk~")) })
	silent := stalling(t, false, "")

	servers := []matrixServer{
		{"IMAP", hp(b.IMAPPort), peerIMAP, false, true, "speaks IMAP"},
		{"IMAPS", hp(b.IMAPSPort), peerIMAP, true, true, "speaks IMAP over TLS"},
		{"POP3", hp(b.POP3Port), peerPOP3, false, true, "speaks POP3"},
		{"POP3S", hp(b.POP3SPort), peerPOP3, true, true, "speaks POP3 over TLS"},
		{"submission", hp(b.SubmissionPort), peerSMTP, false, true, "speaks SMTP"},
		{"submissions", hp(b.SMTPSPort), peerSMTP, true, true, "speaks SMTP over TLS"},
		{"HTTP", web.Listener.Addr().String(), peerHTTP, false, false, "is a web server's: it speaks HTTP"},
		{"junk", junk.Addr(), peerJunk, false, false, "answers with bytes that are neither"},
		{"silent", silent.Addr(), peerSilent, false, false, ""},
	}
	// Short for the scripted servers; for the real ones long enough for
	// Dovecot to start a login process per connection on two busy cores
	// (they answer at once, so it costs time only where one waits for a
	// greeting that a TLS port never sends).
	const timeout, realTimeout = time.Second, 5 * time.Second
	type run struct {
		proto, enc string
		srv        matrixServer
		rep        *Report
		text       string
		took       time.Duration
		timeout    time.Duration
	}
	var runs []*run
	for _, proto := range []string{config.IMAP, config.POP3, config.SMTP} {
		for _, srv := range servers {
			for _, enc := range []string{config.None, config.SSL, config.StartTLS} {
				runs = append(runs, &run{proto: proto, enc: enc, srv: srv})
			}
		}
	}
	// All at once, a few at a time: t.Parallel would run only GOMAXPROCS
	// of them together, and most of each run is waiting.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			w := newWorld(t)
			typ := config.Inbound
			if r.proto == config.SMTP {
				typ = config.Outbound
			}
			a := w.account("box", typ, r.proto, r.srv.addr, r.enc, config.AuthBasic, "alice@example.test")
			a.Properties[connect.PropTLSCAFile] = b.CAFile
			w.password("box", "alice-password")
			r.timeout = timeout
			if r.srv.real {
				r.timeout = realTimeout
			}
			start := time.Now()
			r.rep = w.run("box", Options{Timeout: r.timeout})
			r.took = time.Since(start)
			r.text = render(r.rep)
		}()
	}
	wg.Wait()
	slowest := runs[0]
	for _, r := range runs {
		if r.took > slowest.took {
			slowest = r
		}
		if r.proto == config.POP3 && r.srv.name == "IMAP" && r.enc == config.StartTLS {
			t.Logf("a POP3 account on Dovecot's IMAP STARTTLS port:\n%s", r.text)
		}
	}
	t.Logf("%d runs; the slowest, %s account on the %s server with %s, took %s", len(runs), slowest.proto, slowest.srv.name, slowest.enc, slowest.took.Round(time.Millisecond))

	for _, r := range runs {
		t.Run(fmt.Sprintf("%s account, %s server, %s", r.proto, r.srv.name, r.enc), func(t *testing.T) {
			rep, own := r.rep, protocolPeer(r.proto)
			noInternalError(t, rep)
			assertOneStatement(t, rep)
			// At most: a greeting awaited, then the probes side by side.
			if r.took > 2*r.timeout+3*time.Second {
				t.Errorf("took %s", r.took.Round(time.Millisecond))
			}
			for _, c := range rep.Checks {
				for _, f := range c.Findings {
					if f.Cause == "" || f.Fix == "" {
						t.Errorf("check %s: a finding without cause or fix: %+v", c.ID, f)
					}
				}
				if c.Status == Fail && len(c.Findings) == 0 {
					t.Errorf("check %s failed without a finding", c.ID)
				}
			}
			right := r.srv.speak == own && r.srv.tls == (r.enc == config.SSL)
			switch {
			case right && r.enc != config.None:
				// The account's protocol on its port with its encryption.
				if rep.Failed() {
					t.Errorf("a good account failed:\n%s", r.text)
				}
			case right:
				// No encryption: the password must not cross in plain text.
				expect(t, rep, "config", Fail, "plaintext-auth")
				expect(t, rep, "greeting", OK, "")
			case r.srv.speak == own && r.enc == config.SSL:
				expect(t, rep, "tls", Fail, "plain-on-tls-port")
			case r.srv.speak == own:
				expect(t, rep, "tls", Fail, "tls-on-plain-port")
			case r.srv.speak == peerSilent:
				expect(t, rep, "tls", Fail, "server-silent")
			default:
				entry := map[string]string{peerHTTP: "http-on-port", peerJunk: "junk-on-port"}[r.srv.speak]
				if entry == "" {
					entry = "wrong-protocol"
				}
				expect(t, rep, "tls", Fail, entry)
				if !strings.Contains(r.text, r.srv.words) || !strings.Contains(r.text, "not "+own) && !strings.Contains(r.text, "the account is "+own) && !strings.Contains(r.text, "neither "+own) {
					t.Errorf("the report does not say %q of the account's %s:\n%s", r.srv.words, own, r.text)
				}
			}
		})
	}
}
