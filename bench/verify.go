package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Verdict is what the check of one tool's output found.
type Verdict struct {
	Files    int      // message files found
	Exact    int      // originals found exactly once and byte-exact (see Check)
	Altered  int      // copies whose bytes differ from their original
	Missing  int      // originals without a copy
	Extra    int      // copies of an original already seen, or of none
	CRLF     int      // exact copies stored with CRLF line ends (the wire form)
	Stripped int      // exact copies that had documented prepended fields removed
	Examples []string // the first few differences, for the report
}

var tokenRE = regexp.MustCompile(`mpbench\.(\d{6})`)

// Check compares every message file below dir (Maildir new/ and cur/, or
// the .eml files of dir) with the originals. A copy counts as byte-exact
// when, after removing from the top of its header the fields the tool
// documents that it prepends (j.Prepended), and from the end of its header
// those it appends (j.Appended), its bytes equal
// the original's, either as they are (LF line ends, as generated) or with
// every LF written as CRLF (the form IMAP and POP3 carry). Nothing else is
// forgiven: a refolded header, a rewrapped or cut line, a lost dot or an
// added trailing newline count as altered.
func Check(dir string, originals map[int]Original, j Job) (Verdict, error) {
	files, err := messageFiles(dir)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Files: len(files)}
	seen := map[int]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return v, fmt.Errorf("read %s: %w", f, err)
		}
		idx := -1
		head := data[:min(len(data), 64<<10)]
		if m := tokenRE.FindSubmatch(head); m != nil {
			idx, _ = strconv.Atoi(string(m[1]))
		}
		orig, ok := originals[idx]
		if !ok || seen[idx] {
			v.Extra++
			v.example(fmt.Sprintf("%s: not one of the originals or a second copy", filepath.Base(f)))
			continue
		}
		seen[idx] = true
		want, err := os.ReadFile(orig.Path)
		if err != nil {
			return v, fmt.Errorf("read original %s: %w", orig.Path, err)
		}
		exact, crlf, stripped := matches(data, want, j.Prepended, j.Appended)
		if !exact {
			v.Altered++
			v.example(describe(f, data, orig.Path))
			continue
		}
		v.Exact++
		if crlf {
			v.CRLF++
		}
		if stripped {
			v.Stripped++
		}
	}
	for idx := range originals {
		if !seen[idx] {
			v.Missing++
		}
	}
	return v, nil
}

func (v *Verdict) example(s string) {
	if len(v.Examples) < 3 {
		v.Examples = append(v.Examples, s)
	}
}

// matches reports whether data is the original orig as described at
// Check.
func matches(data, orig []byte, prepended, appended []string) (exact, crlf, stripped bool) {
	body := data
	if n := bytes.Count(data, []byte("\r\n")); n > 0 {
		// The wire form has CRLF at every line end; a copy mixing both
		// conventions is altered.
		if n != bytes.Count(data, []byte("\n")) {
			return false, true, false
		}
		body = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		crlf = true
	}
	if bytes.Equal(body, orig) {
		return true, crlf, false
	}
	head, rest, ok := splitHeader(body)
	oHead, oRest, oOK := splitHeader(orig)
	if !ok || !oOK || !bytes.Equal(rest, oRest) {
		return false, crlf, false
	}
	fields := splitFields(head)
	// Drop fields the tool adds at the top, then those it adds at the
	// end, each only while the name matches; compare after every step.
	for lo := 0; lo <= len(fields); lo++ {
		if lo > 0 && !contains(prepended, fieldName(fields[lo-1])) {
			break
		}
		for hi := len(fields); hi >= lo; hi-- {
			if hi < len(fields) && !contains(appended, fieldName(fields[hi])) {
				break
			}
			if bytes.Equal(bytes.Join(fields[lo:hi], nil), oHead) {
				return true, crlf, lo > 0 || hi < len(fields)
			}
		}
	}
	return false, crlf, false
}

// splitHeader cuts a message after its header: head holds the fields with
// their line ends, rest starts with the empty line.
func splitHeader(b []byte) (head, rest []byte, ok bool) {
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1], b[i+1:], true
	}
	return nil, nil, false
}

// splitFields splits a header into fields, each with its continuation
// lines and line ends.
func splitFields(head []byte) [][]byte {
	var out [][]byte
	for len(head) > 0 {
		end := 0
		for {
			k := bytes.IndexByte(head[end:], '\n')
			if k < 0 {
				end = len(head)
				break
			}
			end += k + 1
			if end >= len(head) || (head[end] != ' ' && head[end] != '\t') {
				break
			}
		}
		out = append(out, head[:end])
		head = head[end:]
	}
	return out
}

func fieldName(f []byte) string {
	name, _, _ := bytes.Cut(f, []byte(":"))
	return strings.ToLower(string(bytes.TrimSpace(name)))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// describe names the first line where a copy and its original differ.
func describe(copyPath string, data []byte, origPath string) string {
	orig, err := os.ReadFile(origPath)
	if err != nil {
		return fmt.Sprintf("%s: altered (original unreadable: %v)", filepath.Base(copyPath), err)
	}
	a := strings.Split(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "\n")
	b := strings.Split(string(orig), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y || i >= len(a) || i >= len(b) {
			return fmt.Sprintf("%s vs %s line %d: got %q (%d lines), want %q (%d lines)",
				filepath.Base(copyPath), filepath.Base(origPath), i+1, clip(x), len(a), clip(y), len(b))
		}
	}
	return fmt.Sprintf("%s: differs from %s only in line ends", filepath.Base(copyPath), filepath.Base(origPath))
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…(" + strconv.Itoa(len(s)) + " chars)"
	}
	return s
}

// messageFiles lists a Maildir's new/ and cur/ files, or a directory's
// .eml files (and any other regular file not hidden, so a tool writing
// under other names is still checked).
func messageFiles(dir string) ([]string, error) {
	var out []string
	maildir := false
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		maildir = true
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, filepath.Join(dir, sub, e.Name()))
			}
		}
	}
	if !maildir {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
