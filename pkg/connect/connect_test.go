package connect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/imap/imaptest"
	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/secret"
)

func TestEndpointFromAccount(t *testing.T) {
	o := &Opener{}
	a := &config.Account{Protocol: config.POP3, Host: "pop.example.com", Encryption: config.SSL,
		Properties: map[string]string{PropTLSCAFile: "/ca.pem", PropAllowPlaintextAuth: "true", "pop3.xoauth2.two_line": "false"}}
	ep, err := o.Endpoint(a)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Port != 995 || ep.CAFile != "/ca.pem" || !ep.AllowPlaintextAuth || ep.InsecureSkipVerify || ep.Properties["pop3.xoauth2.two_line"] != "false" || ep.Encryption != mail.SSL {
		t.Fatalf("endpoint %+v", ep)
	}
}

func TestBasicAccountWithoutPasswordSaysHowToSetIt(t *testing.T) {
	o := &Opener{Secrets: &secret.Resolver{Store: secret.NewMemory(), Getenv: func(string) string { return "" }}}
	_, err := o.Credentials("ci-box", &config.Account{Auth: config.AuthBasic, Login: "ci@example.com"})
	var np *NoPasswordError
	if !errors.As(err, &np) || !strings.Contains(err.Error(), "MAILPORT_PASSWORD_CI_BOX") {
		t.Fatalf("got %v", err)
	}
}

func TestInboundConnectsAndAuthenticatesFromConfig(t *testing.T) {
	srv := imaptest.Start(t, imaptest.Config{Encryption: "ssl"})
	srv.AddUser("in@example.com", "pw")
	ep := srv.Endpoint()
	store := secret.NewMemory()
	store.Set(secret.PasswordKey("in"), "pw")
	cfg := config.New("")
	cfg.Accounts["in"] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: config.IMAP, Host: ep.Host, Port: ep.Port,
		Encryption: config.SSL, Auth: config.AuthBasic, Login: "in@example.com", Properties: map[string]string{PropTLSCAFile: srv.CAFile()}}
	o := &Opener{Config: cfg, Secrets: &secret.Resolver{Store: store, Getenv: func(string) string { return "" }}}
	in, err := o.Inbound(context.Background(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Open(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	store.Set(secret.PasswordKey("in"), "wrong")
	_, err = o.Inbound(context.Background(), "in")
	if !IsAuthFailure(err) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := o.Outbound(context.Background(), "in"); err == nil || !strings.Contains(err.Error(), "inbound account") {
		t.Fatalf("outbound on inbound account: %v", err)
	}
}
