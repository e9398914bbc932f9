package cmdutil

import (
	"testing"

	"github.com/mailport/mailport/internal/editdist"
)

func TestSuggestionDistances(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"list", "list", 0}, {"lsit", "list", 1}, {"jsno", "json", 1}, {"lst", "list", 1},
		{"ad", "add", 1}, {"edit", "lsit", 2}, {"kitten", "sitting", 3}, {"", "abc", 3}, {"über", "uber", 1},
	} {
		if got := editdist.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
