package config

import "strings"

// Closest is the known name a mistyped one most likely meant ("foldr" →
// "folder", "tls_ca" → "tls_ca_file"), or "" when none is close enough.
func Closest(name string, known []string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return ""
	}
	best, bestDist := "", 0
	for _, k := range known {
		d := editDistance(name, strings.ToLower(k))
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	limit := 2
	if len(name) >= 9 {
		limit = 3
	}
	if bestDist <= limit {
		return best
	}
	// A shortened or lengthened name: "tls_ca" for "tls_ca_file", "hostname" for "host".
	for _, k := range known {
		lk := strings.ToLower(k)
		if len(name) >= 4 && len(lk) >= 4 && (strings.HasPrefix(lk, name) || strings.HasPrefix(name, lk)) {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
