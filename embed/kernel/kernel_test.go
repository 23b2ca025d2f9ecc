package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Every level is checked against float64 references written straight from
// the definitions in kernel.go, not against another level, so a bug shared
// by the portable path and the assembly would still show.

// sentinel marks memory a kernel must not touch.
const sentinel = float32(-12345.5)

func levels(t testing.TB) []*Kernels {
	t.Helper()
	var ks []*Kernels
	for _, l := range []Level{Generic, AVX2, AVX512} {
		if !Supported(l) {
			t.Logf("skipping %s: not supported by this cpu", l)
			continue
		}
		k, err := New(l)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return ks
}

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = (r.Float32()*2 - 1) * scale
	}
	return s
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// matmulFunc is MatMul's shape, so the checker can also be pointed at a
// deliberately broken kernel.
type matmulFunc func(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int)

// matmulCase is one random product with its float64 reference, computed
// once and checked against every level (the reference dominates the test's
// run time, ~15x more so under -race).
type matmulCase struct {
	m, n, k int
	a, w    []float32
	bias    []float32
	want    []float64 // a·wᵀ without the bias
	mag     []float64 // Σ_k |a_ik·w_jk|
}

func newMatMulCase(r *rand.Rand, m, n, k int) *matmulCase {
	c := &matmulCase{m: m, n: n, k: k, a: randSlice(r, m*k, 1), w: randSlice(r, n*k, 1), bias: randSlice(r, n, 2),
		want: make([]float64, m*n), mag: make([]float64, m*n)}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, mag float64
			for x, av := range c.a[i*k : i*k+k] {
				p := float64(av) * float64(c.w[j*k+x])
				s += p
				mag += math.Abs(p)
			}
			c.want[i*n+j], c.mag[i*n+j] = s, mag
		}
	}
	return c
}

// check runs mm with k's packing and compares the result with the
// reference. The tolerance is relative to Σ_k |a_ik·w_jk| + |bias_j|, the
// magnitude float32 rounding errors scale with: 1e-5 of it allows about
// 1536 terms of accumulated rounding, while dropping or doubling even one
// term of a long sum (~1/K of that magnitude) is still far outside it.
// Columns outside panels [p0, p1) (p1 < 0: all) and rows ≥ m must keep
// their sentinel.
func (tc *matmulCase) check(mm matmulFunc, k *Kernels, withBias bool, p0, p1 int) error {
	m, n := tc.m, tc.n
	var bias []float32
	if withBias {
		bias = tc.bias
	}
	pw := k.Pack(tc.w, n, tc.k)
	if p1 < 0 {
		p1 = pw.Panels()
	}
	c := filled((m+1)*n, sentinel) // one spare row that must stay untouched
	mm(c, tc.a, m, pw, bias, p0, p1)
	lo, hi := p0*pw.panel, min(n, p1*pw.panel)
	for i := 0; i <= m; i++ {
		for j := 0; j < n; j++ {
			got := c[i*n+j]
			if i == m || j < lo || j >= hi {
				if got != sentinel {
					return fmt.Errorf("c[%d][%d] = %g outside the output range was written", i, j, got)
				}
				continue
			}
			want, mag := tc.want[i*n+j], tc.mag[i*n+j]
			if bias != nil {
				want += float64(bias[j])
				mag += math.Abs(float64(bias[j]))
			}
			if d := math.Abs(float64(got) - want); !(d <= 1e-5*mag+1e-30) {
				return fmt.Errorf("c[%d][%d] = %g, want %g (|diff| %.3g, tolerance %.3g)", i, j, got, want, d, 1e-5*mag)
			}
		}
	}
	return nil
}

