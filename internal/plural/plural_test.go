package plural

import "testing"

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0 messages"}, {1, "1 message"}, {2, "2 messages"}, {-1, "-1 messages"}} {
		if got := Of(tt.n, "message", "messages"); got != tt.want {
			t.Errorf("Of(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if Word(uint(1), "is", "are") != "is" || Word(3, "is", "are") != "are" {
		t.Error("Word does not agree with the count")
	}
}
