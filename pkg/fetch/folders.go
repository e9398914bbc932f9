package fetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mailport/mailport/pkg/mail"
)

// IsPattern reports whether a --folder value is a pattern: it holds "*"
// (any characters, "/" included, so "*" is every folder and "Inbox/*"
// every folder below Inbox) or "%" (any characters but "/": one level), as
// in IMAP's LIST.
func IsPattern(folder string) bool { return strings.ContainsAny(folder, "*%") }

// ExpandFolders turns --folder values into folder paths: a plain path
// stays as it is, a pattern (see IsPattern) becomes the server's folders
// that match it and can hold messages, in the listing's order. Each folder comes once, however
// many values name it. A pattern that matches nothing is an error, and
// so is a pattern on a server that cannot list its folders.
func ExpandFolders(ctx context.Context, in mail.Inbound, values []string) ([]string, error) {
	var (
		out     []string
		seen    = map[string]bool{}
		all     []string
		listed  bool
		addOnce = func(f string) {
			k := folderKey(f)
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	)
	for _, v := range values {
		if !IsPattern(v) {
			addOnce(v)
			continue
		}
		if !listed {
			l, ok := in.(mail.FolderLister)
			if !ok {
				return nil, fmt.Errorf("--folder %q: this server has no folders to match a pattern against", v)
			}
			fs, err := l.Folders(ctx, mail.FolderOptions{PathsOnly: true})
			if err != nil {
				return nil, fmt.Errorf("list the folders for --folder %q: %w", v, err)
			}
			for _, f := range fs {
				if f.Selectable {
					all = append(all, f.Path)
				}
			}
			listed = true
		}
		n := len(out)
		for _, f := range all {
			if MatchFolder(v, f) {
				addOnce(f)
			}
		}
		if len(out) == n && !anyMatch(v, all) {
			return nil, fmt.Errorf("--folder %q matches no folder on the server", v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no folder to fetch")
	}
	return out, nil
}

func anyMatch(pattern string, folders []string) bool {
	for _, f := range folders {
		if MatchFolder(pattern, f) {
			return true
		}
	}
	return false
}

// folderKey is a folder path as compared: levels trimmed, INBOX in any case.
func folderKey(f string) string {
	f = strings.Trim(f, "/")
	if first, rest, _ := strings.Cut(f, "/"); strings.EqualFold(first, "INBOX") {
		if rest == "" {
			return "INBOX"
		}
		return "INBOX/" + rest
	}
	return f
}

// MatchFolder reports whether the folder path matches pattern: "*"
// matches any characters, "/" included, "%" any characters but "/", and
// the first level INBOX matches in any case.
func MatchFolder(pattern, folder string) bool {
	return match(folderKey(pattern), folderKey(folder))
}

func match(p, s string) bool {
	// ok[j] says p[i:] matches s[j:], for i going down from len(p): time
	// len(p)*len(s), whatever the pattern.
	ok := make([]bool, len(s)+1)
	next := make([]bool, len(s)+1)
	ok[len(s)] = true
	for i := len(p) - 1; i >= 0; i-- {
		next, ok = ok, next
		switch c := p[i]; c {
		case '*', '%':
			ok[len(s)] = next[len(s)]
			for j := len(s) - 1; j >= 0; j-- {
				// Match nothing here, or take s[j] and stay on the wildcard.
				ok[j] = next[j] || (c == '*' || s[j] != '/') && ok[j+1]
			}
		default:
			ok[len(s)] = false
			for j := len(s) - 1; j >= 0; j-- {
				ok[j] = s[j] == c && next[j+1]
			}
		}
	}
	return ok[0]
}
