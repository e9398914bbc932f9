package smtp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/hostile"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// scripted serves hostile.SMTP, a polite server whose EHLO reply lists
// exts only, and the endpoint that reaches it.
func scripted(t *testing.T, exts ...string) (mail.Endpoint, func() []string) {
	srv, cmds := hostile.SMTP(t, exts...)
	return mail.Endpoint{Host: srv.Host, Port: srv.Port, Encryption: mail.None, Timeout: 2 * time.Second}, cmds
}

func hasPrefix(cmds []string, prefix string) bool {
	return slices.ContainsFunc(cmds, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

func TestSizeIsDeclaredAndALargerMessageRefusedBeforeMailFrom(t *testing.T) {
	s := startServer(t, smtptest.Options{MaxMessageBytes: 1000})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: alice, To: []string{"bob@example.net"}}

	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: 5000}, strings.NewReader(strings.Repeat("x", 5000)))
	if !errors.Is(err, smtp.ErrTooLarge) || err.Error() != "the message is 5000 octets but the SMTP server "+s.Addr()+" takes at most 1000 octets" {
		t.Fatalf("err = %v, want ErrTooLarge naming both sizes", err)
	}
	if ev := s.Events(); slices.ContainsFunc(ev, func(e string) bool { return strings.HasPrefix(e, "MAIL FROM") }) {
		t.Fatalf("the client sent MAIL FROM for a message over the limit: %v", ev)
	}

	msg := "Subject: small\r\n\r\nfits\r\n"
	if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Size: int64(len(msg))}, strings.NewReader(msg)); err != nil {
		t.Fatalf("a message within the limit: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 || got[0].DeclaredSize != int64(len(msg)) || string(got[0].Data) != msg {
		t.Fatalf("received %+v, want one message with SIZE=%d", got, len(msg))
	}
}

func TestSizeUnknownIsNotDeclared(t *testing.T) {
	s := startServer(t, smtptest.Options{MaxMessageBytes: 1000})
	c := dial(t, endpoint(t, s, mail.None))
	if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := s.Messages(); len(got) != 1 || got[0].DeclaredSize != 0 {
		t.Fatalf("received %+v, want no SIZE=", got)
	}
}

func refuse(addrs map[string]string) func(string) error {
	return func(to string) error {
		if reply, ok := addrs[to]; ok {
			return smtptest.ParseReply(reply)
		}
		return nil
	}
}

func TestEveryRefusedRecipientIsReported(t *testing.T) {
	s := startServer(t, smtptest.Options{Rcpt: refuse(map[string]string{
		"nobody@example.net": "550 5.1.1 <nobody@example.net>: User unknown",
		"full@example.net":   "452 4.2.2 Mailbox full",
	})})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: alice, To: []string{"nobody@example.net", "bob@example.net", "full@example.net"}}
	rep, err := c.SendMessage(context.Background(), env, smtp.SendOptions{}, strings.NewReader("x\r\n"))
	want := "the SMTP server " + s.Addr() + " refused 2 of 3 recipients, so nothing was sent (--partial sends to the others): " +
		"nobody@example.net: 550 5.1.1 <nobody@example.net>: User unknown; full@example.net: 452 4.2.2 Mailbox full"
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
	var re *smtp.ReplyError
	if !errors.As(err, &re) || re.Code != 550 {
		t.Fatalf("errors.As(*ReplyError) = %v, want the first refusal", re)
	}
	if len(s.Messages()) != 0 {
		t.Fatal("a message was delivered although recipients were refused")
	}
	if len(rep.Accepted) != 1 || len(rep.Refused) != 2 {
		t.Fatalf("report %+v", rep)
	}
	// RSET left the session clean: the next message goes through.
	if err := c.Send(context.Background(), mail.Envelope{From: alice, To: []string{"bob@example.net"}}, strings.NewReader("y\r\n")); err != nil {
		t.Fatalf("send after the refusal: %v", err)
	}
	if got := s.Messages(); len(got) != 1 || !slices.Equal(got[0].To, []string{"bob@example.net"}) {
		t.Fatalf("received %+v", got)
	}
}

func TestPartialSendsToTheAcceptedRecipients(t *testing.T) {
	s := startServer(t, smtptest.Options{Rcpt: refuse(map[string]string{"nobody@example.net": "550 5.1.1 User unknown"})})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: alice, To: []string{"bob@example.net", "nobody@example.net", "carol@example.net"}}
	rep, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Partial: true}, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Accepted, []string{"bob@example.net", "carol@example.net"}) || len(rep.Refused) != 1 ||
		rep.Refused[0].Address != "nobody@example.net" || rep.Refused[0].Reply() != "550 5.1.1 User unknown" {
		t.Fatalf("report %+v", rep)
	}
	if got := s.Messages(); len(got) != 1 || !slices.Equal(got[0].To, rep.Accepted) {
		t.Fatalf("received %+v, want one message to the accepted recipients", got)
	}

	// Every recipient refused: nothing to send, even with Partial.
	_, err = c.SendMessage(context.Background(), mail.Envelope{From: alice, To: []string{"nobody@example.net"}}, smtp.SendOptions{Partial: true}, strings.NewReader("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "refused every recipient, so nothing was sent: nobody@example.net: 550 5.1.1 User unknown") {
		t.Fatalf("err = %v", err)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("a message was sent with every recipient refused")
	}
}

