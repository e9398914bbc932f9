package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/secret"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// touchyStore fails the test on any use of the secret store: a dry run
// must need no password and no token.
type touchyStore struct {
	secret.Store
	t *testing.T
}

func (s touchyStore) Get(key string) (string, error) {
	s.t.Errorf("the secret store was read (%s)", key)
	return s.Store.Get(key)
}

func (s touchyStore) Set(key, value string) error {
	s.t.Errorf("the secret store was written (%s)", key)
	return s.Store.Set(key, value)
}

// smtpOutbox adds account outbox on srv with a password.
func smtpOutbox(t *testing.T, e *env, srv *smtptest.Server) {
	t.Helper()
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host(), "--port", itoa(srv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, srv))
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

func TestSendDryRunIsWhatWouldBeSent(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})
	e := newEnv(t)
	smtpOutbox(t, e, srv)
	args := []string{"send", "outbox", "--to", "a@example.com", "--bcc", "hidden@example.com", "--subject", "Grüße", "--body", "café\n",
		"--header", "Message-ID: <fixed-1@example.com>"}

	e.wrapStore = func(s secret.Store) secret.Store { return touchyStore{s, t} }
	dry := e.mustRun("", append(args, "--dry-run")...)
	if len(srv.Messages()) != 0 || len(srv.Events()) != 0 {
		t.Fatalf("the dry run reached the server: %v", srv.Events())
	}
	if r := e.run("", append(args, "--dry-run")...); r.err != "" {
		t.Fatalf("the dry run wrote to stderr: %q", r.err)
	}
	e.wrapStore = nil

	e.mustRun("", args...)
	sent := srv.Messages()
	if len(sent) != 1 {
		t.Fatalf("server got %d messages", len(sent))
	}
	// The same composer: only the Date (the time of writing) may differ.
	if got, want := dateLine.ReplaceAllString(dry.out, ""), dateLine.ReplaceAllString(string(sent[0].Data), ""); got != want {
		t.Fatalf("dry run:\n%q\nsent:\n%q", got, want)
	}
	if !dateLine.MatchString(dry.out) || strings.Contains(dry.out, "hidden@example.com") || !strings.Contains(dry.out, "Message-Id: <fixed-1@example.com>\r\n") {
		t.Fatalf("dry run:\n%s", dry.out)
	}

	r := e.mustRun("", append(args, "--dry-run", "--json")...)
	var res map[string]any
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("--dry-run --json: %v %q", err, r.out)
	}
	if res["dry_run"] != true || res["from"] != "out@example.com" || res["message_id"] != "<fixed-1@example.com>" || res["eight_bit"] != false ||
		res["bytes"] != float64(len(dry.out)) || strings.Join(toStrings(res["recipients"]), ",") != "a@example.com,hidden@example.com" {
		t.Fatalf("--dry-run --json: %v (the message is %d octets)", res, len(dry.out))
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestSendDryRunWithoutAToken(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--base-url", "https://login.microsoftonline.com/contoso.com/", "--client-id", clientID, "--for", "smtp")
	// Nothing listens on port 1: a dry run must not try.
	e.mustRun("", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1",
		"--encryption", "starttls", "--auth", "oauth2", "--token-config", "ms", "--login", "out@contoso.com")
	raw := "From: out@contoso.com\r\nTo: c@example.com\r\nSubject: raw\r\n\r\ncaf\xc3\xa9\r\n"
	rawFile := filepath.Join(e.dir, "m.eml")
	if err := os.WriteFile(rawFile, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun("", "send", "outbox", "--raw", rawFile, "--dry-run")
	if r.out != raw {
		t.Fatalf("dry run of --raw: %q, want the file's bytes", r.out)
	}
	r = e.mustRun(raw, "send", "outbox", "--raw", "-", "--dry-run", "--json", "--envelope-from", "bounces@contoso.com")
	var res map[string]any
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("%v %q", err, r.out)
	}
	if res["bytes"] != float64(len(raw)) || res["eight_bit"] != true || res["from"] != "bounces@contoso.com" || res["message_id"] != "" {
		t.Fatalf("--dry-run --json: %v", res)
	}
	// Without --dry-run the missing token stops it.
	if r := e.run("", "send", "outbox", "--raw", rawFile); r.code != 3 {
		t.Fatalf("send without a token: exit %d %q", r.code, r.err)
	}
}

func TestSendReportsEveryRefusedRecipient(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}, Rcpt: func(to string) error {
		switch to {
		case "nobody@example.com":
			return smtptest.ParseReply("550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown")
		case "full@example.com":
			return smtptest.ParseReply("452 4.2.2 Mailbox full")
		}
		return nil
	}})
	e := newEnv(t)
	smtpOutbox(t, e, srv)
	args := []string{"send", "outbox", "--to", "a@example.com,nobody@example.com", "--cc", "full@example.com", "--subject", "s", "--body", "b"}

	r := e.run("", args...)
	want := "error: send through outbox: the SMTP server " + srv.Addr() + " refused 2 of 3 recipients, so nothing was sent (--partial sends to the others): " +
		"nobody@example.com: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown; full@example.com: 452 4.2.2 Mailbox full\n"
	if r.code != 1 || r.err != want || r.out != "" {
		t.Fatalf("exit %d\nstderr %q\nwant   %q\nstdout %q", r.code, r.err, want, r.out)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a message was sent although recipients were refused")
	}

	r = e.run("", append(args, "--partial")...)
	if r.code != 0 {
		t.Fatalf("--partial: exit %d %q", r.code, r.err)
	}
	wantErr := "warning: the server refused 2 of 3 recipients, so the message was not sent to them:\n" +
		"  nobody@example.com: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown\n" +
		"  full@example.com: 452 4.2.2 Mailbox full\n"
	if r.err != wantErr || !strings.HasPrefix(r.out, "Sent <") || !strings.HasSuffix(r.out, "> to a@example.com\n") {
		t.Fatalf("--partial:\nstdout %q\nstderr %q", r.out, r.err)
	}
	if got := srv.Messages(); len(got) != 1 || !slices.Equal(got[0].To, []string{"a@example.com"}) {
		t.Fatalf("received %+v", got)
	}

	r = e.mustRun("", append(args, "--partial", "--json")...)
	var res struct {
		Recipients []string `json:"recipients"`
		Refused    []struct{ Address, Reply string }
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Recipients, []string{"a@example.com"}) || len(res.Refused) != 2 || res.Refused[1].Address != "full@example.com" || res.Refused[1].Reply != "452 4.2.2 Mailbox full" {
		t.Fatalf("--partial --json: %s", r.out)
	}

	// Every recipient refused: exit 1 even with --partial.
	r = e.run("", "send", "outbox", "--to", "nobody@example.com", "--partial", "--body", "b")
	if r.code != 1 || !strings.Contains(r.err, "refused every recipient, so nothing was sent: nobody@example.com: 550") {
		t.Fatalf("all refused: exit %d %q", r.code, r.err)
	}
}

