package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The int8 kernels are checked two ways. Exactly: integer sums have one
// right answer and the epilogue's float32 operations are fixed in order, so
// every level must reproduce, bit for bit, a reference computed here from
// the definitions in quant.go (on unpacked codes, so a packing bug shows
// too). And against the real product: the result must be within the error
// bound quantization itself allows, so a definition that is consistent but
// wrong (a sign, a lost zero point) would still fail.

// refQuantWeights quantizes one row of w as PackInt8 defines it.
func refQuantWeights(row []float32, wMax int32) (codes []int32, scale float32, sum int32) {
	var amax float64
	for _, v := range row {
		amax = math.Max(amax, math.Abs(float64(v)))
	}
	codes = make([]int32, len(row))
	if amax == 0 {
		return codes, 0, 0
	}
	s := amax / float64(wMax)
	for i, v := range row {
		c := int32(math.RoundToEven(float64(v) / s))
		codes[i] = min(max(c, -wMax), wMax)
		sum += codes[i]
	}
	return codes, float32(s), sum
}

// refQuantRow quantizes one activation row as Quantize defines it.
func refQuantRow(row []float32, actMax int32) (codes []uint8, scale float32, zero int32) {
	var lo, hi float32
	for _, v := range row {
		lo, hi = min(lo, v), max(hi, v)
	}
	codes = make([]uint8, len(row))
	if !(hi > lo) {
		return codes, 0, 0
	}
	top := float32(actMax)
	scale = (hi - lo) / top
	inv := top / (hi - lo)
	zero = min(max(int32(math.RoundToEven(float64(-lo*inv))), 0), actMax)
	for i, v := range row {
		x := float32(float32(v*inv) + float32(zero))
		switch {
		case x != x || x <= 0:
			x = 0
		case x >= top:
			x = top
		}
		codes[i] = uint8(math.RoundToEven(float64(x)))
	}
	return codes, scale, zero
}

func TestParsePrecision(t *testing.T) {
	for in, want := range map[string]Precision{"": Auto, "auto": Auto, "FP32": FP32, " int8 ": Int8} {
		got, err := ParsePrecision(in)
		if err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParsePrecision(got.String()); err != nil || back != got {
			t.Errorf("%v does not round-trip through its name: %v, %v", got, back, err)
		}
	}
	if _, err := ParsePrecision("int4"); err == nil {
		t.Error("ParsePrecision(int4) succeeded")
	}
	for l, want := range map[Level]Precision{Generic: FP32, AVX2: Int8, AVX512: Int8} {
		if got := Auto.Resolve(l); got != want {
			t.Errorf("auto at %v = %v, want %v", l, got, want)
		}
		if got := FP32.Resolve(l); got != FP32 {
			t.Errorf("fp32 at %v = %v", l, got)
		}
	}
}

// quantRows are activation rows that stress the quantizer: ordinary,
// one-signed, constant, zero, with one outlier, and tiny.
func quantRows(r *rand.Rand, n int) map[string][]float32 {
	rows := map[string][]float32{
		"uniform":  randSlice(r, n, 3),
		"positive": make([]float32, n),
		"negative": make([]float32, n),
		"constant": filled(n, 0.75),
		"zero":     make([]float32, n),
		"outlier":  randSlice(r, n, 0.1),
		"tiny":     randSlice(r, n, 1e-30),
	}
	for i := range n {
		rows["positive"][i] = r.Float32() * 5
		rows["negative"][i] = -r.Float32() * 0.01
	}
	rows["outlier"][r.IntN(n)] = -40
	return rows
}

func TestQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, k := range levels(t) {
		actMax := k.impl.qspec.actMax
		for _, n := range []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 384, 1536} {
			for name, row := range quantRows(r, n) {
				var q Quantized
				// Three rows: the middle one is checked, its neighbours
				// hold other data to catch writes past a row's end.
				a := append(append(randSlice(r, n, 1), row...), randSlice(r, n, 1)...)
				q.Reset(3, n)
				for i := range q.codes {
					q.codes[i] = 0xAA
				}
				q.Reset(3, n) // zeroes the padding again, reusing the memory
				k.Quantize(&q, a, 1, 2)
				codes, scale, zero := refQuantRow(row, actMax)
				if q.scale[1] != scale || q.zero[1] != zero {
					t.Fatalf("%s n=%d %s: scale, zero = %g, %d; want %g, %d", k.Level(), n, name, q.scale[1], q.zero[1], scale, zero)
				}
				for i, c := range codes {
					if got := q.codes[q.stride+i]; got != c {
						t.Fatalf("%s n=%d %s: code[%d] = %d, want %d (value %g)", k.Level(), n, name, i, got, c, row[i])
					}
					// Independent of the definition: the code must
					// reconstruct the value to within half a step.
					back := float64(scale) * float64(int32(c)-zero)
					if d := math.Abs(back - float64(row[i])); d > 0.5001*float64(scale)+1e-45 {
						t.Fatalf("%s n=%d %s: value %g comes back as %g (step %g)", k.Level(), n, name, row[i], back, scale)
					}
				}
				for i, c := range q.codes {
					// Rows 0 and 2 were not asked for; every row's padding
					// was zeroed by Reset.
					want := uint8(0xAA)
					switch {
					case i%q.stride >= n:
						want = 0
					case i >= q.stride && i < 2*q.stride:
						continue
					}
					if c != want {
						t.Fatalf("%s n=%d %s: byte %d of the codes = %#x, want %#x", k.Level(), n, name, i, c, want)
					}
				}
			}
		}
	}
}

// int8Case is one random product with everything the checks need. The
// references are computed once per case (per code ranges), not once per
// level and bias: they dominate the test's run time, ~10x more so under
// -race.
type int8Case struct {
	m, n, k    int
	a, w, bias []float32
	exact      []float64 // a·wᵀ in float64, without the bias
	sumA, sumW []float64 // Σ_k |a_ik| per row, Σ_k |w_jk| per column
	refs       map[quantSpec]*int8Ref
}

// int8Ref is the exact integer reference for one set of code ranges.
type int8Ref struct {
	acc    []int32 // Σ_k A_ik·W_jk − z_i·Σ_k W_jk
	as, ws []float32
}

func newInt8Case(r *rand.Rand, m, n, k int) *int8Case {
	tc := &int8Case{m: m, n: n, k: k, a: randSlice(r, m*k, 2), w: randSlice(r, n*k, 0.5), bias: randSlice(r, n, 1)}
	// Some rows and columns with ranges the random ones do not reach: a
	// one-signed row (GELU outputs), an outlier, and a zero column.
	if m > 1 {
		for x := range k {
			tc.a[k+x] = float32(math.Abs(float64(tc.a[k+x])))
		}
		tc.a[r.IntN(m*k)] = 25
	}
	if n > 2 {
		clear(tc.w[2*k : 3*k])
	}
	return tc.prepare()
}

// prepare computes the float64 product and the magnitudes the error bound
// needs.
func (tc *int8Case) prepare() *int8Case {
	m, n, k := tc.m, tc.n, tc.k
	tc.exact, tc.sumA, tc.sumW = make([]float64, m*n), make([]float64, m), make([]float64, n)
	tc.refs = map[quantSpec]*int8Ref{}
	for i := range m {
		for _, v := range tc.a[i*k : i*k+k] {
			tc.sumA[i] += math.Abs(float64(v))
		}
	}
	for j := range n {
		for _, v := range tc.w[j*k : j*k+k] {
			tc.sumW[j] += math.Abs(float64(v))
		}
	}
	for i := range m {
		for j := range n {
			var s float64
			for x, av := range tc.a[i*k : i*k+k] {
				s += float64(av) * float64(tc.w[j*k+x])
			}
			tc.exact[i*n+j] = s
		}
	}
	return tc
}

// ref returns the integer reference for spec, from the definitions, on
// unpacked codes.
func (tc *int8Case) ref(spec quantSpec) *int8Ref {
	if r, ok := tc.refs[spec]; ok {
		return r
	}
	m, n, K := tc.m, tc.n, tc.k
	r := &int8Ref{acc: make([]int32, m*n), as: make([]float32, m), ws: make([]float32, n)}
	wc := make([][]int32, n)
	wsum := make([]int32, n)
	for j := range n {
		wc[j], r.ws[j], wsum[j] = refQuantWeights(tc.w[j*K:j*K+K], spec.wMax)
	}
	for i := range m {
		ac, as, az := refQuantRow(tc.a[i*K:i*K+K], spec.actMax)
		r.as[i] = as
		for j := range n {
			var acc int32
			for x, c := range ac {
				acc += int32(c) * wc[j][x]
			}
			r.acc[i*n+j] = acc - az*wsum[j]
		}
	}
	tc.refs[spec] = r
	return r
}

