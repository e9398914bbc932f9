package pop3

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
)

// fuzzClient is a client whose server sends wire (and which sends into
// nowhere).
func fuzzClient(wire []byte) *Client {
	c := &Client{
		ep:     mail.Endpoint{Host: "pop.example.com", Port: 110},
		dc:     &deadlineConn{timeout: time.Second},
		count:  -1,
		capsOK: true,
	}
	c.r = bufio.NewReaderSize(bytes.NewReader(wire), 64<<10)
	c.w = bufio.NewWriter(io.Discard)
	return c
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("+OK POP3 ready\r\n-ERR no\r\n"))
	f.Add([]byte("+OK bare LF\nno end"))
	f.Add([]byte("\r\r\n\n\x00\xff"))
	f.Add(bytes.Repeat([]byte("x"), maxLine+10))
	f.Fuzz(func(t *testing.T, wire []byte) {
		c := fuzzClient(wire)
		read := 0
		for {
			line, err := c.readLine("fuzz")
			if err != nil {
				if len(wire)-read > maxLine && !errors.Is(err, ErrLineTooLong) && bytes.IndexByte(wire[read:], '\n') > maxLine {
					t.Fatalf("a line of more than 64 KiB gave %v", err)
				}
				return
			}
			if len(line) > maxLine || strings.Contains(line, "\n") {
				t.Fatalf("readLine returned %d octets with a line end inside", len(line))
			}
			read += len(line) + 1
		}
	})
}

func FuzzReadMulti(f *testing.F) {
	f.Add([]byte("TOP\r\nUIDL\r\n..stuffed\r\n.\r\n"))
	f.Add([]byte("a\nb\n.\n"))
	f.Add([]byte("no terminator\r\n"))
	f.Add([]byte(strings.Repeat("x\r\n", 60) + ".\r\n"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		c := fuzzClient(wire)
		n := 0
		err := c.readMulti("CAPA", 50, "CAPA reply", func(line string) error {
			n++
			if strings.ContainsAny(line, "\n") || len(line) > maxLine {
				t.Fatalf("a line of %d octets with a line end inside", len(line))
			}
			return nil
		})
		if n > 50 {
			t.Fatalf("%d lines passed the limit of 50", n)
		}
		if err == nil && !bytes.Contains(append([]byte("\n"), wire...), []byte("\n.\n")) && !bytes.Contains(append([]byte("\n"), wire...), []byte("\n.\r\n")) {
			t.Fatalf("a reply without a terminator was accepted")
		}
	})
}

// stuff encodes body as a POP3 multi-line block.
func stuff(body []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
	}
	return append(b.Bytes(), ".\r\n"...)
}

func FuzzDotReader(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.\r\n..\r\nbody\r\n"))
	f.Add([]byte("a\nb\n"))
	f.Add([]byte(".\r"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		// Whatever the server sends, the reader ends without panic and
		// never hands out more than it read.
		d := newDotReader(bufio.NewReaderSize(bytes.NewReader(body), 16), func(err error) error { return err })
		got, _ := io.ReadAll(d)
		if len(got) > len(body) {
			t.Fatalf("%d octets out of %d in", len(got), len(body))
		}
		// A message made of whole lines comes back byte for byte.
		if len(body) > 0 && body[len(body)-1] != '\n' {
			return
		}
		wire := append(stuff(body), "+OK next\r\n"...)
		br := bufio.NewReaderSize(bytes.NewReader(wire), 16)
		d = newDotReader(br, func(err error) error { return err })
		got, err := io.ReadAll(d)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("got %q, want %q", got, body)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "+OK next\r\n" {
			t.Fatalf("after the block: %q", rest)
		}
	})
}

func FuzzListing(f *testing.F) {
	f.Add([]byte("1 abc\r\n2 def\r\n.\r\n"), []byte("1 100\r\n2 200\r\n.\r\n"))
	f.Add([]byte("1 abc\r\n2 abc\r\n3 abc\r\n.\r\n"), []byte("1 100\r\n2 100\r\n3 -5\r\n.\r\n"))
	f.Add([]byte("1 abc#2.100\r\n2 abc\r\n3 abc\r\n.\r\n"), []byte("1 1\r\n3 100\r\n.\r\n"))
	f.Add([]byte("0 x\r\n.\r\n"), []byte(".\r\n"))
	f.Add([]byte("1 a\r\n1 b\r\n.\r\n"), []byte("1 99999999999999999999999\r\n.\r\n"))
	f.Fuzz(func(t *testing.T, uidl, list []byte) {
		wire := append(append(append([]byte("+OK\r\n"), uidl...), "+OK\r\n"...), list...)
		c := fuzzClient(wire)
		if err := c.load(context.Background()); err != nil {
			return
		}
		// Every listed message is reachable under an id of its own.
		byNum := map[int]string{}
		for id, n := range c.nums {
			if prev, dup := byNum[n]; dup {
				t.Fatalf("ids %q and %q both name message %d", prev, id, n)
			}
			byNum[n] = id
		}
		entries := 0
		for _, l := range strings.Split(string(uidl), "\n") {
			if strings.TrimRight(l, "\r") == "." {
				break
			}
			entries++
		}
		if len(c.nums) != entries {
			t.Fatalf("%d ids for %d UIDL lines", len(c.nums), entries)
		}
		for _, s := range c.sizes {
			if s < 0 {
				t.Fatalf("negative size %d", s)
			}
		}
	})
}