func TestMatMul(t *testing.T) {
	ns := []int{1, 7, 15, 16, 17, 23, 24, 25, 33, 47, 48, 49, 384, 1152}
	ks := []int{1, 3, 8, 31, 384, 1536}
	kernels := levels(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range ns {
		for _, kk := range ks {
			// Every row count up to 37 (all row-tile tails, one and
			// several tiles) where that is cheap; a sample of them on the
			// big shapes.
			var ms []int
			switch {
			case n*kk <= 64*384:
				for m := 1; m <= 37; m++ {
					ms = append(ms, m)
				}
				ms = append(ms, 64, 129)
			case n*kk <= 384*384:
				ms = []int{1, 3, 4, 5, 8, 9, 13, 16, 37, 64}
			default:
				ms = []int{1, 5, 8, 13, 17}
			}
			for _, m := range ms {
				tc := newMatMulCase(r, m, n, kk)
				for _, k := range kernels {
					for _, withBias := range []bool{false, true} {
						if err := tc.check(k.MatMul, k, withBias, 0, -1); err != nil {
							t.Fatalf("%s m=%d n=%d k=%d bias=%v: %v", k.Level(), m, n, kk, withBias, err)
						}
					}
				}
			}
		}
	}
}

// TestMatMulLargeBatch covers the row and k blocking: more rows than one
// row block holds, and K split into several k blocks.
func TestMatMulLargeBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, s := range []struct{ m, n, kk int }{{512, 49, 1536}, {300, 384, 384}, {181, 33, 2000}} {
		tc := newMatMulCase(r, s.m, s.n, s.kk)
		for _, k := range levels(t) {
			if err := tc.check(k.MatMul, k, true, 0, -1); err != nil {
				t.Fatalf("%s m=%d n=%d k=%d: %v", k.Level(), s.m, s.n, s.kk, err)
			}
		}
	}
}

func TestMatMulPanelRange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{17, 100, 385, 1152} {
		for _, m := range []int{1, 9, 16} {
			tc := newMatMulCase(r, m, n, 31)
			for _, k := range levels(t) {
				np := (n + k.impl.panel - 1) / k.impl.panel
				for p0 := 0; p0 < np; p0 += max(1, np/4) {
					for _, p1 := range []int{p0 + 1, np} {
						if err := tc.check(k.MatMul, k, m%2 == 1, p0, p1); err != nil {
							t.Fatalf("%s m=%d n=%d panels [%d,%d): %v", k.Level(), m, n, p0, p1, err)
						}
					}
				}
			}
		}
	}
}

// refGELU is GELU in float64, written as x·erfc(-x/√2)/2 so that its own
// value is accurate for large negative x too.
func refGELU(x float32) float64 {
	if math.IsInf(float64(x), -1) {
		return 0
	}
	v := float64(x)
	return 0.5 * v * math.Erfc(-v/math.Sqrt2)
}

// checkGELU applies gelu to xs and compares with refGELU. The tolerance is
// what an erf error of 1e-6 allows (|x|/2·1e-6) plus two float32 ulps of the
// result; the output must be NaN-free. It reports the largest error seen,
// expressed as an error in erf (|diff| / (|x|/2)), over |x| ≥ 1e-3.
func checkGELU(gelu func([]float32), xs []float32) (maxErfErr float64, err error) {
	got := append([]float32(nil), xs...)
	gelu(got)
	for i, x := range xs {
		want := refGELU(x)
		g := float64(got[i])
		if math.IsNaN(g) {
			return 0, fmt.Errorf("GELU(%g) = NaN", x)
		}
		if math.IsInf(want, 0) {
			if g != want {
				return 0, fmt.Errorf("GELU(%g) = %g, want %g", x, g, want)
			}
			continue
		}
		d := math.Abs(g - want)
		tol := 0.5e-6*math.Abs(float64(x)) + 2.4e-7*math.Abs(want) + 1e-38
		if !(d <= tol) {
			return 0, fmt.Errorf("GELU(%g) = %.9g, want %.9g (|diff| %.3g > %.3g)", x, g, want, d, tol)
		}
		if math.Abs(float64(x)) >= 1e-3 {
			maxErfErr = max(maxErfErr, d/(0.5*math.Abs(float64(x))))
		}
	}
	return maxErfErr, nil
}

func geluInputs() []float32 {
	inf := float32(math.Inf(1))
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-30, -1e-30, 1e-7, -1e-7,
		1, -1, 3, -3, 5.5, -5.5, 10, -10, 13.5, -13.5, 30, -30, 100, -100, 1e10, -1e10,
		math.MaxFloat32, -math.MaxFloat32, inf, -inf}
	for x := float32(-14); x <= 14; x += 1.0 / 1024 {
		xs = append(xs, x)
	}
	r := rand.New(rand.NewPCG(4, 4))
	for range 5000 {
		xs = append(xs, float32(r.NormFloat64()*3))
	}
	return xs
}

