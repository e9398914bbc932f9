package pop3

import (
	"context"
	"net"
	"sync"
	"time"
)

// deadlineConn bounds the time the client waits for the server, in two
// ways (see "Timeouts" in the package documentation):
//
//   - every read and write must make progress within one step timeout, so
//     a silent server is noticed in time;
//   - while a reply is awaited (a status line, a CAPA or UIDL listing, an
//     AUTH continuation), the whole reply must also arrive within one step
//     timeout of when the client started waiting for it. Progress cannot
//     extend that: a server that floods or trickles a reply forever is cut
//     off at the reply deadline.
//
// A message body is different: it may be large and the line slow, so it
// has no reply deadline (streamBody lifts it). Instead every step timeout
// window of the body must bring at least minProgress octets: an honest
// server on any real line does, while one that drips a byte now and then
// to keep an idle timeout at bay is cut off after one window.
//
// It also lets a context interrupt a blocked read or write.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu       sync.Mutex
	canceled error     // the context error that interrupted the connection
	replyEnd time.Time // zero while streaming a body
	got      int64     // octets read since the current reply was awaited
	last     time.Time // when the last octet arrived

	// While a body streams, its windows count only the time spent
	// waiting for the server, not the time the caller takes with what it
	// got (writing it to disk), so a slow disk is never blamed on the
	// server.
	streaming bool          // a message body is being read
	winWait   time.Duration // time spent waiting in the current window
	winGot    int64         // octets of the body in the current window
	slow      bool          // a window ended with too little
}

// minProgress is the least a message body must bring in every step
// timeout window (about 1.6 KB/s at the default 10 s timeout).
const minProgress = 16_000

func (d *deadlineConn) Read(p []byte) (int, error) {
	start := time.Now()
	if err := d.arm(d.Conn.SetReadDeadline, true); err != nil {
		return 0, err
	}
	n, err := d.Conn.Read(p)
	d.mu.Lock()
	d.got += int64(n)
	now := time.Now()
	if n > 0 {
		d.last = now
	}
	if d.streaming {
		d.winGot += int64(n)
		d.winWait += now.Sub(start)
		if d.winWait >= d.timeout {
			d.slow = d.winGot < minProgress
			if !d.slow {
				d.winWait, d.winGot = 0, 0
			}
		}
	}
	d.mu.Unlock()
	if err != nil {
		err = d.cause(err)
	}
	return n, err
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if err := d.arm(d.Conn.SetWriteDeadline, false); err != nil {
		return 0, err
	}
	n, err := d.Conn.Write(p)
	if err != nil {
		err = d.cause(err)
	}
	return n, err
}

// awaitReply starts the reply deadline: what the server sends next must
// be complete within one step timeout from now.
func (d *deadlineConn) awaitReply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replyEnd, d.got = time.Now().Add(d.timeout), 0
	d.streaming, d.slow = false, false
}

// clearReply lifts the reply deadline for a message body or a TLS
// handshake (which has its own timeout); only the
// per-read timeout applies until the next awaitReply.
func (d *deadlineConn) clearReply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replyEnd = time.Time{}
}

// streamBody lifts the reply deadline for a message body and starts its
// first progress window.
func (d *deadlineConn) streamBody() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replyEnd, d.got = time.Time{}, 0
	d.streaming, d.slow, d.winWait, d.winGot = true, false, 0, 0
}

// tooSlow reports, after a timeout while streaming a body, whether the
// window ran out with too little progress (rather than the server falling
// silent), and what the window brought.
func (d *deadlineConn) tooSlow() (slow bool, got int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.streaming && d.slow, d.winGot
}

// replyState reports, after a timeout, whether the reply deadline (rather
// than a silent read) ended the wait, how many octets arrived since the
// reply was first awaited, and for how long nothing has arrived.
func (d *deadlineConn) replyState() (overall bool, got int64, silent time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	silent = time.Since(d.last)
	if d.replyEnd.IsZero() {
		return false, d.got, silent
	}
	// A read that started just before the reply deadline may have been
	// armed with it; allow for the timer's granularity.
	return !time.Now().Add(time.Millisecond).Before(d.replyEnd), d.got, silent
}

// arm sets a fresh deadline unless a context already interrupted the
// connection; the lock orders it against interrupt so a cancellation is
// never overwritten by a later deadline. Reads never go past the reply
// deadline.
func (d *deadlineConn) arm(set func(time.Time) error, read bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.canceled != nil {
		return d.canceled
	}
	now := time.Now()
	t := now.Add(d.timeout)
	if read && !d.replyEnd.IsZero() && d.replyEnd.Before(t) {
		t = d.replyEnd
	}
	if read && d.streaming && d.winGot < minProgress {
		// What is left of the window's waiting time.
		t = now.Add(max(d.timeout-d.winWait, 0))
	}
	return set(t)
}

// cause reports the context error instead of the deadline error it provoked.
func (d *deadlineConn) cause(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.canceled != nil {
		return d.canceled
	}
	return err
}

// bind makes ctx interrupt the connection until release is called. If the
// context ended during the call but the call finished cleanly (clean is
// true), the connection is usable again.
func (d *deadlineConn) bind(ctx context.Context) (release func(clean bool)) {
	if ctx.Done() == nil {
		return func(bool) {}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		d.mu.Lock()
		defer d.mu.Unlock()
		d.canceled = ctx.Err()
		d.Conn.SetDeadline(time.Unix(1, 0)) // wake any blocked read or write now
	})
	return func(clean bool) {
		if stop() {
			return
		}
		<-fired
		if clean {
			d.mu.Lock()
			d.canceled = nil
			d.mu.Unlock()
		}
	}
}