// check runs k's quantizer and int8 product on tc and compares the result
// with the exact reference and the quantization error bound. Panels
// outside [p0, p1) (p1 < 0: all) and the spare row must keep the sentinel.
func (tc *int8Case) check(k *Kernels, withBias bool, p0, p1 int) error {
	m, n, K := tc.m, tc.n, tc.k
	var bias []float32
	if withBias {
		bias = tc.bias
	}
	pw := k.PackInt8(tc.w, n, K)
	if p1 < 0 {
		p1 = pw.Panels()
	}
	var q Quantized
	q.Reset(m, K)
	k.Quantize(&q, tc.a, 0, m)
	c := filled((m+1)*n, sentinel)
	k.MatMulInt8(c, &q, pw, bias, p0, p1)

	ref := tc.ref(k.impl.qspec)
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
			var b float32
			if bias != nil {
				b = bias[j]
			}
			if want := dequant(ref.acc[i*n+j], ref.as[i], ref.ws[j], b); math.Float32bits(got) != math.Float32bits(want) {
				return fmt.Errorf("c[%d][%d] = %g, want exactly %g (corrected sum %d)", i, j, got, want, ref.acc[i*n+j])
			}
			// The real product, and how far quantization may move it:
			// with |a − â| ≤ s/2 and |w − ŵ| ≤ t/2 per term,
			// |a·w − â·ŵ| ≤ Σ |a|·t/2 + |w|·s/2 + s·t/4.
			s, t := float64(ref.as[i]), float64(ref.ws[j])
			exact := tc.exact[i*n+j] + float64(b)
			bound := (tc.sumA[i]*t/2+tc.sumW[j]*s/2+float64(K)*s*t/4)*1.001 +
				1e-6*(math.Abs(exact)+math.Abs(float64(b))) + 1e-30
			if d := math.Abs(float64(got) - exact); d > bound {
				return fmt.Errorf("c[%d][%d] = %g, real product %g: error %.3g over the quantization bound %.3g", i, j, got, exact, d, bound)
			}
		}
	}
	return nil
}

func TestMatMulInt8(t *testing.T) {
	ns := []int{1, 7, 15, 16, 17, 33, 47, 48, 49, 384, 1152}
	ks := []int{1, 3, 4, 5, 31, 384, 1536}
	kernels := levels(t)
	r := rand.New(rand.NewPCG(6, 6))
	for _, n := range ns {
		for _, kk := range ks {
			var ms []int
			switch {
			case n*kk <= 64*384:
				for m := 1; m <= 17; m++ {
					ms = append(ms, m)
				}
				ms = append(ms, 33, 64)
			case n*kk <= 384*384:
				ms = []int{1, 3, 4, 5, 8, 9, 16, 17}
			default:
				ms = []int{1, 5, 8, 13}
			}
			for _, m := range ms {
				tc := newInt8Case(r, m, n, kk)
				for _, k := range kernels {
					for _, withBias := range []bool{false, true} {
						if err := tc.check(k, withBias, 0, -1); err != nil {
							t.Fatalf("%s m=%d n=%d k=%d bias=%v: %v", k.Level(), m, n, kk, withBias, err)
						}
					}
				}
			}
		}
	}
}

// TestMatMulInt8LargeBatch covers the row blocking: more rows than one
// block holds.
func TestMatMulInt8LargeBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, s := range []struct{ m, n, kk int }{{400, 49, 1536}, {300, 64, 383}} {
		tc := newInt8Case(r, s.m, s.n, s.kk)
		for _, k := range levels(t) {
			if err := tc.check(k, true, 0, -1); err != nil {
				t.Fatalf("%s m=%d n=%d k=%d: %v", k.Level(), s.m, s.n, s.kk, err)
			}
		}
	}
}

func TestMatMulInt8PanelRange(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{17, 100, 385} {
		for _, m := range []int{1, 9, 16} {
			tc := newInt8Case(r, m, n, 31)
			for _, k := range levels(t) {
				np := (n + k.impl.qpanel - 1) / k.impl.qpanel
				for p0 := 0; p0 < np; p0 += max(1, np/4) {
					for _, p1 := range []int{p0 + 1, np} {
						if err := tc.check(k, m%2 == 1, p0, p1); err != nil {
							t.Fatalf("%s m=%d n=%d panels [%d,%d): %v", k.Level(), m, n, p0, p1, err)
						}
					}
				}
			}
		}
	}
}

