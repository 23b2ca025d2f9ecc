package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		floor, live, scan int64
		want              int
	}{
		{0, 4 * mb, 5 * mb, 100},           // no floor
		{64 * mb, 4 * mb, 6 * mb, 1000},    // (64-4)/6
		{64 * mb, 40 * mb, 48 * mb, 100},   // 50% would do: never below 100
		{64 * mb, 100 * mb, 110 * mb, 100}, // above the floor
		{1 << 40, 0, 1024, maxPercent},     // capped
		{64 * mb, 4 * mb, 0, 100},          // nothing measured yet
	} {
		if got := percentFor(c.floor, c.live, c.scan); got != c.want {
			t.Errorf("percentFor(%d, %d, %d) = %d, want %d", c.floor, c.live, c.scan, got, c.want)
		}
	}
}

func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

// churn allocates n bytes of garbage in 4 KiB pieces and reports how many
// collections ran meanwhile.
func churn(n int) uint64 {
	c0 := cycles()
	for i := 0; i < n/4096; i++ {
		sink = make([]byte, 4096)
	}
	return cycles() - c0
}

func TestFloorCutsCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	without := churn(512 << 20)

	f := Start(128 << 20)
	defer f.Stop()
	runtime.GC() // the floor sees this cycle's small live heap
	if p := f.Percent(); p <= 100 {
		t.Fatalf("percent with a 128 MiB floor over a small heap = %d, want > 100", p)
	}
	with := churn(512 << 20)
	t.Logf("512 MiB of garbage: %d collections without a floor, %d with 128 MiB (percent %d)", without, with, f.Percent())
	if with == 0 || with*4 > without {
		t.Fatalf("collections with the floor = %d, without = %d: want at least one, and at most a quarter", with, without)
	}

	f.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("percent after Stop = %d, want 100", got)
	}
}

func TestFloorStepsAsideForALargeLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	f := Start(32 << 20)
	defer f.Stop()
	runtime.GC()
	runtime.GC()
	if p := f.Percent(); p <= 100 {
		t.Fatalf("percent over a small heap = %d, want > 100", p)
	}
	live := make([]byte, 64<<20)
	for i := range live {
		live[i] = 1
	}
	runtime.GC()
	runtime.GC() // the finalizer of the first cycle ran: this one re-read
	if p := f.Percent(); p != 100 {
		t.Fatalf("percent with 64 MiB live and a 32 MiB floor = %d, want 100", p)
	}
	runtime.KeepAlive(live)

	f.Set(0)
	if p := f.Percent(); p != 100 {
		t.Fatalf("percent after Set(0) = %d, want 100", p)
	}
}
