package kernel

// The Go half of the SIMD matmul: cache blocking and edge handling around
// the assembly micro-kernels, which each compute one mr x panel tile of c
// over one k range.

// Micro-kernel shapes. The panel width is the tile's column count, so one
// panel is one column strip of tiles.
const (
	avx512Rows  = 8
	avx512Panel = 48
	avx2Rows    = 4
	avx2Panel   = 24
)

// Blocking. A panel's k block (kBlock x panel floats, at most 96 KiB for
// AVX-512) is re-read once per row tile, so it must stay in L2 while the
// row tiles sweep past; the rows of a the sweep touches (rowBlockBytes) stay
// in L2 across all panels. Small batches never split: for m ≤ rows in one
// block, every weight is streamed from memory exactly once, which is what
// bounds the single-sentence case.
const (
	kBlock        = 512
	rowBlockBytes = 256 << 10
)

// Initialisation modes of a micro-kernel call.
const (
	initZero  = 0 // c = a·w
	initBias  = 1 // c = bias + a·w
	initAccum = 2 // c += a·w (a later k block)
)

//go:noescape
func gemm8x48AVX512(a *float32, lda, rows int, b *float32, k int, c *float32, ldc int, bias *float32, mask uint64, mode int)

//go:noescape
func gemm4x24AVX2(a *float32, lda, rows int, b *float32, k int, c *float32, ldc int, bias *float32, mode int)

// blocking returns the k block and the number of rows of a swept per panel.
// Both are balanced (equal-sized blocks) so no block is a sliver.
func blocking(m, K, mr int) (kc, mc int) {
	nk := max(1, (K+kBlock-1)/kBlock)
	kc = (K + nk - 1) / nk
	maxRows := max(mr, rowBlockBytes/(4*max(kc, 1))/mr*mr)
	nm := (m + maxRows - 1) / maxRows
	mc = ((m+nm-1)/nm + mr - 1) / mr * mr
	return kc, mc
}

func matmulAVX512(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
	K, N := w.K, w.N
	if w.panel != avx512Panel {
		panic("kernel: matmul: weights packed for another level")
	}
	kc, mc := blocking(m, K, avx512Rows)
	for k0 := 0; k0 == 0 || k0 < K; k0 += kc {
		kn := min(kc, K-k0)
		mode := accumMode(k0, bias)
		for i0 := 0; i0 < m; i0 += mc {
			i1 := min(m, i0+mc)
			for p := p0; p < p1; p++ {
				col0 := p * avx512Panel
				cols := min(avx512Panel, N-col0)
				mask := uint64(1)<<cols - 1
				var bp *float32
				if kn > 0 {
					bp = &w.data[(p*K+k0)*avx512Panel]
				}
				var bb *float32
				if mode == initBias {
					bb = &bias[col0]
				}
				for i := i0; i < i1; i += avx512Rows {
					var ap *float32
					if kn > 0 {
						ap = &a[i*K+k0]
					}
					gemm8x48AVX512(ap, K, min(avx512Rows, i1-i), bp, kn, &c[i*N+col0], N, bb, mask, mode)
				}
			}
		}
	}
}

func matmulAVX2(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
	K, N := w.K, w.N
	if w.panel != avx2Panel {
		panic("kernel: matmul: weights packed for another level")
	}
	kc, mc := blocking(m, K, avx2Rows)
	// AVX2 has no cheap masked stores, so a partial last panel goes through
	// a full-width scratch tile (and a zero-padded copy of the bias).
	var tile [avx2Rows * avx2Panel]float32
	var padBias [avx2Panel]float32
	for k0 := 0; k0 == 0 || k0 < K; k0 += kc {
		kn := min(kc, K-k0)
		mode := accumMode(k0, bias)
		for i0 := 0; i0 < m; i0 += mc {
			i1 := min(m, i0+mc)
			for p := p0; p < p1; p++ {
				col0 := p * avx2Panel
				cols := min(avx2Panel, N-col0)
				var bp *float32
				if kn > 0 {
					bp = &w.data[(p*K+k0)*avx2Panel]
				}
				var bb *float32
				if mode == initBias {
					if cols == avx2Panel {
						bb = &bias[col0]
					} else {
						copy(padBias[:], bias[col0:col0+cols])
						bb = &padBias[0]
					}
				}
				for i := i0; i < i1; i += avx2Rows {
					rows := min(avx2Rows, i1-i)
					var ap *float32
					if kn > 0 {
						ap = &a[i*K+k0]
					}
					if cols == avx2Panel {
						gemm4x24AVX2(ap, K, rows, bp, kn, &c[i*N+col0], N, bb, mode)
						continue
					}
					if mode == initAccum {
						for r := range rows {
							copy(tile[r*avx2Panel:r*avx2Panel+cols], c[(i+r)*N+col0:])
						}
					}
					gemm4x24AVX2(ap, K, rows, bp, kn, &tile[0], avx2Panel, bb, mode)
					for r := range rows {
						copy(c[(i+r)*N+col0:(i+r)*N+col0+cols], tile[r*avx2Panel:])
					}
				}
			}
		}
	}
}

// accumMode tells a micro-kernel how to start its accumulators for the K
// block at k0: from the bias (or zero) on the first block, from the partial
// sums already in c on the later ones.
func accumMode(k0 int, bias []float32) int {
	switch {
	case k0 > 0:
		return initAccum
	case bias != nil:
		return initBias
	}
	return initZero
}