func TestSendSizeEightBitAndDSN(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}, MaxMessageBytes: 2000, DSN: true})
	e := newEnv(t)
	smtpOutbox(t, e, srv)
	write := func(name, content string) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bigMsg := "To: a@example.com\r\nSubject: big\r\n\r\n" + strings.Repeat("x", 3000) + "\r\n"
	big := write("big.eml", bigMsg)
	r := e.run("", "send", "outbox", "--raw", big)
	want := "error: send through outbox: the message is " + itoa(len(bigMsg)) + " octets but the SMTP server " + srv.Addr() + " takes at most 2000 octets\n"
	if r.code != 1 || r.err != want {
		t.Fatalf("too large: exit %d\n%q\nwant\n%q", r.code, r.err, want)
	}
	if slices.ContainsFunc(srv.Events(), func(e string) bool { return strings.HasPrefix(e, "MAIL") }) {
		t.Fatalf("MAIL FROM was sent for a message over the limit: %v", srv.Events())
	}

	eightMsg := "To: a@example.com\r\nSubject: caf\xc3\xa9\r\n\r\ncaf\xc3\xa9\r\n"
	eight := write("8bit.eml", eightMsg)
	e.mustRun("", "send", "outbox", "--raw", eight, "--dsn", "success,failure", "--dsn-ret", "hdrs", "--envelope-from", "bounces@example.com")
	// (A body ending in a line end: SMTP adds a missing one after the
	// measurement, and SIZE= is an estimate by RFC 1870.)
	e.mustRun("", "send", "outbox", "--to", "a@example.com", "--subject", "Grüße", "--body", "café\n")
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("server got %d messages", len(got))
	}
	if m := got[0]; m.Body != "8BITMIME" || m.DeclaredSize != int64(len(eightMsg)) || m.From != "bounces@example.com" || m.Return != "HDRS" || !slices.Equal(m.Notify, []string{"SUCCESS,FAILURE"}) {
		t.Fatalf("8-bit raw with --dsn: %+v", m)
	}
	// A composed message is measured for a server that announces SIZE.
	if m := got[1]; m.Body != "" || m.DeclaredSize != int64(len(m.Data)) || m.From != "out@example.com" || m.Return != "" || !slices.Equal(m.Notify, []string{""}) {
		t.Fatalf("composed: %+v (%d octets)", m, len(m.Data))
	}
	// ... and one over the limit is refused before MAIL FROM, its
	// attachment never uploaded.
	att := write("big.bin", strings.Repeat("\x00\xff", 1000))
	mails := func() int {
		n := 0
		for _, e := range srv.Events() {
			if strings.HasPrefix(e, "MAIL") {
				n++
			}
		}
		return n
	}
	before := mails()
	r = e.run("", "send", "outbox", "--to", "a@example.com", "--subject", "big", "--body", "see attached", "--attach", att)
	sizeRE := regexp.MustCompile(`^error: send through outbox: the message is (\d+) octets but the SMTP server ` + regexp.QuoteMeta(srv.Addr()) + ` takes at most 2000 octets\n$`)
	if r.code != 1 || !sizeRE.MatchString(r.err) {
		t.Fatalf("composed over the limit: exit %d %q", r.code, r.err)
	}
	dry := e.mustRun("", "send", "outbox", "--to", "a@example.com", "--subject", "big", "--body", "see attached", "--attach", att, "--dry-run")
	if n := sizeRE.FindStringSubmatch(r.err)[1]; n != itoa(len(dry.out)) {
		t.Errorf("measured %s octets, the dry run wrote %d", n, len(dry.out))
	}
	if mails() != before || len(srv.Messages()) != 2 {
		t.Fatalf("the oversized composed message reached MAIL FROM: %v", srv.Events())
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dsn", "sucess"}, "error: --dsn: \"sucess\" is not a notification: use success, failure and delay (comma-separated), or never\n"},
		{[]string{"--dsn", "never,success"}, "error: --dsn: never cannot be combined with success, failure or delay\n"},
		{[]string{"--dsn-ret", "headers"}, "error: --dsn-ret: \"headers\" is not what a notification returns: use full (the whole message) or hdrs (its header)\n"},
		{[]string{"--envelope-from", "not an address"}, ""},
	} {
		r := e.run("", append([]string{"send", "outbox", "--to", "a@example.com", "--body", "b"}, tc.args...)...)
		if r.code != 2 || (tc.want != "" && r.err != tc.want) {
			t.Errorf("%v: exit %d %q", tc.args, r.code, r.err)
		}
	}
}

