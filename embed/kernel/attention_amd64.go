package kernel

import "math"

// Attention of long sequences, blocked over queries.
//
// attentionVec handles one query at a time: its scores are dot products of
// hd floats, each finished by a horizontal reduction, and it streams the
// head's keys and values once per query. From ~200 tokens those (64 KiB
// per head for the model) no longer fit in L1, so every query re-reads
// them from L2; with the reductions, that made attention a fifth to a
// third of a 256-token pass, at a fraction of the matmul's FLOP rate. Here
// a block of queries (the micro-kernel's rows) is scored against all keys
// at once, S = Q·Kᵀ, by the matmul micro-kernel with the keys packed
// transposed as weight panels: no reduction is left and each key is loaded
// once per block, not per query. The softmax then runs over the block's
// rows and the values are summed from a dense copy of the head's values
// (pv8x32AVX512 for a whole block on AVX-512, wsumAVX2 per query on AVX2).

//go:noescape
func scaleMaxAVX2(x *float32, n int, scale float32) float32

//go:noescape
func pv8x32AVX512(a *float32, lda, rows int, b *float32, ldb, k int, c *float32, ldc int, inv *float32, mask uint64)

// The sequence lengths from which the blocked paths run. Below them a key
// panel is mostly padding and the per-query kernels are as fast (AVX2 gains
// less: without the 16-lane dot products' reductions to save, only the
// memory traffic of long sequences is left to cut).
const (
	blockedMinKeys512 = 32
	blockedMinKeys2   = 96
)

// blockedScratch reports the scratch the blocked path needs: keys packed
// as ⌈valid/pw⌉ panels of hd x pw, values as a dense [valid x hd] block,
// and one block of mr score rows.
func blockedScratch(hd, valid, mr, pw int) int {
	np := (valid + pw - 1) / pw
	return np*pw*hd + valid*hd + mr*np*pw
}

// scaledMax scales a row of raw scores by scale and returns their maximum,
// as dotsAVX2 would have left them.
func scaledMax(row []float32, scale float32) float32 {
	n8 := len(row) &^ 7
	mx := float32(math.Inf(-1))
	if n8 > 0 {
		mx = scaleMaxAVX2(&row[0], n8, scale)
	}
	for j := n8; j < len(row); j++ {
		row[j] *= scale
		mx = max(mx, row[j])
	}
	return mx
}

// packKV copies head's keys into kp as transposed panels of pw keys
// (kp[p·hd·pw + d·pw + j'] = key[p·pw+j'][d]) and its values into vp as a
// dense [valid x hd] block: their rows in qkv are 3·heads·hd floats apart
// (4.5 KiB for the model), which maps a long sequence onto a few L1 sets.
// Padding (keys ≥ valid, columns ≥ hd) is left as the caller cleared it.
// hd is a multiple of 8.
func packKV(kp, vp, qkv []float32, h, head, hd, valid, pw int) {
	stride := 3 * h
	koff, voff := h+head*hd, 2*h+head*hd
	for p0 := 0; p0 < valid; p0 += pw {
		panel := kp[(p0/pw)*hd*pw : (p0/pw+1)*hd*pw]
		for jj := 0; jj < min(pw, valid-p0); jj++ {
			key := qkv[(p0+jj)*stride+koff : (p0+jj)*stride+koff+hd]
			// Four dimensions per step through a fixed-size view: the
			// compiler then checks bounds once per step, not per load.
			for d := 0; d < hd; d += 4 {
				k4 := (*[4]float32)(key[d : d+4])
				panel[d*pw+jj] = k4[0]
				panel[(d+1)*pw+jj] = k4[1]
				panel[(d+2)*pw+jj] = k4[2]
				panel[(d+3)*pw+jj] = k4[3]
			}
		}
	}
	for j := 0; j < valid; j++ {
		copy(vp[j*hd:j*hd+hd], qkv[j*stride+voff:])
	}
}

