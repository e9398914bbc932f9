package hostile

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestScriptsEndWithTheServer(t *testing.T) {
	srv := Start(t, func(c net.Conn) { Flood(c, []byte("* junk without end ")) })
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<16)
	if _, err := io.ReadAtLeast(c, buf, 1000); err != nil {
		t.Fatalf("flood: %v", err)
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop a flooding script")
	}
}

func TestStartTLSIsTrustedThroughCAFile(t *testing.T) {
	srv := StartTLS(t, func(c net.Conn) { c.Write([]byte("+OK hello\r\n")) })
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to the hostile server: %v", err)
	}
	defer c.Close()
	line, ok := ReadLine(Lines(c))
	if !ok || line != "+OK hello" {
		t.Fatalf("read %q, %v", line, ok)
	}
}