func TestGELU(t *testing.T) {
	xs := geluInputs()
	for _, k := range levels(t) {
		// Every length up to 40 runs the vector body and the scalar tail
		// with every alignment of the tail.
		for n := 0; n <= 40; n++ {
			if _, err := checkGELU(k.GELU, xs[len(xs)-n:]); err != nil {
				t.Fatalf("%s n=%d: %v", k.Level(), n, err)
			}
		}
		e, err := checkGELU(k.GELU, xs)
		if err != nil {
			t.Fatalf("%s: %v", k.Level(), err)
		}
		t.Logf("%s: max erf error %.3g", k.Level(), e)
	}
}

// TestExpf checks the scalar expf against float64 math.Exp: relative error
// ≤ 3e-7 over the normal range, exactly 0 below it. The SIMD exp kernels
// are covered through Attention and GELU.
func TestExpf(t *testing.T) {
	var maxRel float64
	for x := float32(-87); x <= 88; x += 1.0 / 512 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		maxRel = max(maxRel, rel)
		if rel > 3e-7 {
			t.Fatalf("expf(%g) = %g, want %g (relative error %.3g)", x, got, want, rel)
		}
	}
	for _, x := range []float32{-88, -100, -1e30, float32(math.Inf(-1))} {
		if got := expf(x); got != 0 {
			t.Fatalf("expf(%g) = %g, want exactly 0", x, got)
		}
	}
	t.Logf("max relative error %.3g", maxRel)
}

type layerNormFunc func(x, res []float32, rows, dim int, gamma, beta []float32, eps float32)

// checkLayerNorm compares ln with a float64 LayerNorm. Tolerance: 1e-5 of
// |gamma·z| + |beta| per element, z the normalised value (float32 sums over
// ≤ 1536 terms are good to a few 1e-7 relative; the residual add is exact
// in both).
func checkLayerNorm(r *rand.Rand, ln layerNormFunc, rows, dim int, withRes bool) error {
	x := randSlice(r, rows*dim, 3)
	for i := range x {
		x[i] += 0.5 // a non-zero mean, so mean subtraction matters
	}
	var res []float32
	if withRes {
		res = randSlice(r, rows*dim, 2)
	}
	gamma, beta := randSlice(r, dim, 2), randSlice(r, dim, 1)
	const eps = 1e-12
	got := append(append([]float32(nil), x...), sentinel)
	ln(got, res, rows, dim, gamma, beta, eps)
	if got[rows*dim] != sentinel {
		return fmt.Errorf("wrote past the last row")
	}
	for i := 0; i < rows; i++ {
		y := make([]float64, dim)
		var mean, v float64
		for j := range y {
			y[j] = float64(x[i*dim+j])
			if res != nil {
				y[j] += float64(res[i*dim+j])
			}
			mean += y[j]
		}
		mean /= float64(dim)
		for _, f := range y {
			v += (f - mean) * (f - mean)
		}
		inv := 1 / math.Sqrt(v/float64(dim)+eps)
		for j, f := range y {
			z := (f - mean) * inv
			want := z*float64(gamma[j]) + float64(beta[j])
			tol := 1e-5*(math.Abs(z*float64(gamma[j]))+math.Abs(float64(beta[j]))) + 1e-6
			if d := math.Abs(float64(got[i*dim+j]) - want); !(d <= tol) {
				return fmt.Errorf("x[%d][%d] = %g, want %g (|diff| %.3g > %.3g)", i, j, got[i*dim+j], want, d, tol)
			}
		}
	}
	return nil
}

func TestLayerNorm(t *testing.T) {
	for _, k := range levels(t) {
		r := rand.New(rand.NewPCG(5, uint64(k.Level())))
		for _, dim := range []int{1, 2, 7, 8, 15, 16, 24, 31, 32, 40, 384, 385, 1536} {
			for _, rows := range []int{1, 3, 17} {
				for _, withRes := range []bool{false, true} {
					if err := checkLayerNorm(r, k.LayerNorm, rows, dim, withRes); err != nil {
						t.Fatalf("%s rows=%d dim=%d res=%v: %v", k.Level(), rows, dim, withRes, err)
					}
				}
			}
		}
	}
}

