package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/testbed"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
)

// The real Postfix of the test bed (SIZE from message_size_limit,
// 8BITMIME, DSN), delivering into the Maildirs Dovecot serves.
var bed = &testbed.Shared{}

func TestMain(m *testing.M) {
	code := m.Run()
	bed.Stop()
	os.Exit(code)
}

const (
	bedAlice = "alice@example.test"
	bedBob   = "bob@example.test"
)

// syncBuffer is a transcript written by the client and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// postfix logs alice in on the bed's submission port (STARTTLS) and
// returns the client and its transcript.
func postfix(t *testing.T, b *testbed.Bed) (*smtp.Client, *syncBuffer) {
	t.Helper()
	tr := &syncBuffer{}
	ep := mail.Endpoint{Host: b.Host, Port: b.SubmissionPort, Encryption: mail.StartTLS, CAFile: b.CAFile, Timeout: 10 * time.Second, Trace: tr}
	c := dial(t, ep)
	if err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: bedAlice, Password: "alice-password"}); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return c, tr
}

// unique makes a subject no earlier run of the bed has delivered.
func unique(t *testing.T) string {
	return fmt.Sprintf("%s %d", t.Name(), time.Now().UnixNano())
}

// mustNotRead fails the test when the message is read: the client must
// refuse it from the EHLO alone.
type mustNotRead struct{ t *testing.T }

func (r mustNotRead) Read([]byte) (int, error) {
	r.t.Error("the message was read")
	return 0, io.EOF
}

func TestPostfixSizeLimit(t *testing.T) {
	b := bed.Get(t)
	c, tr := postfix(t, b)
	limit := c.MaxMessageSize()
	if limit != 104857600 {
		t.Fatalf("MaxMessageSize = %d, want Postfix's message_size_limit 104857600", limit)
	}
	env := mail.Envelope{From: bedAlice, To: []string{bedBob}}
	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: limit + 1}, mustNotRead{t})
	want := fmt.Sprintf("the message is %d octets but the SMTP server %s takes at most %d octets", limit+1, b.Addr(b.SubmissionPort), limit)
	if !errors.Is(err, smtp.ErrTooLarge) || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if strings.Contains(tr.String(), "MAIL FROM") {
		t.Fatalf("MAIL FROM was sent:\n%s", tr)
	}

	subject := unique(t)
	msg := "From: " + bedAlice + "\r\nTo: " + bedBob + "\r\nSubject: " + subject + "\r\n\r\nwithin the limit\r\n"
	if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: int64(len(msg)), Body: smtp.Body7Bit}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tr.String(), fmt.Sprintf("MAIL FROM:<%s> SIZE=%d\r\n", bedAlice, len(msg))) {
		t.Fatalf("no SIZE= on MAIL FROM:\n%s", tr)
	}
	if _, err := b.WaitForMessage(bedBob, "", "Subject: "+subject, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestPostfixRefusedRecipients(t *testing.T) {
	b := bed.Get(t)
	c, tr := postfix(t, b)
	env := mail.Envelope{From: bedAlice, To: []string{"nobody@example.test", bedBob, "ghost@example.test"}}
	refusedWords := func(a string) string {
		return "550 5.1.1 <" + a + ">: Recipient address rejected: User unknown in virtual mailbox table"
	}

	first := unique(t) + " all or nothing"
	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{}, strings.NewReader("Subject: "+first+"\r\n\r\nx\r\n"))
	want := "the SMTP server " + b.Addr(b.SubmissionPort) + " refused 2 of 3 recipients, so nothing was sent (--partial sends to the others): " +
		"nobody@example.test: " + refusedWords("nobody@example.test") + "; ghost@example.test: " + refusedWords("ghost@example.test")
	var rr *smtp.RecipientsRefusedError
	if !errors.As(err, &rr) || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
	if tx := tr.String(); !strings.HasSuffix(tx, "smtp S: "+refusedWords("ghost@example.test")+"\r\nsmtp C: RSET\r\nsmtp S: 250 2.0.0 Ok\r\n") ||
		strings.Contains(tx, "DATA") {
		t.Errorf("the refusals were not followed by RSET:\n%s", tr)
	}

	second := unique(t) + " partial"
	msg := "From: " + bedAlice + "\r\nTo: nobody@example.test, " + bedBob + ", ghost@example.test\r\nSubject: " + second + "\r\n\r\nto the accepted ones\r\n"
	rep, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Partial: true}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Accepted) != 1 || rep.Accepted[0] != bedBob || len(rep.Refused) != 2 ||
		rep.Refused[0].Reply() != refusedWords("nobody@example.test") || rep.Refused[1].Reply() != refusedWords("ghost@example.test") {
		t.Fatalf("report %+v", rep)
	}
	path, err := b.WaitForMessage(bedBob, "", "Subject: "+second, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("Return-Path: <"+bedAlice+">")) || !bytes.HasSuffix(got, []byte("\nto the accepted ones\n")) {
		t.Fatalf("delivered:\n%s", got)
	}
	// The refused attempt came first; had any of it been sent, it would
	// have arrived by now.
	if _, err := b.WaitForMessage(bedBob, "", "Subject: "+first, 0); err == nil {
		t.Fatal("the message with refused recipients was delivered")
	}
	log, _ := os.ReadFile(b.PostfixLog)
	if !bytes.Contains(log, []byte("<nobody@example.test>: Recipient address rejected")) {
		t.Errorf("Postfix did not log the refusal:\n%s", log)
	}
}

