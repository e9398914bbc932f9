package pop3

import (
	"context"
	"net"
	"sync"
	"time"
)

// deadlineConn gives every read and write its own deadline, one step timeout
// from when it starts, so a large message keeps streaming as long as bytes
// arrive while a silent server is noticed within the timeout. It also lets a
// context interrupt a blocked read or write.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu       sync.Mutex
	canceled error // the context error that interrupted the connection
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	if err := d.arm(d.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := d.Conn.Read(p)
	if err != nil {
		err = d.cause(err)
	}
	return n, err
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if err := d.arm(d.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	n, err := d.Conn.Write(p)
	if err != nil {
		err = d.cause(err)
	}
	return n, err
}

// arm sets a fresh deadline unless a context already interrupted the
// connection; the lock orders it against interrupt so a cancellation is
// never overwritten by a later deadline.
func (d *deadlineConn) arm(set func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.canceled != nil {
		return d.canceled
	}
	return set(time.Now().Add(d.timeout))
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
