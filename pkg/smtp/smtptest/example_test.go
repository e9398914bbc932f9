package smtptest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/smtp"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// A STARTTLS submission server with one password user and XOAUTH2, used
// the way `mailport demo` and the diagnosis tests use it.
func Example() {
	s, err := smtptest.Start(smtptest.Options{
		Security: smtptest.StartTLS,
		Users:    map[string]string{"demo@example.com": "demo-password"},
		Token: func(user, token string) error {
			if token != "demo-token" {
				return fmt.Errorf("unknown token")
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ca, err := s.CAFile()
	if err != nil {
		fmt.Println(err)
		return
	}
	ep := mail.Endpoint{Host: s.Host(), Port: s.Port(), Encryption: mail.StartTLS, CAFile: ca}
	c, err := smtp.Dial(context.Background(), ep)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	creds := mail.Credentials{Kind: mail.AuthOAuth2, Username: "demo@example.com",
		Token: func(context.Context) (string, error) { return "demo-token", nil }}
	if err := c.Authenticate(context.Background(), creds); err != nil {
		fmt.Println(err)
		return
	}
	msg := "Subject: hello\r\n\r\nHello from the demo.\r\n"
	if err := c.Send(context.Background(), mail.Envelope{From: "demo@example.com", To: []string{"you@example.net"}}, strings.NewReader(msg)); err != nil {
		fmt.Println(err)
		return
	}
	m := s.Messages()[0]
	fmt.Printf("%s via %s → %v, %d octets\n", m.User, m.Mechanism, m.To, m.Size)

	// The failure switch makes the next login fail like Exchange Online.
	s.RefuseAuth(smtptest.ReplyTenantDisabled)
	c2, err := smtp.Dial(context.Background(), ep)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c2.Close()
	fmt.Println(c2.Authenticate(context.Background(), creds))
	// Output:
	// demo@example.com via XOAUTH2 → [you@example.net], 40 octets
	// XOAUTH2 authentication refused: 535 5.7.139 Authentication unsuccessful, SMTP AUTH is disabled for the tenant.
}

func TestCAFileRemovedOnClose(t *testing.T) {
	s, err := smtptest.Start(smtptest.Options{Security: smtptest.ImplicitTLS})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := s.CAFile()
	if err != nil {
		t.Fatal(err)
	}
	if pem, err := os.ReadFile(ca); err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file %s: %v", ca, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ca); !os.IsNotExist(err) {
		t.Errorf("CA file still there after Close: %v", err)
	}
}

func TestParseReply(t *testing.T) {
	e := smtptest.ParseReply(smtptest.ReplyTenantDisabled)
	if e.Code != 535 || e.EnhancedCode != [3]int{5, 7, 139} || e.Message != "Authentication unsuccessful, SMTP AUTH is disabled for the tenant." {
		t.Errorf("ParseReply = %+v", e)
	}
	if e := smtptest.ParseReply("451 try later"); e.Code != 451 || e.Message != "try later" {
		t.Errorf("ParseReply without enhanced code = %+v", e)
	}
}
