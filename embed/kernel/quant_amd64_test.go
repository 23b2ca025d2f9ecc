package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestInt8AVX512WithoutVNNI runs the int8 path an AVX-512 CPU without VNNI
// gets (the AVX-512 quantizer with the AVX2 matmul), which a VNNI machine
// would otherwise never exercise.
func TestInt8AVX512WithoutVNNI(t *testing.T) {
	if !Supported(AVX512) {
		t.Skip("needs AVX-512")
	}
	k := &Kernels{level: AVX512, impl: withoutVNNI(implFor(AVX512))}
	if k.Int8Name() != "int8-w63" {
		t.Errorf("Int8Name() = %q, want int8-w63: its vectors are the AVX2 kernel's", k.Int8Name())
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range []struct{ m, n, kk int }{{1, 17, 5}, {7, 49, 31}, {13, 384, 384}, {17, 64, 1536}} {
		tc := newInt8Case(r, s.m, s.n, s.kk)
		for _, withBias := range []bool{false, true} {
			if err := tc.check(k, withBias, 0, -1); err != nil {
				t.Fatalf("m=%d n=%d k=%d bias=%v: %v", s.m, s.n, s.kk, withBias, err)
			}
		}
	}
}