// attentionBlocked512 is the blocked path on AVX-512: scores by the
// 8x48 matmul micro-kernel (lane masks for the last key panel), values by
// pv8x32AVX512 straight from a dense copy of the head's values. It reports
// false, doing nothing, if scratch is too small.
func attentionBlocked512(out, qkv []float32, heads, hd, valid, h0, h1 int, scratch []float32) bool {
	const mr, pw = avx512Rows, avx512Panel
	if len(scratch) < blockedScratch(hd, valid, mr, pw) {
		return false
	}
	h := heads * hd
	stride := 3 * h
	scale := float32(1 / math.Sqrt(float64(hd)))
	np := (valid + pw - 1) / pw
	nk, nv, ldS := np*pw*hd, valid*hd, np*pw
	kp, vp, s := scratch[:nk], scratch[nk:nk+nv], scratch[nk+nv:nk+nv+mr*ldS]
	clear(kp)
	var inv [mr]float32
	for head := h0; head < h1; head++ {
		packKV(kp, vp, qkv, h, head, hd, valid, pw)
		for i0 := 0; i0 < valid; i0 += mr {
			rows := min(mr, valid-i0)
			q := &qkv[i0*stride+head*hd]
			for p := 0; p < np; p++ {
				cols := min(pw, valid-p*pw)
				gemm8x48AVX512(q, stride, rows, &kp[p*hd*pw], hd, &s[p*pw], ldS, nil, uint64(1)<<cols-1, initZero)
			}
			for r := 0; r < rows; r++ {
				row := s[r*ldS : r*ldS+valid]
				mx := scaledMax(row, scale)
				inv[r] = 1 / expSumAVX512(&row[0], valid, mx)
			}
			for r := rows; r < mr; r++ {
				inv[r] = inv[rows-1]
			}
			for c0 := 0; c0 < hd; c0 += 32 {
				cols := min(32, hd-c0)
				pv8x32AVX512(&s[0], ldS, rows, &vp[c0], hd, valid, &out[i0*h+head*hd+c0], h, &inv[0], uint64(1)<<cols-1)
			}
		}
	}
	return true
}

// attentionBlocked2 is the blocked path on AVX2: scores by the 4x24
// matmul micro-kernel (with no masked stores, key panels are scored in
// full; the padded keys score 0 and are never read), then each query's
// weighted sum by wsumAVX2 over a dense copy of the head's values. A 24-wide
// value panel would waste a third of its FMAs on a 32-column head, and
// AVX2's 16 registers leave no room for a wider tile.
func attentionBlocked2(out, qkv []float32, heads, hd, valid, h0, h1 int, scratch []float32) bool {
	const mr, pw = avx2Rows, avx2Panel
	if len(scratch) < blockedScratch(hd, valid, mr, pw) {
		return false
	}
	h := heads * hd
	stride := 3 * h
	scale := float32(1 / math.Sqrt(float64(hd)))
	np := (valid + pw - 1) / pw
	nk, nv, ldS := np*pw*hd, valid*hd, np*pw
	kp, vp, s := scratch[:nk], scratch[nk:nk+nv], scratch[nk+nv:nk+nv+mr*ldS]
	clear(kp)
	n8 := valid &^ 7
	for head := h0; head < h1; head++ {
		packKV(kp, vp, qkv, h, head, hd, valid, pw)
		for i0 := 0; i0 < valid; i0 += mr {
			rows := min(mr, valid-i0)
			q := &qkv[i0*stride+head*hd]
			for p := 0; p < np; p++ {
				gemm4x24AVX2(q, stride, rows, &kp[p*hd*pw], hd, &s[p*pw], ldS, nil, initZero)
			}
			for r := 0; r < rows; r++ {
				row := s[r*ldS : r*ldS+valid]
				mx := scaledMax(row, scale)
				var sum float32
				if n8 > 0 {
					sum = expSumAVX2(&row[0], n8, mx)
				}
				for j := n8; j < valid; j++ {
					e := expf(row[j] - mx)
					row[j] = e
					sum += e
				}
				wsumAVX2(&out[(i0+r)*h+head*hd], &row[0], &vp[0], hd, valid, hd, 1/sum)
			}
		}
	}
	return true
}