func TestEightBitMessageToAServerWithout8BITMIME(t *testing.T) {
	ep, cmds := scripted(t, "SIZE 10000000", "PIPELINING")
	c := dial(t, ep)
	env := mail.Envelope{From: alice, To: []string{"bob@example.net"}}
	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Body: smtp.Body8Bit}, strings.NewReader("Subject: caf\xc3\xa9\r\n\r\n\xc3\xa9\r\n"))
	if !errors.Is(err, smtp.ErrNo8BitMIME) || err.Error() != "the message has 8-bit octets but the SMTP server "+ep.Addr()+" does not take 8-bit mail (no 8BITMIME); re-encode its 8-bit parts as quoted-printable or base64" {
		t.Fatalf("err = %v", err)
	}
	if got := cmds(); hasPrefix(got, "MAIL") || hasPrefix(got, "DATA") {
		t.Fatalf("commands %q, want nothing after EHLO", got)
	}
	// A 7-bit message goes, without BODY=.
	if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Body: smtp.Body7Bit}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := cmds(); !slices.Contains(got, "MAIL FROM:<"+alice+">") {
		t.Fatalf("commands %q", got)
	}
}

func TestBodyDeclaration(t *testing.T) {
	s := startServer(t, smtptest.Options{})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: alice, To: []string{"bob@example.net"}}
	for _, b := range []smtp.Body{smtp.Body8Bit, smtp.Body7Bit, smtp.BodyUnknown} {
		if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Body: b}, strings.NewReader("\xc3\xa9\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Messages()
	if len(got) != 3 || got[0].Body != "8BITMIME" || got[1].Body != "" || got[2].Body != "8BITMIME" {
		t.Fatalf("received %+v, want BODY=8BITMIME, none, BODY=8BITMIME", got)
	}
	if string(got[0].Data) != "\xc3\xa9\r\n" {
		t.Fatalf("8-bit body arrived as %q", got[0].Data)
	}
}

func TestDSNParameters(t *testing.T) {
	s := startServer(t, smtptest.Options{DSN: true})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: "bounces@example.com", To: []string{"bob@example.net", "carol@example.net"}}
	opts := smtp.SendOptions{Notify: []string{"SUCCESS", "FAILURE"}, Return: "HDRS"}
	if _, err := c.SendMessage(context.Background(), env, opts, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()
	if len(got) != 1 || got[0].Return != "HDRS" || !slices.Equal(got[0].Notify, []string{"SUCCESS,FAILURE", "SUCCESS,FAILURE"}) || got[0].From != "bounces@example.com" {
		t.Fatalf("received %+v, want RET=HDRS, NOTIFY=SUCCESS,FAILURE on each RCPT and the envelope sender", got)
	}
}

func TestDSNToAServerWithoutDSN(t *testing.T) {
	s := startServer(t, smtptest.Options{})
	c := dial(t, endpoint(t, s, mail.None))
	env := mail.Envelope{From: alice, To: []string{"bob@example.net"}}
	for _, opts := range []smtp.SendOptions{{Notify: []string{"NEVER"}}, {Return: "FULL"}} {
		_, err := c.SendMessage(context.Background(), env, opts, strings.NewReader("x\r\n"))
		if !errors.Is(err, smtp.ErrNoDSN) || err.Error() != "the SMTP server "+s.Addr()+" does not offer DSN, so it cannot send the delivery notifications asked for; send without --dsn" {
			t.Fatalf("%+v: err = %v", opts, err)
		}
	}
	if ev := s.Events(); slices.ContainsFunc(ev, func(e string) bool { return strings.HasPrefix(e, "MAIL FROM") }) {
		t.Fatalf("events %v, want no MAIL FROM", ev)
	}
}

func TestParseNotifyAndReturn(t *testing.T) {
	for in, want := range map[string]string{"success,failure": "SUCCESS,FAILURE", " Delay ": "DELAY", "never": "NEVER", "failure,failure": "FAILURE"} {
		got, err := smtp.ParseNotify(in)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseNotify(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"never,success": "never cannot be combined", "sucess": `"sucess" is not a notification`, "": `"" is not a notification`} {
		if _, err := smtp.ParseNotify(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseNotify(%q) err = %v, want %q", in, err, want)
		}
	}
	if v, err := smtp.ParseReturn("hdrs"); v != "HDRS" || err != nil {
		t.Errorf("ParseReturn(hdrs) = %q, %v", v, err)
	}
	if _, err := smtp.ParseReturn("headers"); err == nil {
		t.Error("ParseReturn(headers) took it")
	}
}

func TestMeasureOnlyWhenTheServerAnnouncesSIZE(t *testing.T) {
	env := mail.Envelope{From: alice, To: []string{"bob@example.net"}}
	msg := "Subject: measured\r\n\r\nx\r\n"
	calls := 0
	measure := func() (int64, error) { calls++; return int64(len(msg)), nil }

	plain := startServer(t, smtptest.Options{})
	c := dial(t, endpoint(t, plain, mail.None))
	if _, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Measure: measure}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("measured %d times for a server without a SIZE limit", calls)
	}

	limited := startServer(t, smtptest.Options{MaxMessageBytes: 20})
	c = dial(t, endpoint(t, limited, mail.None))
	_, err := c.SendMessage(context.Background(), env, smtp.SendOptions{Measure: measure}, mustNotRead{t})
	if calls != 1 || !errors.Is(err, smtp.ErrTooLarge) || err.Error() != fmt.Sprintf("the message is %d octets but the SMTP server %s takes at most 20 octets", len(msg), limited.Addr()) {
		t.Fatalf("calls %d, err = %v", calls, err)
	}
	_, err = c.SendMessage(context.Background(), env, smtp.SendOptions{Measure: func() (int64, error) { return 0, errors.New("attachment gone") }}, mustNotRead{t})
	if err == nil || err.Error() != "measure the message: attachment gone" {
		t.Fatalf("err = %v", err)
	}
}
