package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"list", "list", 0},
		{"lsit", "list", 1}, {"jsno", "json", 1}, {"foldr", "folder", 1},
		{"tls_ca", "tls_ca_file", 5}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
		{"Ünïcode", "Unicode", 2}, {"pasword", "password", 1},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("lsit", "list")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Distance(a, b)
		la, lb := len([]rune(a)), len([]rune(b))
		if d < 0 || d > max(la, lb) || d < max(la, lb)-min(la, lb) {
			t.Fatalf("Distance(%q, %q) = %d outside its bounds", a, b, d)
		}
		if (d == 0) != (a == b) && string([]rune(a)) == a && string([]rune(b)) == b {
			t.Fatalf("Distance(%q, %q) = %d", a, b, d)
		}
	})
}
