package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// MaxIDLength bounds the id part of a file name, in bytes. Longer ids are
// cut and get a hash suffix, so a whole name stays far below the 255-byte
// limit of common file systems.
const MaxIDLength = 100

// hashLen is how many hex digits of SHA-256 mark an altered id: 48 bits,
// enough that two different ids of one mailbox never meet by chance.
const hashLen = 12

// nameTimeLayout is the date prefix of .eml names, always UTC.
const nameTimeLayout = "20060102T150405Z"

// NoDate is the date part of an .eml name when neither the server nor the
// message's Date: header gives a usable time. It is a constant rather than
// the fetch time so that the name stays the same on a rerun, which is how a
// file renamed into place just before a crash is found again instead of
// written twice.
const NoDate = "nodate"

// SafeID turns a server-unique message id (IMAP UID, POP3 UIDL, Graph id)
// into a string that is a valid, harmless file name part on any common
// file system. Ids made only of ASCII letters, digits and "-_.=+@," that do
// not start or end with a dot come out unchanged; any other id is altered
// (every other byte becomes "_", leading and trailing dots too, length cut
// to MaxIDLength) and gets "~" and 12 hex digits of the SHA-256 of the
// original id appended. "~" never survives from an id, so an altered id
// never equals an unchanged one, and two different ids never map to the
// same result except by a hash collision (which the writer still catches:
// it never replaces an existing file).
//
// The result never contains a path separator, a control character, any of
// <>:"|?*\ , is never "." or "..", never starts with a dot and never ends
// with a dot or a space.
func SafeID(id string) string {
	var b strings.Builder
	b.Grow(len(id))
	altered := id == ""
	for i := 0; i < len(id); i++ {
		c := id[i]
		if safeIDByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		altered = true
	}
	s := b.String()
	// Leading dots hide a file (or make "." / ".."); trailing dots are
	// dropped by Windows, which would merge two names.
	if t := strings.TrimLeft(s, "."); len(t) != len(s) {
		s = strings.Repeat("_", len(s)-len(t)) + t
		altered = true
	}
	if t := strings.TrimRight(s, "."); len(t) != len(s) {
		s = t + strings.Repeat("_", len(s)-len(t))
		altered = true
	}
	if windowsReserved(s) {
		s = "_" + s
		altered = true
	}
	if len(s) > MaxIDLength {
		altered = true
	}
	if !altered {
		return s
	}
	sum := sha256.Sum256([]byte(id))
	suffix := "~" + hex.EncodeToString(sum[:])[:hashLen]
	if max := MaxIDLength - len(suffix); len(s) > max {
		s = s[:max]
	}
	return s + suffix
}

func safeIDByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '=', '+', '@', ',':
		return true
	}
	return false
}

// windowsReserved reports whether s is, before its first dot, a device
// name Windows refuses as a file name (CON, NUL, COM1, ...).
func windowsReserved(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	u := strings.ToUpper(base)
	if len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '0' && u[3] <= '9' {
		return true
	}
	return false
}

// EMLName is the file name of a message in the eml format:
// "20261126T101500Z_<SafeID(id)>.eml", the date in UTC. A zero date gives
// "nodate_<id>.eml" (see NoDate).
func EMLName(date time.Time, id string) string {
	return datePart(date) + "_" + SafeID(id) + ".eml"
}

func datePart(t time.Time) string {
	if t.IsZero() {
		return NoDate
	}
	return t.UTC().Format(nameTimeLayout)
}

// keyHash identifies a message's journal key in a file name: the first 16
// hex digits of the SHA-256 of account, folder, validity and id. It carries
// nothing the server chose, so it is always safe in a name.
func keyHash(k Key) string {
	h := sha256.New()
	for _, s := range []string{k.Account, k.Folder, k.Validity, k.ID} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// maildirHost is the host part of a Maildir name with the characters the
// Maildir convention escapes ("/" as \057, ":" as \072) and anything else
// unsafe replaced, so a strange host name cannot break the name.
func maildirHost(host string) string {
	if host == "" {
		host = "localhost"
	}
	var b strings.Builder
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c == '/':
			b.WriteString(`\057`)
		case c == ':':
			b.WriteString(`\072`)
		case safeIDByte(c) && c != ',':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = "localhost"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// maildirName is a Maildir unique name: "<seconds>.M<microseconds>P<pid>Q<seq>X<keyhash>.<host>,S=<size>".
// The X part ties the file to its journal key so a file renamed into new/
// just before a crash is recognised on the rerun, even after a mail reader
// moved it to cur/ and added flags.
func maildirName(now time.Time, pid int, seq uint64, k Key, host string, size int64) string {
	return strconv.FormatInt(now.Unix(), 10) +
		".M" + strconv.Itoa(now.Nanosecond()/1000) +
		"P" + strconv.Itoa(pid) +
		"Q" + strconv.FormatUint(seq, 10) +
		"X" + keyHash(k) +
		"." + host +
		",S=" + strconv.FormatInt(size, 10)
}

// maildirKeyHash extracts the X part of a Maildir name written by us, or "".
func maildirKeyHash(name string) string {
	unique, _, _ := strings.Cut(name, ":")
	first, _, ok := strings.Cut(unique, ".M")
	if !ok || first == "" {
		return ""
	}
	i := strings.Index(unique, "X")
	if i < 0 || len(unique) < i+17 {
		return ""
	}
	h := unique[i+1 : i+17]
	if _, err := hex.DecodeString(h); err != nil || unique[i+17] != '.' {
		return ""
	}
	return h
}
