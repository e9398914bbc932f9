package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func decodeAll(t *testing.T, wire string, wrap func(io.Reader) io.Reader) (string, string) {
	t.Helper()
	r := bufio.NewReaderSize(wrap(strings.NewReader(wire)), 16)
	d := newDotReader(r, func(err error) error { return err })
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	rest, _ := io.ReadAll(r)
	return string(got), string(rest)
}

func TestDotReaderUndoesStuffingOnly(t *testing.T) {
	cases := []struct{ name, wire, want string }{
		{"empty", ".\r\n", ""},
		{"plain", "a\r\nb\r\n.\r\n", "a\r\nb\r\n"},
		{"stuffed dot line", "..\r\n.\r\n", ".\r\n"},
		{"stuffed two dots", "...\r\n.\r\n", "..\r\n"},
		{"dot text", "..hidden\r\nx\r\n.\r\n", ".hidden\r\nx\r\n"},
		{"dot then CR not LF", "..\rx\r\n.\r\n", ".\rx\r\n"},
		{"bare LF lines", "a\n..b\n.\n", "a\n.b\n"},
		{"long line", strings.Repeat("x", 10000) + "\r\n.\r\n", strings.Repeat("x", 10000) + "\r\n"},
		{"8-bit", "\xff\xfe\x80caf\xc3\xa9\x00\r\n.\r\n", "\xff\xfe\x80caf\xc3\xa9\x00\r\n"},
		{"dot mid-line", "a.\r\n.b.\r\n.\r\n", "a.\r\nb.\r\n"},
	}
	wraps := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tc := range cases {
		for wname, wrap := range wraps {
			got, rest := decodeAll(t, tc.wire+"+OK next\r\n", wrap)
			if got != tc.want {
				t.Errorf("%s/%s: got %q, want %q", tc.name, wname, got, tc.want)
			}
			if rest != "+OK next\r\n" {
				t.Errorf("%s/%s: after the block the stream holds %q, want the next reply", tc.name, wname, rest)
			}
		}
	}
}

func TestDotReaderIsAWellBehavedReader(t *testing.T) {
	body := "Subject: x\r\n\r\n.\r\n..\r\n" + strings.Repeat("y", 5000) + "\r\nend\r\n"
	var wire bytes.Buffer
	for _, line := range strings.SplitAfter(body, "\r\n") {
		if strings.HasPrefix(line, ".") {
			wire.WriteByte('.')
		}
		wire.WriteString(line)
	}
	wire.WriteString(".\r\n")
	d := newDotReader(bufio.NewReaderSize(bytes.NewReader(wire.Bytes()), 64), func(err error) error { return err })
	if err := iotest.TestReader(d, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func TestDotReaderReportsATruncatedMessage(t *testing.T) {
	for _, wire := range []string{"abc\r\n", "abc", "abc\r\n.", "abc\r\n.\r"} {
		d := newDotReader(bufio.NewReader(strings.NewReader(wire)), func(err error) error { return err })
		_, err := io.ReadAll(d)
		if !errors.Is(err, errTruncated) {
			t.Errorf("%q: got %v, want %v", wire, err, errTruncated)
		}
	}
}
