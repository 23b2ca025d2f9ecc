package bert

import (
	"runtime"
	"sync/atomic"
)

// team runs the ops of one forward pass on several goroutines.
//
// Why not a WaitGroup per op: waking a parked thread costs tens to a hundred
// microseconds on a virtual machine, and one pass has ~30 ops of 50–600 µs,
// so a fork per op ate most of the second core's gain (a 128-row product
// went from 613 to only 413 µs on two threads). A team pays the wake-up once
// per pass: its helpers live for the pass and spin on an atomic generation
// counter between ops, so dispatch costs nanoseconds. They yield the P while
// spinning, and stop when the pass ends.
type team struct {
	size int // goroutines, the caller included
	gen  atomic.Uint64
	done atomic.Int64
	quit atomic.Bool
	// The current op; written by the caller before gen is bumped, read by
	// helpers after they observe the new gen.
	fn func(t, lo, hi int)
	n  int
}

// newTeam starts size-1 helpers. Stop must be called when the pass ends.
// A team of one runs everything on the caller and starts nothing.
func newTeam(size int) *team {
	t := &team{size: max(size, 1)}
	for id := 1; id < t.size; id++ {
		go t.helper(id)
	}
	return t
}

func (t *team) helper(id int) {
	seen := uint64(0)
	for {
		if g := t.gen.Load(); g != seen {
			seen = g
			lo, hi := chunk(id, t.size, t.n)
			if lo < hi {
				t.fn(id, lo, hi)
			}
			t.done.Add(1)
			continue
		}
		if t.quit.Load() {
			return
		}
		runtime.Gosched()
	}
}

// run splits [0, n) into size contiguous chunks and runs fn(thread, lo, hi)
// on each, the first on the caller; it returns when all are done. width
// caps the goroutines used (an op with 8 panels is not split 16 ways).
func (t *team) run(n int, fn func(t, lo, hi int)) {
	if t.size == 1 || n <= 1 {
		fn(0, 0, n)
		return
	}
	t.fn, t.n = fn, n
	t.done.Store(0)
	t.gen.Add(1)
	lo, hi := chunk(0, t.size, n)
	fn(0, lo, hi)
	for t.done.Load() != int64(t.size-1) {
		runtime.Gosched()
	}
}

// stop ends the helpers; the team must not be used afterwards.
func (t *team) stop() { t.quit.Store(true) }

func chunk(id, size, n int) (lo, hi int) { return id * n / size, (id + 1) * n / size }
