package mail

import (
	"context"
	"sort"
	"strings"
)

// Special uses of a folder (IMAP SPECIAL-USE attributes, RFC 6154; Graph
// well-known folder names), as FolderInfo.Use holds them.
const (
	UseInbox   = "inbox"
	UseSent    = "sent"
	UseDrafts  = "drafts"
	UseTrash   = "trash"
	UseJunk    = "junk"
	UseArchive = "archive"
)

// FolderInfo is one folder of a mailbox as a listing reports it.
type FolderInfo struct {
	// Path is the folder in the syntax --folder takes: levels separated
	// by "/" whatever the server uses, e.g. "INBOX/Endpoint".
	Path string `json:"path"`
	// Messages and Unread are the folder's counts; nil when the server
	// did not say (a folder that cannot hold messages, a STATUS the
	// server refused, POP3's unread count).
	Messages *int `json:"messages,omitempty"`
	Unread   *int `json:"unread,omitempty"`
	// Use is the folder's special use (UseInbox, UseSent, ...), "" for none.
	Use string `json:"use"`
	// Selectable is false for a level that only holds other folders
	// (IMAP \Noselect); such a folder cannot be fetched from.
	Selectable bool `json:"selectable"`
}

// FolderOptions tune a folder listing. The zero value lists the folders
// a mail client shows.
type FolderOptions struct {
	// Hidden includes folders the server hides from mail clients (Graph's
	// isHidden folders). IMAP and POP3 have none.
	Hidden bool
	// PathsOnly skips the counts, which cost IMAP one STATUS per folder
	// on a server without LIST-STATUS; a fetch expanding a --folder
	// pattern needs only the paths.
	PathsOnly bool
}

// FolderLister is an Inbound that can list its folders. Callers check for
// it with a type assertion; every adapter of mailport implements it.
type FolderLister interface {
	// Folders lists every folder of the mailbox, sorted by path, INBOX
	// first. The connection must be authenticated.
	Folders(ctx context.Context, opts FolderOptions) ([]FolderInfo, error)
}

// SortFolders orders a listing: the inbox first, then by path, each level
// compared case-insensitively, so children follow their parent.
func SortFolders(fs []FolderInfo) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		ai, bi := isInboxPath(a.Path), isInboxPath(b.Path)
		if ai != bi {
			return ai
		}
		return lessPath(a.Path, b.Path)
	})
}

// isInboxPath reports whether p is INBOX or a folder under it.
func isInboxPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.EqualFold(first, "INBOX")
}

func lessPath(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		la, lb := strings.ToLower(pa[i]), strings.ToLower(pb[i])
		if la != lb {
			return la < lb
		}
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}
