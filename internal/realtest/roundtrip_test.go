package realtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// roundTripMessage is a raw message with what SMTP and POP3 must not
// corrupt: dot lines (SMTP and POP3 dot-stuffing), a 10 KB line, an 8-bit
// body, empty lines; CRLF throughout, every header Postfix would otherwise
// add already there.
func roundTripMessage(subject, msgID, to string) []byte {
	return []byte("From: Alice Example <" + alice + ">\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 02 Sep 2024 10:00:00 +0000\r\n" +
		"Message-ID: " + msgID + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Grüße aus dem Prüfstand – naïve café, 日本語\r\n" +
		".a line starting with a dot\r\n" +
		"..two dots\r\n" +
		".\r\n" +
		"\r\n" +
		strings.Repeat("0123456789", 1024) + "\r\n" +
		"the end\r\n")
}

// delivered checks that got is sent, byte for byte, with only the header
// fields the delivering servers put in front (Return-Path, X-Original-To,
// Delivered-To, Received).
func delivered(t *testing.T, how string, got, sent []byte) {
	t.Helper()
	if !bytes.HasSuffix(got, sent) {
		t.Errorf("%s: the message read back is not the one sent.\nsent: %s\ngot:  %s", how, abbrev(sent), abbrev(got))
		return
	}
	prefix := string(got[:len(got)-len(sent)])
	if strings.Contains(prefix, "\r\n\r\n") || strings.HasPrefix(prefix, "\r\n") {
		t.Errorf("%s: the servers put more than header fields before the message: %q", how, prefix)
	}
	for _, line := range strings.Split(strings.TrimSuffix(prefix, "\r\n"), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name := line[:strings.IndexByte(line+":", ':')]
		switch name {
		case "Return-Path", "X-Original-To", "Delivered-To", "Received":
		default:
			t.Errorf("%s: the servers added the header field %q; only trace fields are expected", how, line)
		}
	}
}

