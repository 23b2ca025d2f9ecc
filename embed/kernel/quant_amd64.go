package kernel

// The Go half of the SIMD int8 path: row blocking and edge handling around
// the assembly micro-kernels, which each compute one row tile of one panel
// over the whole of K, and the drivers of the quantizer.

// Int8 micro-kernel shapes.
const (
	vnniRows     = 8
	vnniPanel    = 48
	avx2Int8Rows = 4
	avx2Int8Pan  = 16
)

// avx2Spec narrows the weight codes to ±63 so that VPMADDUBSW's int16
// pair sums (at most 2·255·63 = 32130) never saturate. The other choice,
// 7-bit activations with full weights, measured worse on the model: over
// the 928 texts of llm_tasks' validation split, cosine(fp32, int8) had a
// p1 of 0.9914 and a minimum of 0.982 this way, 0.9844 and 0.968 that way
// (AVX-512's full ranges: 0.9954 and 0.989). Activation rows are widened
// to hold zero and often one-signed, so they have fewer codes to spare.
var avx2Spec = quantSpec{actMax: 255, wMax: 63}

//go:noescape
func gemmInt8x48AVX512(a *uint8, lda, rows int, b *int8, groups int, c *float32, ldc int, sa *float32, za *int32, sw *float32, cs *int32, bias *float32, mask, bmask uint64)

//go:noescape
func gemmInt8x16AVX2(a *uint8, lda, rows int, b *int8, groups int, c *float32, ldc int, sa *float32, za *int32, sw *float32, cs *int32, bias *float32)

//go:noescape
func minMaxAVX512(x *float32, n int) (lo, hi float32)

//go:noescape
func quantizeAVX512(dst *uint8, src *float32, n int, inv, zero, top float32)

//go:noescape
func minMaxAVX2(x *float32, n int) (lo, hi float32)

//go:noescape
func quantizeAVX2(dst *uint8, src *float32, n int, inv, zero, top float32)

// int8RowBlock returns how many rows of a one sweep over the panels
// covers: their codes (rowBlockBytes) stay in L2 while every panel passes
// by, and a panel is re-read once per row tile. Blocks are balanced, and a
// batch that fits is never split, so a short batch reads each weight once.
func int8RowBlock(m, stride, mr int) int {
	maxRows := max(mr, rowBlockBytes/max(stride, 1)/mr*mr)
	nm := (m + maxRows - 1) / maxRows
	return ((m+nm-1)/nm + mr - 1) / mr * mr
}

func matmulInt8VNNI(c []float32, q *Quantized, w *PackedInt8, bias []float32, p0, p1 int) {
	m, N, kp := q.m, w.N, w.kp
	mc := int8RowBlock(m, kp, vnniRows)
	for i0 := 0; i0 < m; i0 += mc {
		i1 := min(m, i0+mc)
		for p := p0; p < p1; p++ {
			col0 := p * vnniPanel
			cols := min(vnniPanel, N-col0)
			mask := uint64(1)<<cols - 1
			var bb *float32
			bmask := uint64(0)
			if bias != nil {
				bb, bmask = &bias[col0], mask
			}
			bp := &w.data[p*vnniPanel*kp]
			for i := i0; i < i1; i += vnniRows {
				gemmInt8x48AVX512(&q.codes[i*kp], kp, min(vnniRows, i1-i), bp, kp/quantGroup,
					&c[i*N+col0], N, &q.scale[i], &q.zero[i], &w.scale[col0], &w.colSum[col0], bb, mask, bmask)
			}
		}
	}
}

func matmulInt8AVX2(c []float32, q *Quantized, w *PackedInt8, bias []float32, p0, p1 int) {
	m, N, kp := q.m, w.N, w.kp
	mc := int8RowBlock(m, kp, avx2Int8Rows)
	// AVX2 has no cheap masked stores: a partial last panel goes through a
	// full-width scratch tile, and the bias through a zero-padded copy
	// (all zeros without a bias).
	var tile [avx2Int8Rows * avx2Int8Pan]float32
	var padBias [avx2Int8Pan]float32
	for i0 := 0; i0 < m; i0 += mc {
		i1 := min(m, i0+mc)
		for p := p0; p < p1; p++ {
			col0 := p * avx2Int8Pan
			cols := min(avx2Int8Pan, N-col0)
			bb := &padBias[0]
			if bias != nil {
				if cols == avx2Int8Pan {
					bb = &bias[col0]
				} else {
					copy(padBias[:], bias[col0:col0+cols])
				}
			}
			bp := &w.data[p*avx2Int8Pan*kp]
			for i := i0; i < i1; i += avx2Int8Rows {
				rows := min(avx2Int8Rows, i1-i)
				if cols == avx2Int8Pan {
					gemmInt8x16AVX2(&q.codes[i*kp], kp, rows, bp, kp/quantGroup,
						&c[i*N+col0], N, &q.scale[i], &q.zero[i], &w.scale[col0], &w.colSum[col0], bb)
					continue
				}
				gemmInt8x16AVX2(&q.codes[i*kp], kp, rows, bp, kp/quantGroup,
					&tile[0], avx2Int8Pan, &q.scale[i], &q.zero[i], &w.scale[col0], &w.colSum[col0], bb)
				for r := range rows {
					copy(c[(i+r)*N+col0:(i+r)*N+col0+cols], tile[r*avx2Int8Pan:])
				}
			}
		}
	}
}

func minMaxVecAVX512(x []float32) (lo, hi float32) {
	if len(x) == 0 {
		return 0, 0
	}
	return minMaxAVX512(&x[0], len(x))
}

func quantizeVecAVX512(dst []uint8, src []float32, inv, zero, top float32) {
	if len(src) == 0 {
		return
	}
	_ = dst[len(src)-1]
	quantizeAVX512(&dst[0], &src[0], len(src), inv, zero, top)
}

func minMaxVecAVX2(x []float32) (lo, hi float32) {
	n := len(x) &^ 7
	if n > 0 {
		lo, hi = minMaxAVX2(&x[0], n)
	}
	for _, v := range x[n:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

func quantizeVecAVX2(dst []uint8, src []float32, inv, zero, top float32) {
	n := len(src) &^ 31
	if n > 0 {
		_ = dst[n-1]
		quantizeAVX2(&dst[0], &src[0], n, inv, zero, top)
	}
	quantizeGeneric(dst[n:len(src)], src[n:], inv, zero, top)
}
