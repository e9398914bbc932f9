package store

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestFolderDir(t *testing.T) {
	root := "/m"
	for _, c := range []struct {
		format      Format
		folder, got string
	}{
		{EML, "Inbox/Endpoint", "/m/Inbox/Endpoint"},
		{EML, "INBOX", "/m/INBOX"},
		{EML, "Sent Items", "/m/Sent Items"},
		{EML, "Archive/2024.old", "/m/Archive/2024.old"},
		{Maildir, "INBOX", "/m"},
		{Maildir, "Inbox/Endpoint", "/m/.Inbox.Endpoint"},
		{Maildir, "Archive/2024", "/m/.Archive.2024"},
	} {
		if got := FolderDir(root, c.format, c.folder); got != c.got {
			t.Errorf("FolderDir(%s, %q) = %q, want %q", c.format, c.folder, got, c.got)
		}
	}
	// Hostile names stay inside root and apart from each other.
	seen := map[string]string{}
	for _, f := range []string{"..", "../x", "a/../../b", ".hidden", "a\\b", "a_b", "a.b", "CON", "a\x00b", "x:y", ""} {
		for _, format := range []Format{EML, Maildir} {
			d := FolderDir(root, format, f)
			rel, err := filepath.Rel(root, d)
			if err != nil || strings.HasPrefix(rel, "..") || filepath.Clean(d) != d {
				t.Errorf("FolderDir(%s, %q) = %q leaves the root", format, f, d)
			}
			if format == Maildir && d != root && !strings.HasPrefix(filepath.Base(d), ".") {
				t.Errorf("maildir sub-folder %q is not a Maildir++ name", d)
			}
			if other, ok := seen[string(format)+d]; ok && other != f {
				t.Errorf("%q and %q share %s", f, other, d)
			}
			seen[string(format)+d] = f
		}
	}
}
