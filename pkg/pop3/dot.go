package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// dotReader streams one dot-terminated multi-line block (RFC 1939 section
// 3): it removes the stuffed dot at the start of a line and ends at the
// line ".". Everything else passes through as the server sent it: CRLF
// stays CRLF, lines of any length stay whole, 8-bit octets are untouched.
// It never holds more than what the bufio.Reader buffers.
type dotReader struct {
	r         *bufio.Reader
	lineStart bool
	n         int64 // octets delivered
	err       error // sticky: io.EOF at the terminator, or the read error
	onErr     func(error) error
	// max, when above 0, bounds the octets delivered: past it the reader
	// fails with tooLong's error instead of streaming on.
	max     int64
	tooLong func(n int64) error
}

func newDotReader(r *bufio.Reader, onErr func(error) error) *dotReader {
	return &dotReader{r: r, lineStart: true, onErr: onErr}
}

// errTruncated means the connection ended inside a message.
var errTruncated = errors.New("the connection ended in the middle of a message")

func (d *dotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && d.err == nil {
		if d.lineStart {
			// A terminator needs up to three octets; with data already in
			// hand, return it rather than block waiting for them.
			if n > 0 && d.r.Buffered() < 3 {
				break
			}
			b, err := d.r.Peek(1)
			if err != nil {
				d.setErr(err)
				break
			}
			if b[0] == '.' {
				if b, err = d.r.Peek(2); err != nil {
					d.setErr(err)
					break
				}
				if b[1] == '\n' { // ".\n": a server that ends lines with LF only
					d.r.Discard(2)
					d.err = io.EOF
					break
				}
				if b[1] == '\r' {
					if b, err = d.r.Peek(3); err != nil {
						d.setErr(err)
						break
					}
					if b[2] == '\n' {
						d.r.Discard(3)
						d.err = io.EOF
						break
					}
				}
				d.r.Discard(1) // the stuffed dot
			}
			d.lineStart = false
			continue
		}
		if d.r.Buffered() == 0 {
			if n > 0 {
				break
			}
			if _, err := d.r.Peek(1); err != nil {
				d.setErr(err)
				break
			}
		}
		chunk, _ := d.r.Peek(min(d.r.Buffered(), len(p)-n))
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk = chunk[:i+1]
			d.lineStart = true
		}
		m := copy(p[n:], chunk)
		d.r.Discard(m)
		n += m
	}
	d.n += int64(n)
	if d.max > 0 && d.n > d.max && d.err == nil {
		d.err = d.tooLong(d.max)
	}
	if n > 0 {
		return n, nil
	}
	return 0, d.err
}

func (d *dotReader) setErr(err error) {
	if err == io.EOF {
		err = errTruncated
	}
	d.err = d.onErr(err)
}
