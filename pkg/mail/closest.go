package mail

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mailport/mailport/internal/editdist"
)

// maxSuggestions is how many folder paths a "did you mean" names at most.
const maxSuggestions = 3

// ClosestPaths returns up to three of paths (a folder listing, in the
// "/"-separated syntax --folder takes) nearest to want, nearest first: a
// path that differs only in case, then paths whose levels are each a small
// edit away from want's (a typo per level), then paths that have one
// first level (such as INBOX/) more or less than want and otherwise match
// it but for case. It returns nil when no path
// is near enough to be a likely meaning.
func ClosestPaths(paths []string, want string) []string {
	w := levels(want)
	if len(w) == 0 {
		return nil
	}
	type cand struct {
		path  string
		score int
	}
	var found []cand
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] || p == want {
			continue
		}
		seen[p] = true
		c := levels(p)
		best := -1
		try := func(a, b []string, extra int) {
			if s, ok := levelDistance(a, b); ok && (best < 0 || s+extra < best) {
				best = s + extra
			}
		}
		switch len(c) - len(w) {
		case 0:
			try(c, w, 0)
		case 1: // want lacks a first level, e.g. "Notes" for "INBOX/Notes"
			try(c[1:], w, 1)
		case -1: // want has one too many, e.g. "INBOX/Sent" for "Sent"
			try(c, w[1:], 1)
		}
		if best > 1 && len(c) != len(w) {
			best = -1 // a level too many or too few, and a typo besides: too far
		}
		if best >= 0 {
			found = append(found, cand{p, best})
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].score != found[j].score {
			return found[i].score < found[j].score
		}
		return found[i].path < found[j].path
	})
	var out []string
	for _, f := range found {
		if len(out) == maxSuggestions {
			break
		}
		out = append(out, f.path)
	}
	return out
}

// levels splits a path into its non-empty levels.
func levels(path string) []string {
	var out []string
	for _, l := range strings.Split(path, "/") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// levelDistance sums the case-insensitive edit distances of the levels of
// a and b (of equal length), and reports whether each level is near enough
// to its counterpart: within a third of its length, and at least two edits.
func levelDistance(a, b []string) (int, bool) {
	sum := 0
	for i := range a {
		la, lb := strings.ToLower(a[i]), strings.ToLower(b[i])
		d := editDistance(la, lb)
		if d > max(2, utf8.RuneCountInString(lb)/3) || d >= max(utf8.RuneCountInString(la), utf8.RuneCountInString(lb)) {
			return 0, false
		}
		sum += d
	}
	return sum, true
}

// editDistance is editdist.Distance on at most 256 runes of each name:
// folder names are short, and a server's absurd one is cut, not measured.
func editDistance(a, b string) int {
	return editdist.Distance(cutRunes(a, 256), cutRunes(b, 256))
}

// cutRunes returns s cut to at most n runes.
func cutRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
