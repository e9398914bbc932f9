package store

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// FolderDir is the directory a folder's messages go to when one fetch
// takes several folders into root: for eml one directory per level
// ("Inbox/Endpoint" goes to root/Inbox/Endpoint), for maildir a Maildir++
// sub-folder (root/.Inbox.Endpoint; INBOX itself is root). A folder path
// uses "/" between levels, as mailport's folder paths do.
//
// Folder names come from the server, so each level is made harmless:
// path separators, control characters, <>:"|?*\ (and "." for maildir,
// which Maildir++ uses between levels) become "_", a leading dot too, and
// an altered level gets "~" and 6 hex digits of the SHA-256 of the
// original, so two folders never share a directory. A Maildir++ name
// longer than 200 bytes is cut and gets such a hash too. The result is
// always inside root.
func FolderDir(root string, format Format, folder string) string {
	var levels []string
	for _, l := range strings.Split(strings.Trim(folder, "/"), "/") {
		levels = append(levels, safeLevel(l, format == Maildir))
	}
	if format == Maildir {
		if len(levels) == 1 && strings.EqualFold(levels[0], "INBOX") {
			return root
		}
		name := "." + strings.Join(levels, ".")
		if len(name) > maxFolderName {
			// Deep folders make one long Maildir++ name; keep it under
			// the file systems' 255 bytes, apart by a hash.
			sum := sha256.Sum256([]byte(folder))
			name = strings.ToValidUTF8(name[:maxFolderName-7], "") + "~" + hex.EncodeToString(sum[:])[:6]
		}
		return filepath.Join(root, name)
	}
	return filepath.Join(append([]string{root}, levels...)...)
}

// maxFolderName bounds a Maildir++ sub-folder's name, in bytes.
const maxFolderName = 200

func safeLevel(l string, maildir bool) string {
	var b strings.Builder
	altered := l == "" || !utf8.ValidString(l)
	for _, r := range l {
		switch {
		case r < 0x20 || r == 0x7f || r == utf8.RuneError || strings.ContainsRune(`/\<>:"|?*`, r) || maildir && r == '.':
			b.WriteByte('_')
			altered = true
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if t := strings.TrimLeft(s, "."); len(t) != len(s) {
		s = strings.Repeat("_", len(s)-len(t)) + t
		altered = true
	}
	if t := strings.TrimRight(s, ". "); len(t) != len(s) {
		s = t + strings.Repeat("_", len(s)-len(t))
		altered = true
	}
	if windowsReserved(s) {
		s = "_" + s
		altered = true
	}
	if len(s) > MaxIDLength {
		s = strings.ToValidUTF8(s[:MaxIDLength], "")
		altered = true
	}
	if !altered {
		return s
	}
	sum := sha256.Sum256([]byte(l))
	return s + "~" + hex.EncodeToString(sum[:])[:6]
}
