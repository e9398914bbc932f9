package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("220 mx.example.com ESMTP\r\n"))
	f.Add([]byte("250-mx.example.com\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"))
	f.Add([]byte("250\n334 \r\n"))
	f.Add([]byte("250-a\r\n550 b\r\n"))
	f.Add([]byte("* OK IMAP4rev1\r\n"))
	f.Add([]byte(strings.Repeat("250-x\r\n", 1001) + "250 y\r\n"))
	f.Add(bytes.Repeat([]byte("x"), maxLine+10))
	f.Fuzz(func(t *testing.T, wire []byte) {
		br := bufio.NewReader(bytes.NewReader(wire))
		for {
			code, msg, err := readReply(br)
			if err != nil {
				var re *replyError
				if errors.As(err, &re) && re.kind == nil {
					t.Fatalf("a reply error without a kind: %v", err)
				}
				return
			}
			if code < 200 || code > 599 {
				t.Fatalf("code %d accepted", code)
			}
			if len(msg) > maxReply || strings.Count(msg, "\n") >= maxReplyLines {
				t.Fatalf("a reply of %d octets and %d lines passed the limits", len(msg), strings.Count(msg, "\n")+1)
			}
			if strings.Contains(msg, "\r\n") {
				t.Fatalf("a line end left in %q", msg)
			}
		}
	})
}

func TestReadReplyAgreesWithTheRFC(t *testing.T) {
	cases := []struct {
		wire string
		code int
		msg  string
		kind error
	}{
		{"220 mx ready\r\n", 220, "mx ready", nil},
		{"250-mx\r\n250-SIZE 100\r\n250 8BITMIME\r\n", 250, "mx\nSIZE 100\n8BITMIME", nil},
		{"250\r\n", 250, "", nil},
		{"354 go\n", 354, "go", nil},
		{"250-a\r\n551 b\r\n", 0, "", ErrBadReply},
		{"+OK\r\n", 0, "", ErrBadReply},
		{"099 low\r\n", 0, "", ErrBadReply},
		{"250x\r\n", 0, "", ErrBadReply},
		{strings.Repeat("250-x\r\n", 1000) + "250 y\r\n", 0, "", ErrReplyTooLong},
		{strings.Repeat("250-"+strings.Repeat("x", 60000)+"\r\n", 18) + "250 y\r\n", 0, "", ErrReplyTooLong},
		{"250 " + strings.Repeat("x", maxLine) + "\r\n", 0, "", ErrLineTooLong},
	}
	for _, tc := range cases {
		code, msg, err := readReply(bufio.NewReader(strings.NewReader(tc.wire)))
		name := tc.wire
		if len(name) > 30 {
			name = name[:30]
		}
		if tc.kind != nil {
			if !errors.Is(err, tc.kind) {
				t.Errorf("%q: got %v, want %v", name, err, tc.kind)
			}
			continue
		}
		if err != nil || code != tc.code || msg != tc.msg {
			t.Errorf("%q: got %d %q %v, want %d %q", name, code, msg, err, tc.code, tc.msg)
		}
	}
}