type attentionFunc func(out, qkv []float32, seq, heads, headDim, valid int, scratch []float32)

// checkAttention compares attn with float64 softmax attention. Each output
// is a convex combination of values in [-1, 1], so the tolerance is
// absolute: 2e-6 covers float32 dot products, exp's 1e-7 relative error and
// the weighted sum over ≤ 256 keys. Rows ≥ valid must keep their sentinel.
// qScale sizes the scores, to push exp towards its range limits.
func checkAttention(r *rand.Rand, attn attentionFunc, seq, heads, hd, valid int, qScale float32) error {
	h := heads * hd
	qkv := randSlice(r, seq*3*h, 1)
	for i := 0; i < seq; i++ {
		for j := 0; j < h; j++ {
			qkv[i*3*h+j] *= qScale
		}
	}
	out := filled(seq*h, sentinel)
	scratch := make([]float32, AttentionScratch(seq))
	attn(out, qkv, seq, heads, hd, valid, scratch)
	scale := 1 / math.Sqrt(float64(hd))
	s := make([]float64, valid)
	for hh := 0; hh < heads; hh++ {
		for i := 0; i < seq; i++ {
			o := out[i*h+hh*hd : i*h+hh*hd+hd]
			if i >= valid {
				for d, v := range o {
					if v != sentinel {
						return fmt.Errorf("out[%d][%d] = %g for a row ≥ valid", i, hh*hd+d, v)
					}
				}
				continue
			}
			mx := math.Inf(-1)
			for j := range s {
				var dot float64
				for d := 0; d < hd; d++ {
					dot += float64(qkv[i*3*h+hh*hd+d]) * float64(qkv[j*3*h+h+hh*hd+d])
				}
				s[j] = dot * scale
				mx = max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for d := range o {
				var want float64
				for j := range s {
					want += s[j] / sum * float64(qkv[j*3*h+2*h+hh*hd+d])
				}
				if diff := math.Abs(float64(o[d]) - want); !(diff <= 2e-6) {
					return fmt.Errorf("head %d out[%d][%d] = %g, want %g (|diff| %.3g)", hh, i, d, o[d], want, diff)
				}
			}
		}
	}
	return nil
}

func TestAttention(t *testing.T) {
	type shape struct{ heads, hd int }
	for _, k := range levels(t) {
		r := rand.New(rand.NewPCG(6, uint64(k.Level())))
		for _, sh := range []shape{{12, 32}, {2, 8}, {1, 16}, {3, 24}, {2, 64}, {2, 12}, {1, 5}} {
			for _, seq := range []int{1, 2, 7, 8, 9, 16, 17, 33, 70} {
				for _, valid := range []int{seq, seq - 1, seq / 2, 1} {
					if valid < 1 {
						continue
					}
					for _, qs := range []float32{1, 8} {
						if err := checkAttention(r, k.Attention, seq, sh.heads, sh.hd, valid, qs); err != nil {
							t.Fatalf("%s heads=%d hd=%d seq=%d valid=%d qscale=%g: %v", k.Level(), sh.heads, sh.hd, seq, valid, qs, err)
						}
					}
				}
			}
		}
		// valid ≤ 0 leaves everything untouched.
		out := filled(4*32, sentinel)
		k.Attention(out, make([]float32, 4*96), 4, 1, 32, 0, make([]float32, AttentionScratch(4)))
		for _, v := range out {
			if v != sentinel {
				t.Fatalf("%s: valid=0 wrote the output", k.Level())
			}
		}
	}
}

// TestAttentionLong covers the lengths where the SIMD levels switch to the
// blocked path (several key panels, a partial last one, masked rows).
func TestAttentionLong(t *testing.T) {
	type shape struct{ heads, hd, seq, valid int }
	shapes := []shape{{12, 32, 256, 256}, {12, 32, 256, 203}, {2, 32, 130, 97}, {2, 64, 100, 100},
		{3, 24, 129, 129}, {2, 16, 97, 96}, {2, 8, 120, 113}}
	for _, k := range levels(t) {
		r := rand.New(rand.NewPCG(9, uint64(k.Level())))
		for _, sh := range shapes {
			for _, qs := range []float32{1, 8} {
				if err := checkAttention(r, k.Attention, sh.seq, sh.heads, sh.hd, sh.valid, qs); err != nil {
					t.Fatalf("%s heads=%d hd=%d seq=%d valid=%d qscale=%g: %v", k.Level(), sh.heads, sh.hd, sh.seq, sh.valid, qs, err)
				}
			}
		}
	}
}

// TestCheckersCatchBrokenKernels proves the checks above can fail: each is
// pointed at a kernel with one plausible bug and must reject it.
func TestCheckersCatchBrokenKernels(t *testing.T) {
	g, _ := New(Generic)
	r := rand.New(rand.NewPCG(7, 7))

	// A matmul that forgets the last k step (a classic loop-bound bug).
	dropLastK := func(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
		g.MatMul(c, a, m, w, bias, p0, p1)
		for i := 0; i < m; i++ {
			for j := p0 * w.panel; j < min(w.N, p1*w.panel); j++ {
				p, col := j/w.panel, j%w.panel
				c[i*w.N+j] -= a[i*w.K+w.K-1] * w.data[(p*w.K+w.K-1)*w.panel+col]
			}
		}
	}
	if newMatMulCase(r, 5, 17, 384).check(dropLastK, g, true, 0, -1) == nil {
		t.Error("matmul check accepted a kernel that drops the last k")
	}
	// A matmul that writes one column past the panel range.
	overrun := func(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
		g.MatMul(c, a, m, w, bias, p0, p1)
		c[min(w.N, p1*w.panel)%w.N] = 0
	}
	if newMatMulCase(r, 3, 33, 8).check(overrun, g, false, 1, 2) == nil {
		t.Error("matmul check accepted a kernel that writes outside its panels")
	}
	// GELU by the tanh approximation: off by up to ~5e-4.
	tanhGELU := func(x []float32) {
		for i, v := range x {
			f := float64(v)
			x[i] = float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
		}
	}
	if _, err := checkGELU(tanhGELU, geluInputs()[:100]); err == nil {
		t.Error("gelu check accepted the tanh approximation")
	}
	// LayerNorm that ignores the residual.
	noRes := func(x, res []float32, rows, dim int, gamma, beta []float32, eps float32) {
		g.LayerNorm(x, nil, rows, dim, gamma, beta, eps)
	}
	if checkLayerNorm(r, noRes, 3, 384, true) == nil {
		t.Error("layernorm check accepted a kernel that ignores the residual")
	}
	// Attention that ignores the mask.
	noMask := func(out, qkv []float32, seq, heads, hd, valid int, scratch []float32) {
		attentionGeneric(out, qkv, seq, heads, hd, seq, 0, heads, scratch)
	}
	if checkAttention(r, noMask, 16, 2, 32, 9, 1) == nil {
		t.Error("attention check accepted a kernel that ignores the mask")
	}
}

// TestAttentionHeads checks that head ranges partition the work: running
// [0, k) and [k, heads) separately gives exactly Attention's output, and a
// range writes no column outside its heads.
func TestAttentionHeads(t *testing.T) {
	const heads, hd = 12, 32
	for _, k := range levels(t) {
		r := rand.New(rand.NewPCG(8, uint64(k.Level())))
		for _, seq := range []int{5, 70, 200} {
			qkv := randSlice(r, seq*3*heads*hd, 1)
			want := make([]float32, seq*heads*hd)
			k.Attention(want, qkv, seq, heads, hd, seq, make([]float32, AttentionScratch(seq)))
			got := filled(seq*heads*hd, sentinel)
			k.AttentionHeads(got, qkv, seq, heads, hd, seq, 0, 5, make([]float32, AttentionScratch(seq)))
			for i, v := range got {
				if head := i % (heads * hd) / hd; head >= 5 && v != sentinel {
					t.Fatalf("%s seq=%d: heads [0,5) wrote column %d of head %d", k.Level(), seq, i%(heads*hd), head)
				}
			}
			k.AttentionHeads(got, qkv, seq, heads, hd, seq, 5, heads, make([]float32, AttentionScratch(seq)))
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s seq=%d: split heads give out[%d] = %g, whole pass %g", k.Level(), seq, i, got[i], want[i])
				}
			}
		}
	}
}
