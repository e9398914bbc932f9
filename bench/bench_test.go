package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateIsDeterministicAndHasTheHardParts(t *testing.T) {
	var a, b bytes.Buffer
	if err := Generate(&a, 7, 42, 0); err != nil {
		t.Fatal(err)
	}
	if err := Generate(&b, 7, 42, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed and index gave different messages")
	}
	var c bytes.Buffer
	if err := Generate(&c, 8, 42, 0); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("another seed gave the same message")
	}

	// Over a set, every feature the peers stumble on must occur, and the
	// sizes must follow the mix.
	var small, medium, large, dotLines, longLines, folded, eightBit int
	const n = 400
	for i := 0; i < n; i++ {
		var m bytes.Buffer
		if err := Generate(&m, 1, i, 0); err != nil {
			t.Fatal(err)
		}
		s := m.String()
		if strings.Contains(s, "\r") {
			t.Fatalf("message %d has a CR; originals use LF line ends", i)
		}
		if !strings.Contains(s, Token(i)) {
			t.Fatalf("message %d lacks its token", i)
		}
		switch size := m.Len(); {
		case size >= 2<<10 && size <= 21<<10:
			small++
		case size >= 50<<10 && size <= 301<<10:
			medium++
		case size >= 1<<20 && size <= 5<<20+(4<<10):
			large++
		default:
			t.Fatalf("message %d has %d bytes, outside every class of the mix", i, size)
		}
		head, _, _ := strings.Cut(s, "\n\n")
		if strings.Contains(head, "\n\t") || strings.Contains(head, "\n ") {
			folded++
		}
		if strings.ContainsAny(head, "üÅöë") {
			eightBit++
		}
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, ".") {
				dotLines++
			}
			if len(l) > 5000 {
				longLines++
			}
		}
	}
	if small < n*70/100 || medium < n*10/100 || large < n*2/100 {
		t.Errorf("mix of %d: small %d, medium %d, large %d; want about 80/15/5 %%", n, small, medium, large)
	}
	if dotLines == 0 || longLines == 0 || folded < n || eightBit < n {
		t.Errorf("features: %d dot lines, %d lines over 5000, %d folded headers, %d 8-bit headers", dotLines, longLines, folded, eightBit)
	}
}

func TestGenerateHonoursALargeSize(t *testing.T) {
	var m bytes.Buffer
	if err := Generate(&m, 1, BigIndex, 3<<20); err != nil {
		t.Fatal(err)
	}
	if got := m.Len(); got < 3<<20-(64<<10) || got > 3<<20+(64<<10) {
		t.Fatalf("asked for 3 MiB, got %d bytes", got)
	}
}

// TestCheck feeds the checker copies as the tools write them.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	orig, err := WriteOriginal(dir, 3, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(orig.Path)
	if err != nil {
		t.Fatal(err)
	}
	originals := map[int]Original{5: orig}
	crlf := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	getmail := Job{Tool: "getmail", Prepended: []string{"return-path", "delivered-to", "received"}}
	mbsync := Job{Tool: "mbsync", Appended: []string{"x-tuid"}}
	plain := Job{Tool: "mailport"}

	tests := []struct {
		name  string
		job   Job
		copy  []byte
		exact bool
	}{
		{"as generated", plain, raw, true},
		{"wire form", plain, crlf, true},
		{"documented fields on top", getmail, append([]byte("Return-Path: <unknown>\nDelivered-To: x\n"), raw...), true},
		{"documented field at the end", mbsync, append(append(append([]byte{}, head...), "\nX-TUID: abc\n\n"...), body...), true},
		{"undocumented field on top", plain, append([]byte("Return-Path: <unknown>\n"), raw...), false},
		{"field in the wrong place", mbsync, append([]byte("X-TUID: abc\n"), raw...), false},
		{"mixed line ends", plain, append(crlf[:len(crlf)-2:len(crlf)-2], '\n'), false},
		{"cut long line", plain, bytes.Replace(raw, []byte("\n\n"), []byte("\n\n\n"), 1), false},
		{"trailing newline added", plain, append(append([]byte{}, raw...), '\n'), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			for _, sub := range []string{"new", "cur", "tmp"} {
				os.Mkdir(filepath.Join(out, sub), 0o700)
			}
			if err := os.WriteFile(filepath.Join(out, "new", "1.host"), tt.copy, 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := Check(out, originals, tt.job)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Exact == 1; got != tt.exact || v.Files != 1 || v.Missing != 0 {
				t.Fatalf("verdict %+v, want exact=%v", v, tt.exact)
			}
			if !tt.exact && (v.Altered != 1 || len(v.Examples) != 1) {
				t.Fatalf("verdict %+v: an altered copy must be counted and described", v)
			}
		})
	}
}

func TestCheckCountsMissingAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	originals := map[int]Original{}
	for _, i := range []int{1, 2, 3} {
		o, err := WriteOriginal(dir, 1, i, 0)
		if err != nil {
			t.Fatal(err)
		}
		originals[i] = o
	}
	out := t.TempDir()
	one, _ := os.ReadFile(originals[1].Path)
	os.WriteFile(filepath.Join(out, "a.eml"), one, 0o600)
	os.WriteFile(filepath.Join(out, "b.eml"), one, 0o600)
	os.WriteFile(filepath.Join(out, ".mailport-state.jsonl"), []byte("{}\n"), 0o600)
	v, err := Check(out, originals, Job{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Files != 2 || v.Exact != 1 || v.Extra != 1 || v.Missing != 2 {
		t.Fatalf("verdict %+v: want 2 files, 1 exact, 1 extra, 2 missing", v)
	}
}

func TestMedian(t *testing.T) {
	if got := median([]int64{5, 1, 3}); got != 3 {
		t.Errorf("median(5,1,3) = %d", got)
	}
	if got := median([]int64{4, 1, 3, 2}); got != 2 {
		t.Errorf("median(4,1,3,2) = %d, want 2 (mean of 2 and 3, whole numbers)", got)
	}
}
