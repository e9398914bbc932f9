// Package fetchtest holds test helpers for fetch: a TCP proxy that cuts a
// connection after a number of bytes, and an in-memory mail.Inbound whose
// ids, validity and failures a test chooses.
package fetchtest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to a target. While CutAfter is positive,
// the connection it applies to is closed, both ways, once that many bytes
// went from the server to the client: a connection lost mid-message.
type Proxy struct {
	ln     net.Listener
	target string
	// cutAfter applies to the next connection only; 0 means never.
	cutAfter atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	cuts     atomic.Int64
}

// NewProxy listens on 127.0.0.1 and forwards to target until the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.Close)
	return p
}

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// CutNextAfter makes the next connection break after n bytes from the server.
func (p *Proxy) CutNextAfter(n int64) { p.cutAfter.Store(n) }

// Cuts is how many connections the proxy broke on purpose.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

// Close stops the proxy and every connection through it.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		limit := p.cutAfter.Swap(0)
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			io.Copy(s, c)
			s.Close()
		}()
		go func() {
			defer p.wg.Done()
			defer c.Close()
			defer s.Close()
			if limit <= 0 {
				io.Copy(c, s)
				return
			}
			n, _ := io.CopyN(c, s, limit)
			if n == limit {
				p.cuts.Add(1)
			}
		}()
	}
}