func TestSendDSNToAServerWithoutDSN(t *testing.T) {
	srv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}})
	e := newEnv(t)
	smtpOutbox(t, e, srv)
	r := e.run("", "send", "outbox", "--to", "a@example.com", "--body", "b", "--dsn", "success")
	want := "error: send through outbox: the SMTP server " + srv.Addr() +
		" does not offer DSN, so it cannot send the delivery notifications asked for; send without --dsn\n"
	if r.code != 1 || r.err != want {
		t.Fatalf("exit %d\n%q\nwant\n%q", r.code, r.err, want)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("sent without the receipts asked for")
	}
}

func TestSendSMTPOnlyFlagsOnAGraphAccount(t *testing.T) {
	e := newEnv(t)
	e.mustRun("", "token-config", "add", "ms", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID)
	e.mustRun("", "account", "add", "outbox", "--preset", "office365", "--type", "outbound", "--login", "out@contoso.com", "--token-config", "ms")
	for _, flag := range [][]string{{"--dsn", "success"}, {"--dsn-ret", "full"}, {"--envelope-from", "b@contoso.com"}, {"--partial"}} {
		r := e.run("", append([]string{"send", "outbox", "--to", "a@example.com", "--body", "b"}, flag...)...)
		want := "error: " + flag[0] + " needs an SMTP account; outbox sends through microsoft\n"
		if r.code != 2 || r.err != want {
			t.Errorf("%v: exit %d %q, want %q", flag, r.code, r.err, want)
		}
	}
	// A dry run through Graph needs no token either.
	if r := e.mustRun("", "send", "outbox", "--to", "a@example.com", "--body", "b", "--dry-run"); !strings.Contains(r.out, "To: <a@example.com>\r\n") {
		t.Errorf("dry run: %q", r.out)
	}
}

