package fetch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mailport/mailport/internal/plural"
)

// parseSize reads a byte count for --max-size: digits with an optional
// K, M or G (powers of 1024), e.g. "512K", "10M", "1G"; "KiB", "MB" and
// the like mean the same.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := 0
	switch {
	case strings.HasSuffix(t, "K"):
		shift = 10
	case strings.HasSuffix(t, "M"):
		shift = 20
	case strings.HasSuffix(t, "G"):
		shift = 30
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size like 512K, 10M or 1G", s)
	}
	return n << shift, nil
}

// formatLimit is a --max-size for people, in the units it was given in:
// "10 MiB", "512 KiB", "1500 bytes".
func formatLimit(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return plural.Of(n, "byte", "bytes")
}
