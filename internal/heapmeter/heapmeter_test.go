package heapmeter

import "testing"

var sink []byte

func TestPeakSeesABufferAndNotAStream(t *testing.T) {
	big := Peak(func() {
		sink = make([]byte, 32<<20)
		for i := range sink {
			sink[i] = byte(i)
		}
	})
	sink = nil
	if big < 30<<20 {
		t.Fatalf("a 32 MiB buffer grew the heap by only %d bytes", big)
	}
	small := Peak(func() {
		buf := make([]byte, 64<<10)
		for i := 0; i < 512; i++ {
			buf[i%len(buf)] = byte(i)
		}
	})
	if small > 8<<20 {
		t.Fatalf("a 64 KiB buffer grew the heap by %d bytes", small)
	}
}
