// Package kernel owns the numeric kernels of the in-process embedding model:
// a matrix multiply against pre-packed weights, fused bias/residual
// LayerNorm, exact GELU, and masked multi-head attention.
//
// Every kernel has a portable Go implementation and, on amd64, Go assembly
// for AVX2+FMA and for AVX-512, chosen at run time from the CPU's features.
// A *Kernels value is immutable after New and safe for concurrent use; the
// slices passed to one call must not be written by another goroutine during
// that call.
package kernel

import (
	"fmt"
	"strings"
)

// Level names one instruction-set path.
type Level int

// The paths, slowest first.
const (
	Generic Level = iota // plain Go, any architecture
	AVX2                 // AVX2 + FMA (amd64)
	AVX512               // AVX-512 F/DQ/BW/VL (amd64)
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel reads a level name as printed by String ("generic", "avx2",
// "avx512"); "" and "auto" mean Best().
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Best(), nil
	case "generic", "go", "none":
		return Generic, nil
	case "avx2":
		return AVX2, nil
	case "avx512", "avx-512":
		return AVX512, nil
	}
	return Generic, fmt.Errorf("unknown simd level %q (want auto, generic, avx2 or avx512)", s)
}

// Best reports the fastest level this CPU supports.
func Best() Level {
	switch {
	case Supported(AVX512):
		return AVX512
	case Supported(AVX2):
		return AVX2
	}
	return Generic
}

// Kernels is one level's set of kernels.
type Kernels struct {
	level Level
	impl  impl
}

// impl is the per-level set of primitive functions. Generic is the
// reference every other level is tested against.
type impl struct {
	panel     int // columns per packed panel
	matmul    func(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int)
	layerNorm func(x, res []float32, rows, dim int, gamma, beta []float32, eps float32)
	gelu      func(x []float32)
	attention func(out, qkv []float32, seq, heads, headDim, valid, h0, h1 int, scratch []float32)

	// The int8 path (quant.go).
	qpanel     int       // columns per packed int8 panel
	qspec      quantSpec // code ranges the micro-kernel can sum without overflow
	minMax     func(x []float32) (lo, hi float32)
	quantize   func(dst []uint8, src []float32, inv, zero, top float32)
	matmulInt8 func(c []float32, q *Quantized, w *PackedInt8, bias []float32, p0, p1 int)
}

// New returns the kernels for level l, or an error if this CPU cannot run
// them.
func New(l Level) (*Kernels, error) {
	if !Supported(l) {
		return nil, fmt.Errorf("simd level %s is not supported by this cpu", l)
	}
	return &Kernels{level: l, impl: implFor(l)}, nil
}

// Level reports which path k runs.
func (k *Kernels) Level() Level { return k.level }

// Packed is a weight matrix W of shape [N x K] (PyTorch's Linear layout:
// out_features x in_features) rearranged for one level's matmul micro-kernel.
// It is immutable after Pack.
type Packed struct {
	N, K  int
	panel int       // columns per panel (a multiple of the SIMD width)
	data  []float32 // panels of K x panel values, the last one zero-padded
}

// Panels reports how many column panels p holds; MatMul's p0, p1 index them.
func (p *Packed) Panels() int { return (p.N + p.panel - 1) / p.panel }

// Pack copies w ([n x k], row-major) into k's packed layout.
func (k *Kernels) Pack(w []float32, n, kk int) *Packed {
	if len(w) < n*kk {
		panic(fmt.Sprintf("kernel: Pack: len(w)=%d < %d*%d", len(w), n, kk))
	}
	pw := k.impl.panel
	np := (n + pw - 1) / pw
	data := make([]float32, np*kk*pw)
	for p := 0; p < np; p++ {
		base := p * kk * pw
		for j := 0; j < pw; j++ {
			col := p*pw + j
			if col >= n {
				break
			}
			row := w[col*kk : col*kk+kk]
			for i, v := range row {
				data[base+i*pw+j] = v
			}
		}
	}
	return &Packed{N: n, K: kk, panel: pw, data: data}
}

// MatMul computes, for the output columns in panels [p0, p1) of w,
// c[i][j] = bias[j] + Σ_k a[i][k]·W[j][k] for every row i < m, where a is
// [m x w.K] and c is [m x w.N], both row-major and dense. bias may be nil.
// Splitting [0, w.Panels()) into disjoint ranges lets callers run one
// product on several goroutines.
func (k *Kernels) MatMul(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
	if m == 0 || p0 >= p1 {
		return
	}
	if len(a) < m*w.K || len(c) < m*w.N || (bias != nil && len(bias) < w.N) || p0 < 0 || p1 > w.Panels() {
		panic("kernel: MatMul: operand out of range")
	}
	k.impl.matmul(c, a, m, w, bias, p0, p1)
}

// LayerNorm normalises each of the rows of x ([rows x dim]) in place:
// x = gamma ⊙ (y - mean(y)) / sqrt(var(y) + eps) + beta, where y = x + res
// (res may be nil, else [rows x dim]). Variance is the biased one, as in
// PyTorch.
func (k *Kernels) LayerNorm(x, res []float32, rows, dim int, gamma, beta []float32, eps float32) {
	if len(x) < rows*dim || (res != nil && len(res) < rows*dim) || len(gamma) < dim || len(beta) < dim {
		panic("kernel: LayerNorm: operand out of range")
	}
	k.impl.layerNorm(x, res, rows, dim, gamma, beta, eps)
}

// GELU applies the exact (erf-based) GELU in place:
// x = x/2 · (1 + erf(x/√2)). erf is evaluated in float32 to within 4e-7
// (absolute) everywhere; GELU(+Inf) = +Inf and GELU(-Inf) = 0, never NaN.
func (k *Kernels) GELU(x []float32) { k.impl.gelu(x) }

// AttentionScratch reports how many float32s Attention needs as scratch
// for a sequence of seq tokens. It is sized for heads of up to 64
// dimensions (a dense copy of a head's keys and values, or the blocked
// path's packed keys and values and one block of scores); larger heads run
// on the slower paths that need less.
func AttentionScratch(seq int) int { return 136*seq + 4096 }

// Attention runs scaled dot-product self-attention for one sequence.
// qkv is [seq x 3·heads·headDim]: each row holds the token's query, then its
// key, then its value, each split into heads of headDim. out is
// [seq x heads·headDim]. Only the first valid tokens are attended to (the
// attention mask: keys at positions ≥ valid get zero weight); rows ≥ valid
// of out are left untouched. Scores are scaled by 1/√headDim. scratch must
// hold AttentionScratch(seq) values.
func (k *Kernels) Attention(out, qkv []float32, seq, heads, headDim, valid int, scratch []float32) {
	k.AttentionHeads(out, qkv, seq, heads, headDim, valid, 0, heads, scratch)
}

// AttentionHeads is Attention restricted to heads [h0, h1): it writes only
// those heads' columns of out, so disjoint head ranges of one sequence can
// run on different goroutines (each with its own scratch). Heads are
// independent, which makes them the unit that splits one long sequence
// across cores.
func (k *Kernels) AttentionHeads(out, qkv []float32, seq, heads, headDim, valid, h0, h1 int, scratch []float32) {
	h := heads * headDim
	if valid > seq || len(qkv) < seq*3*h || len(out) < seq*h || len(scratch) < AttentionScratch(seq) ||
		h0 < 0 || h1 > heads {
		panic("kernel: Attention: operand out of range")
	}
	if valid <= 0 || h0 >= h1 {
		return
	}
	k.impl.attention(out, qkv, seq, heads, headDim, valid, h0, h1, scratch)
}
