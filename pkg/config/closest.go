package config

import (
	"strings"

	"github.com/mailport/mailport/internal/editdist"
)

// Closest is the known name a mistyped one most likely meant ("foldr" →
// "folder", "tls_ca" → "tls_ca_file"), or "" when none is close enough.
func Closest(name string, known []string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return ""
	}
	best, bestDist := "", 0
	for _, k := range known {
		d := editdist.Distance(name, strings.ToLower(k))
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
