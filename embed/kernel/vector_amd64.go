package kernel

import "math"

// Go drivers for the vector kernels: they split each job into whole
// vectors for the assembly and finish tails with the scalar formulas of
// mathf.go, and they fall back to the portable code for shapes the
// assembly does not cover (a head or row size that is not a multiple of 8).

//go:noescape
func geluAVX2(x *float32, n int)

//go:noescape
func dotsAVX2(s, q, k *float32, stride, n, hd int, scale float32) float32

//go:noescape
func expSumAVX2(x *float32, n int, sub float32) float32

//go:noescape
func wsumAVX2(o, p, v *float32, stride, n, hd int, scale float32)

//go:noescape
func layerNormAVX2(x, res *float32, dim int, gamma, beta *float32, eps float32)

func geluVecAVX2(x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		geluAVX2(&x[0], n)
	}
	for i := n; i < len(x); i++ {
		x[i] = geluf(x[i])
	}
}

func layerNormVecAVX2(x, res []float32, rows, dim int, gamma, beta []float32, eps float32) {
	if dim == 0 || dim%8 != 0 {
		layerNormGeneric(x, res, rows, dim, gamma, beta, eps)
		return
	}
	for r := 0; r < rows; r++ {
		var rp *float32
		if res != nil {
			rp = &res[r*dim]
		}
		layerNormAVX2(&x[r*dim], rp, dim, &gamma[0], &beta[0], eps)
	}
}

//go:noescape
func geluAVX512(x *float32, n int)

//go:noescape
func dotsAVX512(s, q, k *float32, stride, n, hd int, scale float32) float32

//go:noescape
func expSumAVX512(x *float32, n int, sub float32) float32

//go:noescape
func wsumAVX512(o, p, v *float32, stride, n, hd int, scale float32)

func geluVecAVX512(x []float32) {
	if len(x) > 0 {
		geluAVX512(&x[0], len(x))
	}
}

func attentionVecAVX2(out, qkv []float32, seq, heads, hd, valid, h0, h1 int, scratch []float32) {
	if hd == 0 || hd%8 != 0 {
		attentionGeneric(out, qkv, seq, heads, hd, valid, h0, h1, scratch)
		return
	}
	if valid >= blockedMinKeys2 && attentionBlocked2(out, qkv, heads, hd, valid, h0, h1, scratch) {
		return
	}
	attentionVec(false, out, qkv, heads, hd, valid, h0, h1, scratch)
}

func attentionVecAVX512(out, qkv []float32, seq, heads, hd, valid, h0, h1 int, scratch []float32) {
	if hd == 0 || hd%8 != 0 {
		attentionGeneric(out, qkv, seq, heads, hd, valid, h0, h1, scratch)
		return
	}
	if valid >= blockedMinKeys512 && attentionBlocked512(out, qkv, heads, hd, valid, h0, h1, scratch) {
		return
	}
	// 16-lane kernels need hd a multiple of 16; hd ≡ 8 (mod 16) stays on
	// the AVX2 kernels throughout.
	attentionVec(hd%16 == 0, out, qkv, heads, hd, valid, h0, h1, scratch)
}

// attentionVec runs each (head, query) pair as three passes over the keys,
// each one assembly call: scores (dots), exp and their sum (expSum), then
// the probability-weighted sum of the values (wsum). Scores live in
// scratch[:valid]. With wide, the 16-lane kernels run: scores 16 keys per
// block, the last valid%16 keys through the per-key AVX2 dot product.
//
// Keys and values of one head are 3·heads·hd floats apart (4.5 KiB for the
// model), so a long sequence's rows fall into a handful of L1 sets and
// evict each other on every pass. From 2·hd keys on (where it matters) the
// head's keys and values are first copied into dense [valid x hd] blocks;
// that halves the time at 128 tokens. Long sequences take the blocked
// path of attention_amd64.go instead.
func attentionVec(wide bool, out, qkv []float32, heads, hd, valid, h0, h1 int, scratch []float32) {
	h := heads * hd
	stride := 3 * h
	scale := float32(1 / math.Sqrt(float64(hd)))
	s := scratch[:valid]
	n8, n16 := valid&^7, valid&^15
	packed := valid >= 2*hd && len(scratch) >= valid+2*valid*hd
	for head := h0; head < h1; head++ {
		kb, vb, kvs := qkv[h+head*hd:], qkv[2*h+head*hd:], stride
		if packed {
			kp := scratch[valid : valid+valid*hd]
			vp := scratch[valid+valid*hd : valid+2*valid*hd]
			for j := 0; j < valid; j++ {
				copy(kp[j*hd:j*hd+hd], kb[j*stride:])
				copy(vp[j*hd:j*hd+hd], vb[j*stride:])
			}
			kb, vb, kvs = kp, vp, hd
		}
		for i := 0; i < valid; i++ {
			q := &qkv[i*stride+head*hd]
			o := &out[i*h+head*hd]
			if !wide {
				mx := dotsAVX2(&s[0], q, &kb[0], kvs, valid, hd, scale)
				var sum float32
				if n8 > 0 {
					sum = expSumAVX2(&s[0], n8, mx)
				}
				for j := n8; j < valid; j++ {
					e := expf(s[j] - mx)
					s[j] = e
					sum += e
				}
				wsumAVX2(o, &s[0], &vb[0], kvs, valid, hd, 1/sum)
				continue
			}
			mx := float32(math.Inf(-1))
			if n16 > 0 {
				mx = dotsAVX512(&s[0], q, &kb[0], kvs, n16, hd, scale)
			}
			if n16 < valid {
				mx = max(mx, dotsAVX2(&s[n16], q, &kb[n16*kvs], kvs, valid-n16, hd, scale))
			}
			sum := expSumAVX512(&s[0], valid, mx)
			wsumAVX512(o, &s[0], &vb[0], kvs, valid, hd, 1/sum)
		}
	}
}
