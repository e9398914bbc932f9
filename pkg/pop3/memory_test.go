package pop3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailport/mailport/pkg/mail"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
)

// bigMessage is about size octets of base64-like lines, with lines that
// need dot-stuffing and a few long lines scattered through it so buffer
// boundaries fall everywhere.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1<<16)
	b.WriteString("Subject: big\r\nContent-Type: application/octet-stream\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	for i := 0; b.Len() < size; i++ {
		switch {
		case i%97 == 0:
			b.WriteString("." + line)
		case i%1009 == 0:
			b.WriteString(strings.Repeat("L", 9000+i%5000) + "\r\n")
		default:
			b.WriteString(line)
		}
	}
	return b.Bytes()
}

func TestStreamingA30MBMessageKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("30 MB transfer")
	}
	s := newServer(t, pop3test.Options{})
	msg := bigMessage(30 << 20)
	want := sha256.Sum256(msg)
	id := s.AddMessage(msg)
	c := login(t, s.Endpoint(), basic())

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() { // sample the heap while the message streams
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	h := sha256.New()
	var n int64
	err := c.Fetch(context.Background(), []mail.Message{{ID: id}}, func(_ mail.Message, r io.Reader) error {
		var err error
		n, err = io.Copy(h, r)
		return err
	})
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	if n != int64(len(msg)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("retrieved %d octets that differ from the %d sent", n, len(msg))
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("30 MB message: %d KiB allocated, peak heap growth %d KiB", allocated>>10, growth>>10)
	// Buffering the message would allocate at least its size; streaming
	// needs the 64 KiB read buffer and small change.
	if allocated > 4<<20 {
		t.Errorf("streaming allocated %d KiB, want under 4 MiB for a 30 MiB message", allocated>>10)
	}
	if growth > 8<<20 {
		t.Errorf("the heap grew by %d KiB while streaming, want under 8 MiB", growth>>10)
	}
}

func BenchmarkFetch(b *testing.B) {
	s := pop3test.NewServer(b, pop3test.Options{Users: map[string]string{user: password}})
	msg := bigMessage(64 << 10)
	for i := 0; i < 200; i++ {
		s.AddMessage(msg)
	}
	b.SetBytes(int64(200 * len(msg)))
	for b.Loop() {
		c := login(b, s.Endpoint(), basic())
		msgs, err := c.List(context.Background(), mail.Criteria{})
		if err != nil {
			b.Fatal(err)
		}
		err = c.Fetch(context.Background(), msgs, func(_ mail.Message, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