// TestRoundTripThroughCLIWithXOAUTH2 is what an admin does: a token config
// for Outlook's IMAP, POP and SMTP scopes, accounts, authenticate, send a
// raw message through Postfix (XOAUTH2 checked by Dovecot's oauth2 passdb
// against the authorization server), and read it back over IMAP and POP3
// with XOAUTH2, unchanged.
func TestRoundTripThroughCLIWithXOAUTH2(t *testing.T) {
	b := bed.Get(t)
	c := newCLI(t)
	c.mustRun("", "token-config", "add", "outlook", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL(""),
		"--client-id", clientID, "--scopes", strings.Join(outlookScopes, " "))
	accounts := []struct {
		name, typ, proto string
		port             int
		enc              string
	}{
		{"out-submission", "outbound", "smtp", b.SubmissionPort, "starttls"},
		{"out-smtps", "outbound", "smtp", b.SMTPSPort, "ssl"},
		{"in-imap", "inbound", "imap", b.IMAPSPort, "ssl"},
		{"in-pop3", "inbound", "pop3", b.POP3Port, "starttls"},
	}
	for _, a := range accounts {
		c.mustRun("", "account", "add", a.name, "--type", a.typ, "--protocol", a.proto, "--host", b.Host, "--port", strconv.Itoa(a.port),
			"--encryption", a.enc, "--auth", "oauth2", "--token-config", "outlook", "--login", alice, "--property", "tls_ca_file="+b.CAFile)
		r := c.mustRun("", "authenticate", a.name, "--timeout", "20s")
		if want := "Account " + a.name + " is AUTHENTICATED as " + alice + "."; !strings.Contains(r.out, want) {
			t.Fatalf("authenticate %s printed %q, want %q", a.name, r.out, want)
		}
	}
	r := c.mustRun("", "status")
	for _, a := range accounts {
		if !strings.Contains(r.out, a.name+"\tAUTHENTICATED") {
			t.Errorf("status does not show %s AUTHENTICATED:\n%s", a.name, r.out)
		}
	}

	var sent [][]byte
	for _, out := range []string{"out-submission", "out-smtps"} {
		id := "<rt-" + out + "-" + randomID() + "@example.test>"
		raw := roundTripMessage("round trip via "+out, id, alice)
		file := filepath.Join(c.dir, out+".eml")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		r := c.mustRun("", "send", out, "--raw", file)
		if want := "Sent " + id + " to " + alice + "\n"; r.out != want {
			t.Errorf("send %s printed %q, want %q", out, r.out, want)
		}
		if _, err := b.WaitForMessage(alice, "", id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, raw)
	}

	o := c.opener()
	var trace lockedBuffer
	o.Trace = &trace
	for _, name := range []string{"in-imap", "in-pop3"} {
		in, err := o.Inbound(ctxFor(t, 30*time.Second), name)
		if err != nil {
			t.Fatalf("connect %s with XOAUTH2: %v", name, err)
		}
		got := fetchAll(t, in)
		in.Close()
		if len(got) != len(sent) {
			t.Fatalf("%s: %d messages in INBOX, want the %d sent", name, len(got), len(sent))
		}
		for i := range sent {
			delivered(t, name, got[i], sent[i])
		}
	}
	// POP3 sends XOAUTH2 in two lines by default (Microsoft needs it), and
	// the transcript shows neither the token nor the SASL payload.
	tr := trace.String()
	if !strings.Contains(tr, "pop3 C: AUTH XOAUTH2\npop3 S: + \npop3 C: [redacted]\n") {
		t.Errorf("the POP3 transcript has no two-line AUTH XOAUTH2:\n%s", tr)
	}
	if !strings.Contains(tr, "AUTHENTICATE XOAUTH2") {
		t.Errorf("the IMAP transcript has no AUTHENTICATE XOAUTH2:\n%s", tr)
	}
	if strings.Contains(tr, "Bearer") || strings.Contains(tr, "auth=") {
		t.Errorf("the transcript shows a token:\n%s", tr)
	}
	for _, name := range []string{"in-imap", "in-pop3"} {
		ts, err := o.OAuth.TokenSource(name)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.AccessToken(ctxFor(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		payload := base64.StdEncoding.EncodeToString(mail.XOAUTH2Payload(alice, tok))
		if strings.Contains(tr, tok) || strings.Contains(tr, payload) {
			t.Errorf("the transcript shows %s's token or its XOAUTH2 payload:\n%s", name, tr)
		}
	}
}

// TestRoundTripThroughCLIWithPassword sends a composed message with a
// password (SASL PLAIN through Dovecot) over SMTPS and reads it back over
// IMAP with STARTTLS.
func TestRoundTripThroughCLIWithPassword(t *testing.T) {
	b := bed.Get(t)
	c := newCLI(t)
	c.mustRun(password(bob), "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", b.Host,
		"--port", strconv.Itoa(b.SMTPSPort), "--encryption", "ssl", "--login", bob, "--password-stdin", "--property", "tls_ca_file="+b.CAFile)
	c.mustRun(password(bob), "account", "add", "inbox", "--type", "inbound", "--protocol", "imap", "--host", b.Host,
		"--port", strconv.Itoa(b.IMAPPort), "--encryption", "starttls", "--login", bob, "--password-stdin", "--property", "tls_ca_file="+b.CAFile)
	subject := "password round trip " + randomID()
	body := "Sent with a password.\nSecond line: Grüße.\n"
	r := c.mustRun(body, "send", "outbox", "--to", bob, "--subject", subject, "--json")
	var res struct {
		MessageID string `json:"message_id"`
	}
	if err := jsonUnmarshal(r.out, &res); err != nil || res.MessageID == "" {
		t.Fatalf("send --json printed %q (%v), want a message_id", r.out, err)
	}
	if _, err := b.WaitForMessage(bob, "", res.MessageID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	in, err := c.opener().Inbound(ctxFor(t, 30*time.Second), "inbox")
	if err != nil {
		t.Fatalf("connect inbox with the password: %v", err)
	}
	defer in.Close()
	got := fetchAll(t, in)
	if len(got) != 1 {
		t.Fatalf("%d messages in INBOX, want 1", len(got))
	}
	m, err := netmail.ReadMessage(bytes.NewReader(got[0]))
	if err != nil {
		t.Fatalf("the message read back does not parse: %v\n%s", err, got[0])
	}
	from, _ := m.Header.AddressList("From")
	to, _ := m.Header.AddressList("To")
	if m.Header.Get("Subject") != subject || m.Header.Get("Message-Id") != res.MessageID ||
		len(from) != 1 || from[0].Address != bob || len(to) != 1 || to[0].Address != bob {
		t.Errorf("the message read back has From %v, To %v, Subject %q, Message-ID %q; want %s to itself, %q, %s",
			from, to, m.Header.Get("Subject"), m.Header.Get("Message-Id"), bob, subject, res.MessageID)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil || string(text) != strings.ReplaceAll(body, "\n", "\r\n") {
		t.Errorf("the body read back is %q (%v), want %q with CRLF line ends", text, err, body)
	}
}

// lockedBuffer is a transcript sink written from the adapters' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
