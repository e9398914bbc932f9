package pop3test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawSession speaks raw POP3 to s so the server's wire format is checked
// independently of the client in the parent package.
func rawSession(t *testing.T, s *Server) (send func(string), recv func() string) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	send = func(line string) { fmt.Fprintf(conn, "%s\r\n", line) }
	recv = func() string {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return line
	}
	if g := recv(); g != "+OK pop3test ready.\r\n" {
		t.Fatalf("greeting %q", g)
	}
	return send, recv
}

func TestWireFormat(t *testing.T) {
	s := NewServer(t, Options{Users: map[string]string{"u": "p"}})
	s.AddMessage([]byte("A\r\n.B\r\n.\r\nno final break"))
	send, recv := rawSession(t, s)
	send("USER u\r\nPASS p\r\nRETR 1") // one write: pipelined
	want := []string{"+OK\r\n", "+OK Logged in.\r\n", "+OK 24 octets\r\n", "A\r\n", "..B\r\n", "..\r\n", "no final break\r\n", ".\r\n"}
	for _, w := range want {
		if got := recv(); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	if s.Stats().Pipelined != 2 {
		t.Errorf("Pipelined = %d, want 2 (PASS and RETR came before the replies)", s.Stats().Pipelined)
	}
	send("DELE 1")
	recv()
	if len(s.Messages()) != 1 {
		t.Error("DELE removed the message before QUIT")
	}
	send("QUIT")
	recv()
	time.Sleep(50 * time.Millisecond)
	if len(s.Messages()) != 0 {
		t.Error("QUIT did not remove the message marked for deletion")
	}
}

func TestXOAUTH2Forms(t *testing.T) {
	ir := base64.StdEncoding.EncodeToString([]byte("user=u\x01auth=Bearer tok\x01\x01"))
	s := NewServer(t, Options{RefuseOneLineXOAUTH2: true, XOAUTH2Challenge: true,
		ValidToken: func(u, tok string) bool { return u == "u" && tok == "tok" }})
	send, recv := rawSession(t, s)
	send("AUTH XOAUTH2 " + ir)
	if got := recv(); got != "-ERR Protocol error\r\n" {
		t.Fatalf("one-line form: %q", got)
	}
	send("AUTH XOAUTH2")
	recv()
	send(base64.StdEncoding.EncodeToString([]byte("user=u\x01auth=Bearer bad\x01\x01")))
	if got := recv(); got != "+ "+base64.StdEncoding.EncodeToString([]byte(Challenge))+"\r\n" {
		t.Fatalf("challenge: %q", got)
	}
	send("")
	if got := recv(); got != "-ERR [AUTH] Authentication failed.\r\n" {
		t.Fatalf("refusal: %q", got)
	}
	send("AUTH XOAUTH2")
	if got := recv(); got != "+ \r\n" {
		t.Fatalf("continuation: %q", got)
	}
	send(ir)
	if got := recv(); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("two-line form: %q", got)
	}
}