func TestPostfixEightBitEnvelopeFromAndDSN(t *testing.T) {
	b := bed.Get(t)
	c, tr := postfix(t, b)
	subject := unique(t)
	msg := "From: " + bedAlice + "\r\nTo: " + bedAlice + "\r\nSubject: " + subject + "\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac\r\nsecret body line\r\n"
	env := mail.Envelope{From: bedBob, To: []string{bedAlice}}
	opts := smtp.SendOptions{Size: int64(len(msg)), Body: smtp.Body8Bit, Notify: []string{"SUCCESS", "FAILURE"}, Return: "HDRS"}
	if _, err := c.SendMessage(context.Background(), env, opts, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	transcript := tr.String()
	for _, cmd := range []string{
		fmt.Sprintf("MAIL FROM:<%s> SIZE=%d BODY=8BITMIME RET=HDRS\r\n", bedBob, len(msg)),
		"RCPT TO:<" + bedAlice + "> NOTIFY=SUCCESS,FAILURE\r\n",
	} {
		if !strings.Contains(transcript, cmd) {
			t.Errorf("the transcript has no %q:\n%s", cmd, transcript)
		}
	}

	// Alice gets the 8-bit message as it was, with the envelope sender
	// (not the From: field) as its Return-Path.
	path, err := b.WaitForMessage(bedAlice, "", "Subject: "+subject, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("Return-Path: <"+bedBob+">")) || !bytes.Contains(got, []byte("\ncaf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac\n")) {
		t.Fatalf("delivered:\n%s", got)
	}

	// Bob, the envelope sender, gets Postfix's success notification,
	// which returns the header only.
	path, err = b.WaitForMessage(bedBob, "", "Subject: "+subject, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Successful Mail Delivery Report", "Action: delivered", "Final-Recipient: rfc822; " + bedAlice} {
		if !bytes.Contains(dsn, []byte(want)) {
			t.Errorf("the notification has no %q:\n%s", want, dsn)
		}
	}
	if bytes.Contains(dsn, []byte("secret body line")) {
		t.Errorf("RET=HDRS, but the notification returns the body:\n%s", dsn)
	}
}

// TestPostfixWithout8BitMIMEAndDSN: a Postfix that discards 8BITMIME and
// DSN from its EHLO (as older servers never offer them) gets neither an
// 8-bit message nor a DSN request: both are refused before MAIL FROM,
// while a 7-bit message goes through without BODY=.
func TestPostfixWithout8BitMIMEAndDSN(t *testing.T) {
	b := bed.Get(t)
	tr := &syncBuffer{}
	ep := mail.Endpoint{Host: b.Host, Port: b.SevenBitPort, Encryption: mail.StartTLS, CAFile: b.CAFile, Timeout: 10 * time.Second, Trace: tr}
	c := dial(t, ep)
	if err := c.Authenticate(context.Background(), mail.Credentials{Kind: mail.AuthBasic, Username: bedAlice, Password: "alice-password"}); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if ehlo := tr.String(); strings.Contains(ehlo, "8BITMIME") || strings.Contains(ehlo, "250-DSN") {
		t.Fatalf("this Postfix still offers 8BITMIME or DSN:\n%s", ehlo)
	}
	env := mail.Envelope{From: bedAlice, To: []string{bedBob}}
	eight := "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n"
	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: int64(len(eight)), Body: smtp.Body8Bit}, mustNotRead{t})
	want := "the message has 8-bit octets but the SMTP server " + b.Addr(b.SevenBitPort) + " does not take 8-bit mail (no 8BITMIME); re-encode its 8-bit parts as quoted-printable or base64"
	if !errors.Is(err, smtp.ErrNo8BitMIME) || err.Error() != want {
		t.Fatalf("8-bit: err = %v, want %q", err, want)
	}
	_, err = c.SendMessage(context.Background(), env, smtp.SendOptions{Body: smtp.Body7Bit, Notify: []string{"SUCCESS"}}, mustNotRead{t})
	if !errors.Is(err, smtp.ErrNoDSN) || !strings.Contains(err.Error(), "does not offer DSN") {
		t.Fatalf("DSN: err = %v", err)
	}
	if strings.Contains(tr.String(), "MAIL FROM") {
		t.Fatalf("MAIL FROM was sent:\n%s", tr)
	}

	subject := unique(t)
	msg := "From: " + bedAlice + "\r\nTo: " + bedBob + "\r\nSubject: " + subject + "\r\n\r\nseven bits\r\n"
	if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: int64(len(msg)), Body: smtp.Body7Bit}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tr.String(), fmt.Sprintf("MAIL FROM:<%s> SIZE=%d\r\n", bedAlice, len(msg))) {
		t.Fatalf("MAIL FROM with a BODY= or without SIZE=:\n%s", tr)
	}
	if _, err := b.WaitForMessage(bedBob, "", "Subject: "+subject, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