// TestSendEightBitRawToAServerWithout8BITMIME: go-smtp always offers
// 8BITMIME, so a scripted server stands for one that does not.
func TestSendEightBitRawToAServerWithout8BITMIME(t *testing.T) {
	srv, cmds := hostile.SMTP(t, "AUTH PLAIN", "SIZE 1000000")
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", srv.Host, "--port", itoa(srv.Port),
		"--encryption", "none", "--login", "out@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true")
	p := filepath.Join(e.dir, "8bit.eml")
	if err := os.WriteFile(p, []byte("To: a@example.com\r\nSubject: x\r\n\r\ncaf\xc3\xa9\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "send", "outbox", "--raw", p)
	want := "error: send through outbox: the message has 8-bit octets but the SMTP server " + srv.Addr() +
		" does not take 8-bit mail (no 8BITMIME); re-encode its 8-bit parts as quoted-printable or base64\n"
	if r.code != 1 || r.err != want {
		t.Fatalf("exit %d\n%q\nwant\n%q", r.code, r.err, want)
	}
	got := cmds()
	if slices.ContainsFunc(got, func(c string) bool { return strings.HasPrefix(c, "MAIL") }) {
		t.Fatalf("commands %q, want no MAIL FROM", got)
	}
	// A composed message is 7-bit, and goes without BODY=.
	e.mustRun("", "send", "outbox", "--to", "a@example.com", "--subject", "café", "--body", "café")
	got = cmds()
	mail := slices.IndexFunc(got, func(c string) bool { return strings.HasPrefix(c, "MAIL FROM:<out@example.com>") })
	if mail < 0 || strings.Contains(got[mail], "BODY=") || !slices.Contains(got, "DATA") {
		t.Fatalf("commands %q", got)
	}
}

// TestSendDryRunOfALargeRawMessageStaysSmall: the 8-bit scan and the
// size count stream the file.
func TestSendDryRunOfALargeRawMessageStaysSmall(t *testing.T) {
	e := newEnv(t)
	e.mustRun("pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", "127.0.0.1", "--port", "1", "--login", "out@example.com", "--password-stdin")
	p := filepath.Join(e.dir, "big.eml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("To: a@example.com\r\nSubject: big\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for i := 0; i < (30<<20)/len(line); i++ {
		f.WriteString(line)
	}
	f.WriteString("caf\xc3\xa9\r\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	var r result
	peak := heapmeter.Peak(func() { r = e.run("", "send", "outbox", "--raw", p, "--dry-run", "--json") })
	t.Logf("dry run of a %d-octet message: heap grew %d KiB", st.Size(), peak>>10)
	var res dryRunShape
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 {
		t.Fatalf("exit %d %q %v", r.code, r.err, err)
	}
	if res.Bytes != st.Size() || !res.EightBit {
		t.Fatalf("%+v, want %d octets, 8-bit", res, st.Size())
	}
	if peak > 8<<20 {
		t.Fatalf("heap grew %d MiB for a dry run of a %d MiB message", peak>>20, st.Size()>>20)
	}
}

type dryRunShape struct {
	Bytes    int64 `json:"bytes"`
	EightBit bool  `json:"eight_bit"`
}
