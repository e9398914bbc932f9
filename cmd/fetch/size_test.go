package fetch

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1500": 1500, "10K": 10 << 10, "10k": 10 << 10, "10M": 10 << 20, "10MiB": 10 << 20, "10MB": 10 << 20, "1G": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "10X", "M", "1.5M", "99999999999999999G"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	for n, want := range map[int64]string{10 << 20: "10 MiB", 512 << 10: "512 KiB", 1 << 30: "1 GiB", 1500: "1500 bytes", 1: "1 byte", 1<<20 + 1: "1.0 MiB"} {
		if got := formatLimit(n); got != want {
			t.Errorf("formatLimit(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMaxSizeFlagRefusesNonsense(t *testing.T) {
	o := &Options{Format: "eml", Timeout: 1, MaxSize: "ten megs"}
	err := o.check()
	if err == nil || err.Error() != `--max-size: "ten megs" is not a size like 512K, 10M or 1G` {
		t.Fatalf("got %v", err)
	}
}
