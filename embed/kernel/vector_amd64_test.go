package kernel

import (
	"math"
	"testing"
)

// TestExpSumSIMD checks the vector exps directly (Attention only sees them
// through a softmax): relative error ≤ 3e-7 against math.Exp over the
// normal float32 range, exactly 0 below it and for -Inf, and the returned
// sum matches the stored values.
func TestExpSumSIMD(t *testing.T) {
	var xs []float32
	for x := float32(-87.3); x <= 0; x += 1.0 / 256 {
		xs = append(xs, x)
	}
	xs = append(xs, -87.4, -88, -100, -1e30, float32(math.Inf(-1)))
	xs = append(xs, xs[:13]...) // a length that is not a multiple of 16
	type expSum func(x *float32, n int, sub float32) float32
	run := map[Level]expSum{AVX2: expSumAVX2, AVX512: expSumAVX512}
	for _, l := range []Level{AVX2, AVX512} {
		if !Supported(l) {
			continue
		}
		got := append([]float32(nil), xs...)
		n := len(got)
		if l == AVX2 {
			n &^= 7 // whole vectors only; the caller does the tail
		}
		const sub = 0.25 // exercises the subtraction
		sum := run[l](&got[0], n, -sub)
		var maxRel, want float64
		for i, x := range xs[:n] {
			e := math.Exp(float64(x) + sub)
			if float64(x)+sub < -87.33654 {
				e = 0
			}
			want += float64(got[i])
			g := float64(got[i])
			if e == 0 {
				if g != 0 {
					t.Fatalf("%s: exp(%g) = %g, want exactly 0", l, float64(x)+sub, g)
				}
				continue
			}
			rel := math.Abs(g-e) / e
			maxRel = max(maxRel, rel)
			if rel > 3e-7 {
				t.Fatalf("%s: exp(%g) = %g, want %g (relative error %.3g)", l, float64(x)+sub, g, e, rel)
			}
		}
		if d := math.Abs(float64(sum) - want); d > 1e-5*want {
			t.Fatalf("%s: sum %g, want %g", l, sum, want)
		}
		t.Logf("%s: max relative error %.3g", l, maxRel)
	}
}
