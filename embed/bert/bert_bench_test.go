package bert

import (
	"fmt"
	"os"
	"testing"

	"github.com/switchyard-router/switchyard/embed/kernel"
)

// BenchmarkForward runs one sequence through the model with 1 and 2
// threads, to show what intra-op parallelism buys at each length.
// SWITCHYARD_PRECISION=int8 measures the int8 linear layers.
func BenchmarkForward(b *testing.B) {
	prec, err := kernel.ParsePrecision(os.Getenv("SWITCHYARD_PRECISION"))
	if err != nil {
		b.Fatal(err)
	}
	m := loadB(b, prec)
	for _, n := range []int{16, 128, 256} {
		seq := make([]int32, n)
		for i := range seq {
			seq[i] = int32(2000 + i)
		}
		seq[0], seq[n-1] = 101, 102
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("tokens=%d/threads=%d", n, threads), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.Forward(b.Context(), [][]int32{seq}, threads); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
