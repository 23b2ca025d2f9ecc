// Package heapfloor keeps the Go garbage collector from running more often
// than a gateway's memory budget calls for.
//
// With the default GOGC=100 the collector starts a cycle whenever the heap
// has grown by as much as it held live after the last one. A gateway
// without the embedding model keeps only a few megabytes live, so at
// thousands of requests a second it collects hundreds of times a second,
// and every cycle pays a fixed price (scanning every goroutine's stack and
// the globals of a large binary) however little garbage there is: under
// load that was a fifth of switchyard's CPU. A floor lets the heap grow to
// a fixed size before the collector runs, the way a memory ballast once
// did, but without reserving the memory: after every cycle the GC percent
// is set so that the next goal is the larger of the floor and GOGC's own
// goal. Once the live heap outgrows the floor (the embedding model loaded,
// large batches) the percent is back to 100 and nothing changes.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// basePercent is the GC percent the floor never goes below: GOGC's default.
const basePercent = 100

// maxPercent bounds the percent the floor sets, so that a nearly empty
// heap (a few hundred kilobytes live) cannot ask for an absurd ratio.
const maxPercent = 100_000

// Floor is a running heap floor. Its methods are safe for concurrent use.
type Floor struct {
	bytes   atomic.Int64
	stopped atomic.Bool
	percent atomic.Int64

	mu      sync.Mutex // serialises adjust
	samples []metrics.Sample
}

// sentinel is the object whose finalizer tells the floor that a cycle has
// ended. It holds a pointer so that it is never a tiny allocation, which
// would share a block with others and be finalized late or never.
type sentinel struct {
	f *Floor
	_ [16]byte
}

// Start sets a floor of bytes under the heap goal and keeps it after every
// garbage collection until Stop. bytes ≤ 0 starts a floor that changes
// nothing until Set gives it a size.
func Start(bytes int64) *Floor {
	f := &Floor{samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
	f.bytes.Store(max(bytes, 0))
	f.percent.Store(basePercent)
	f.adjust()
	f.arm()
	return f
}

// Set changes the floor; it takes effect at once.
func (f *Floor) Set(bytes int64) {
	f.bytes.Store(max(bytes, 0))
	f.adjust()
}

// Percent reports the GC percent the floor last set.
func (f *Floor) Percent() int { return int(f.percent.Load()) }

// Stop ends the floor and puts the GC percent back to 100.
func (f *Floor) Stop() {
	if f.stopped.Swap(true) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	debug.SetGCPercent(basePercent)
	f.percent.Store(basePercent)
}

// arm allocates a sentinel that nothing references: the next cycle finds
// it unreachable and queues its finalizer, which adjusts and re-arms.
func (f *Floor) arm() {
	s := &sentinel{f: f}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.f.stopped.Load() {
			return
		}
		s.f.adjust()
		s.f.arm()
	})
}

// adjust sets the GC percent from the heap the last cycle left.
func (f *Floor) adjust() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	metrics.Read(f.samples)
	live := value(f.samples[0])
	p := percentFor(f.bytes.Load(), live, live+value(f.samples[1])+value(f.samples[2]))
	if int64(p) != f.percent.Load() {
		debug.SetGCPercent(p)
		f.percent.Store(int64(p))
	}
}

// minHeap is the runtime's heap minimum at GOGC=100 (4 MiB); it scales
// with the percent like the goal does.
const minHeap = 4 << 20

// percentFor is the GC percent that puts the heap goal at floor bytes, given
// the live heap and the base the runtime multiplies by the percent (the
// live heap plus the stacks and globals it scans), as the last cycle
// measured them; never below 100, never above maxPercent.
//
// The runtime's goal is the larger of live + base·percent/100 and its heap
// minimum, 4 MiB·percent/100. Both grow with the percent, so the percent
// that brings the larger one to the floor is the smaller of the two that
// bring each there.
func percentFor(floor, live, base int64) int {
	if floor <= live || base <= 0 {
		return basePercent
	}
	p := min((floor-live)*100/base, floor*100/minHeap)
	return int(min(max(p, basePercent), maxPercent))
}

func value(s metrics.Sample) int64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s.Value.Uint64())
}
