package mail

import (
	"reflect"
	"strings"
	"testing"
)

var listing = []string{"INBOX", "INBOX/Notes", "INBOX/Endpoint", "Archive", "Archive/2024", "Archive/2025",
	"Sent Items", "Projects", "Projects/2026", "Gone", "Drafts"}

func TestClosestPaths(t *testing.T) {
	cases := []struct {
		want string
		out  []string
	}{
		{"Inbox/Nope", []string{"INBOX/Notes"}},                    // a typo in the last level, INBOX in any case
		{"inbox/endpiont", []string{"INBOX/Endpoint"}},             // a transposition
		{"Notes", []string{"INBOX/Notes"}},                         // the INBOX/ level left out
		{"INBOX/Archive", []string{"Archive"}},                     // an INBOX/ level too many
		{"archive/2023", []string{"Archive/2024", "Archive/2025"}}, // ties, in order
		{"sent items", []string{"Sent Items"}},                     // case only
		{"Projects/2062", []string{"Projects/2026"}},
		{"Quarterly reports", nil}, // nothing near
		{"INBOX/Nope/Deeper", nil},
		{"", nil},
		{"INBOX/Notes", nil}, // it exists: nothing to suggest
	}
	for _, tc := range cases {
		if got := ClosestPaths(listing, tc.want); !reflect.DeepEqual(got, tc.out) {
			t.Errorf("ClosestPaths(%q) = %q, want %q", tc.want, got, tc.out)
		}
	}
	many := []string{"a/b1", "a/b2", "a/b3", "a/b4", "a/b5"}
	if got := ClosestPaths(many, "a/b"); len(got) != 3 {
		t.Errorf("ClosestPaths of five near paths = %q, want the three nearest", got)
	}
}

func TestFolderNotFoundErrorSentence(t *testing.T) {
	cases := []struct {
		e    FolderNotFoundError
		want string
	}{
		{FolderNotFoundError{Path: "Inbox/Nope", Missing: "Nope", Suggestions: []string{"Inbox/Notes"}},
			`folder "Inbox/Nope" not found: no "Nope"; did you mean "Inbox/Notes"?`},
		{FolderNotFoundError{Path: "Archive/2023", Missing: "2023", Suggestions: []string{"Archive/2024", "Archive/2025", "Archive/2022"}},
			`folder "Archive/2023" not found: no "2023"; did you mean "Archive/2024", "Archive/2025" or "Archive/2022"?`},
		{FolderNotFoundError{Path: "Nope", Missing: "Nope"}, `folder "Nope" not found`},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestSortFolders(t *testing.T) {
	fs := []FolderInfo{{Path: "b"}, {Path: "INBOX/z"}, {Path: "A/c"}, {Path: "INBOX"}, {Path: "a"}, {Path: "A"}}
	SortFolders(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Path)
	}
	if want := []string{"INBOX", "INBOX/z", "A", "A/c", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sorted: %q, want %q", got, want)
	}
}

// FuzzClosestPaths runs the lookup on folder names a server made up: it
// never panics, names at most three paths, only listed ones, never the
// wanted path itself.
func FuzzClosestPaths(f *testing.F) {
	f.Add("INBOX\nINBOX/Notes\nArchive/2024", "Inbox/Nope")
	f.Add("//\n/a//b/\n\xff\xfe", "a/b")
	f.Add(strings.Repeat("x", 5000)+"\n"+strings.Repeat("y/", 300), strings.Repeat("x", 4000))
	f.Fuzz(func(t *testing.T, listed, want string) {
		paths := strings.Split(listed, "\n")
		got := ClosestPaths(paths, want)
		if len(got) > 3 {
			t.Fatalf("%d suggestions", len(got))
		}
		for _, g := range got {
			found := false
			for _, p := range paths {
				found = found || p == g
			}
			if !found || g == want {
				t.Fatalf("suggested %q, which is not listed or is the wanted path", g)
			}
		}
	})
}
