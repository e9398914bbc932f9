package store

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFolderDir: whatever folder name a server lists, its directory is
// inside the root, clean, and for maildir a Maildir++ sub-folder.
func FuzzFolderDir(f *testing.F) {
	for _, s := range []string{"INBOX", "Inbox/Endpoint", "..", "../../etc", "a/./b", ".hidden", "Sent Items", "x\x00y", "CON/aux", "a.b/c", "\xff\xfe", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, folder string) {
		root := "/root/m"
		for _, format := range []Format{EML, Maildir} {
			d := FolderDir(root, format, folder)
			rel, err := filepath.Rel(root, d)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.Clean(d) != d {
				t.Fatalf("FolderDir(%s, %q) = %q is not inside %s", format, folder, d, root)
			}
			if format == Maildir && d != root && (filepath.Dir(d) != root || !strings.HasPrefix(filepath.Base(d), ".")) {
				t.Fatalf("FolderDir(maildir, %q) = %q is not a Maildir++ sub-folder of %s", folder, d, root)
			}
			if format == Maildir && len(filepath.Base(d)) > 255 {
				t.Fatalf("FolderDir(maildir, %q): a name of %d bytes", folder, len(filepath.Base(d)))
			}
			for _, level := range strings.Split(rel, "/") {
				if format == EML && len(level) > MaxIDLength+16 {
					t.Fatalf("FolderDir(%s, %q): level of %d bytes", format, folder, len(level))
				}
			}
		}
	})
}
