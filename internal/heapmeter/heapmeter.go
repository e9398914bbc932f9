// Package heapmeter measures how far the live heap grows while code runs,
// for the tests that prove mailport streams mail instead of buffering it
// (a 30 MB message must not grow the heap by 30 MB).
package heapmeter

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Meter samples the heap's live objects until stopped.
type Meter struct {
	stop       atomic.Bool
	done       chan struct{}
	base, peak uint64
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Start collects garbage, notes the heap, and samples it every 200 µs.
func Start() *Meter {
	runtime.GC()
	m := &Meter{done: make(chan struct{}), base: heapObjects()}
	go func() {
		defer close(m.done)
		for !m.stop.Load() {
			if v := heapObjects(); v > m.peak {
				m.peak = v
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	return m
}

// Stop ends sampling and returns the peak heap above the start, in bytes
// (0 or less when it never grew).
func (m *Meter) Stop() int64 {
	m.stop.Store(true)
	<-m.done
	return int64(m.peak) - int64(m.base)
}

// Peak runs fn and returns the heap's peak growth while it ran.
func Peak(fn func()) int64 {
	m := Start()
	fn()
	return m.Stop()
}