// TestMatMulInt8Extremes feeds every code its extreme: all activations at
// the top code and weights at ±wMax, the case where VPMADDUBSW would
// saturate if the AVX2 level's ranges were wrong, and the largest sums.
func TestMatMulInt8Extremes(t *testing.T) {
	const m, n, K = 9, 49, 1536
	a := filled(m*K, 1)
	for x := 0; x < K; x += 3 {
		a[x] = 0 // row 0 keeps a zero point of 0 and some zero codes
	}
	w := make([]float32, n*K)
	for j := range n {
		for x := range K {
			w[j*K+x] = 1
			if (j+x/4)%2 == 1 {
				w[j*K+x] = -1
			}
		}
	}
	tc := (&int8Case{m: m, n: n, k: K, a: a, w: w, bias: filled(n, 0.5)}).prepare()
	for _, k := range levels(t) {
		if err := tc.check(k, true, 0, -1); err != nil {
			t.Fatalf("%s: %v", k.Level(), err)
		}
	}
}

func TestMatMulInt8RejectsOtherLevelsWeights(t *testing.T) {
	ks := levels(t)
	if len(ks) < 2 || ks[0].impl.qpanel == ks[len(ks)-1].impl.qpanel {
		t.Skip("needs two levels with different int8 panels")
	}
	w := ks[0].PackInt8(make([]float32, 16*8), 16, 8)
	var q Quantized
	q.Reset(1, 8)
	defer func() {
		if recover() == nil {
			t.Fatal("MatMulInt8 accepted weights packed for another level")
		}
	}()
	ks[len(ks)-1].MatMulInt8(make([]float32, 16), &q, w, nil, 0, 1)
}

// FuzzMatMulInt8 checks every SIMD level against the portable path on
// arbitrary shapes and values, bit for bit. Rows holding NaN only have to
// come out without a panic: the order in which vector min/max meet a NaN
// is not specified, so their ranges may legitimately differ.
func FuzzMatMulInt8(f *testing.F) {
	f.Add(uint8(3), uint8(17), uint8(5), []byte("some bytes of activations and weights"))
	f.Add(uint8(9), uint8(49), uint8(64), make([]byte, 300))
	f.Add(uint8(1), uint8(1), uint8(1), []byte{0xff, 0xff, 0x7f, 0x7f})
	f.Fuzz(func(t *testing.T, m8, n8, k8 uint8, data []byte) {
		m, n, K := 1+int(m8)%20, 1+int(n8)%100, 1+int(k8)%200
		vals := make([]float32, m*K+n*K+n)
		hasNaN := false
		for i := range vals {
			if len(data) >= 4 {
				// Raw bits: infinities, denormals and huge values too.
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[(4*i)%(len(data)-3):]))
			}
			if vals[i] != vals[i] {
				hasNaN = true
			}
		}
		a, w, bias := vals[:m*K], vals[m*K:m*K+n*K], vals[m*K+n*K:]
		for _, v := range w {
			if math.IsInf(float64(v), 0) || v != v {
				return // weights come from a checkpoint: never infinite
			}
		}
		base, err := New(Generic)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range levels(t)[1:] {
			want := runInt8(base, k.impl.qspec, a, w, bias, m, n, K)
			got := runInt8(k, k.impl.qspec, a, w, bias, m, n, K)
			if hasNaN {
				continue
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s m=%d n=%d k=%d: c[%d] = %g, generic %g", k.Level(), m, n, K, i, got[i], want[i])
				}
			}
		}
	})
}

// runInt8 quantizes and multiplies on k with the code ranges of spec (the
// portable path then computes exactly what a SIMD level should).
func runInt8(k *Kernels, spec quantSpec, a, w, bias []float32, m, n, K int) []float32 {
	kk := *k
	kk.impl.qspec = spec
	if kk.level == Generic {
		kk.impl.qpanel = genericQPanel
	}
	var q Quantized
	q.Reset(m, K)
	kk.Quantize(&q, a, 0, m)
	c := make([]float32, m*n)
	pw := kk.PackInt8(w, n, K)
	kk.MatMulInt8(c, &q, pw, bias, 0, pw.Panels())
	return c
}
