// Package hostile runs scripted servers that misbehave on purpose: wrong
// protocol on the port, endless lines, floods, trickles, stalls, huge
// literals and listings. Each protocol adapter's tests point mailport at
// one of them and assert the named error, the time it took and a memory
// ceiling, so that a server on the internet can never make mailport panic,
// hang or grow without bound.
//
// A Server is a loopback listener that hands every connection to a script
// (a func(net.Conn)). The helpers below are the building blocks of those
// scripts; each one stops as soon as the client goes away or the server
// is closed, so a test never leaks a goroutine that writes forever.
package hostile

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/internal/heapmeter"
	"github.com/mailport/mailport/internal/testcert"
)

// Script is what a Server does with one connection. The connection is
// closed when the script returns.
type Script func(c net.Conn)

// Server is a scripted loopback server.
type Server struct {
	Host string // 127.0.0.1
	Port int
	// CAFile is the PEM file of the CA that signed the server's
	// certificate (TLS servers only), for an account's tls_ca_file.
	CAFile string

	ln     net.Listener
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Done is closed when the server is closing; long-running scripts select
// on it.
func (s *Server) Done() <-chan struct{} { return s.done }

// Start serves script in plain text on a free loopback port until the
// test ends.
func Start(t testing.TB, script Script) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: listen: %v", err)
	}
	return serve(t, ln, script, "")
}

// StartTLS serves script behind implicit TLS with a certificate for
// 127.0.0.1 and localhost, signed by a CA written to Server.CAFile.
func StartTLS(t testing.TB, script Script) *Server {
	t.Helper()
	cfg, caFile := TLSConfig(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("hostile: listen: %v", err)
	}
	return serve(t, ln, script, caFile)
}

// TLSConfig is a server TLS configuration for 127.0.0.1 and localhost,
// and the path of its CA's PEM file (in t.TempDir()), for scripts that
// upgrade a plain connection themselves (STARTTLS).
func TLSConfig(t testing.TB) (*tls.Config, string) {
	t.Helper()
	set, err := testcert.New("hostile")
	if err != nil {
		t.Fatalf("hostile: certificate: %v", err)
	}
	caFile := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(caFile, set.CAPEM, 0o600); err != nil {
		t.Fatalf("hostile: write CA: %v", err)
	}
	return set.ServerConfig(), caFile
}

func serve(t testing.TB, ln net.Listener, script Script, caFile string) *Server {
	s := &Server{
		Host:   "127.0.0.1",
		Port:   ln.Addr().(*net.TCPAddr).Port,
		CAFile: caFile,
		ln:     ln,
		done:   make(chan struct{}),
		conns:  map[net.Conn]struct{}{},
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				c.Close()
				return
			}
			s.conns[c] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				defer func() {
					c.Close()
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
				}()
				script(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting, closes every open connection and waits for the
// scripts to return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Lines reads the client's lines (CRLF or LF ended, at most 64 KiB each)
// from c; it returns a reader for scripts that answer command by command.
func Lines(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }

// ReadLine returns the client's next line without its line end; ok is
// false when the client went away.
func ReadLine(br *bufio.Reader) (line string, ok bool) {
	b, err := br.ReadSlice('\n')
	if err != nil {
		return "", false
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b), true
}

// Flood writes chunk to c again and again until the client goes away or
// the server closes. A chunk without a newline makes an endless line.
func Flood(c net.Conn, chunk []byte) {
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// Trickle writes chunk every interval until the client goes away or the
// server closes: a peer that is never silent long enough for an idle
// timeout, yet never finishes.
func Trickle(s *Server, c net.Conn, chunk []byte, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := c.Write(chunk); err != nil {
			return
		}
		select {
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

// Stall keeps c open and silent until the client goes away or the server
// closes; what the client sends is read and dropped.
func Stall(s *Server, c net.Conn) {
	go io.Copy(io.Discard, c)
	<-s.done
}

// HeapCeiling is the most the heap may grow while mailport deals with a
// hostile server.
const HeapCeiling = 64 << 20

// Bounded runs fn, a client's dealings with a hostile server, and fails
// t when it took longer than limit or grew the heap by HeapCeiling or
// more; it logs both figures and returns fn's error for the caller's
// assertions on the words.
func Bounded(t testing.TB, limit time.Duration, fn func() error) error {
	t.Helper()
	var err error
	var took time.Duration
	grew := heapmeter.Peak(func() {
		start := time.Now()
		err = fn()
		took = time.Since(start)
	})
	t.Logf("%v after %v, heap +%d KB", err, took.Round(time.Millisecond), grew>>10)
	if took > limit {
		t.Errorf("it took %v to give up; want at most %v", took, limit)
	}
	if grew >= HeapCeiling {
		t.Errorf("the heap grew by %d MB; want under %d MB", grew>>20, HeapCeiling>>20)
	}
	return err
}
