package connect

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/config"
)

// TestDialFailureIsANilInbound: a failed Dial returns an interface that
// is nil, not one holding a nil *Client, so a caller's `if in != nil {
// in.Close() }` does not panic. One IMAP, one POP3 account on a port that
// greets in the other protocol, and one on a closed port.
func TestDialFailureIsANilInbound(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := config.New("")
	o := &Opener{Config: cfg, Timeout: time.Second}
	for _, tc := range []struct {
		proto string
		port  int
	}{{config.IMAP, port}, {config.POP3, port}, {config.IMAP, closedPort}, {config.POP3, closedPort}} {
		name := tc.proto + strconv.Itoa(tc.port)
		cfg.Accounts[name] = &config.Account{Enabled: true, Type: config.Inbound, Protocol: tc.proto, Host: "127.0.0.1", Port: tc.port,
			Encryption: config.None, Auth: config.AuthBasic, Login: "a"}
		in, err := o.Dial(context.Background(), name)
		if err == nil {
			t.Fatalf("%s: Dial succeeded", name)
		}
		if in != nil {
			t.Errorf("%s: Dial failed (%v) but returned a non-nil %T", name, err, in)
		}
	}
}
