package kernel

import "math"

// genericPanel is the panel width of the portable path: eight columns are
// eight independent accumulators, enough to hide the add latency, and few
// enough that the compiler keeps them all in registers on amd64 and arm64.
const genericPanel = 8

// genericImpl returns the portable kernels, the reference every other level
// is tested against.
func genericImpl() impl {
	return impl{
		panel:     genericPanel,
		matmul:    matmulGeneric,
		layerNorm: layerNormGeneric,
		gelu:      geluGeneric,
		attention: attentionGeneric,

		qpanel:     genericQPanel,
		qspec:      fullSpec,
		minMax:     minMaxGeneric,
		quantize:   quantizeGeneric,
		matmulInt8: matmulInt8Generic,
	}
}

func matmulGeneric(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
	K, N := w.K, w.N
	if w.panel != genericPanel {
		panic("kernel: matmul: weights packed for another level")
	}
	for p := p0; p < p1; p++ {
		panel := w.data[p*K*genericPanel : (p+1)*K*genericPanel]
		col0 := p * genericPanel
		cols := min(genericPanel, N-col0)
		var b [genericPanel]float32
		if bias != nil {
			copy(b[:cols], bias[col0:])
		}
		for i := 0; i < m; i++ {
			row := a[i*K : i*K+K]
			// Named accumulators instead of an array: the compiler then
			// keeps them in registers across the k loop.
			c0, c1, c2, c3, c4, c5, c6, c7 := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
			for kk, av := range row {
				wv := panel[kk*genericPanel : kk*genericPanel+genericPanel : kk*genericPanel+genericPanel]
				c0 += av * wv[0]
				c1 += av * wv[1]
				c2 += av * wv[2]
				c3 += av * wv[3]
				c4 += av * wv[4]
				c5 += av * wv[5]
				c6 += av * wv[6]
				c7 += av * wv[7]
			}
			acc := [genericPanel]float32{c0, c1, c2, c3, c4, c5, c6, c7}
			copy(c[i*N+col0:i*N+col0+cols], acc[:cols])
		}
	}
}

func layerNormGeneric(x, res []float32, rows, dim int, gamma, beta []float32, eps float32) {
	for r := 0; r < rows; r++ {
		layerNormRow(x[r*dim:r*dim+dim], res, r, gamma, beta, eps)
	}
}

// layerNormRow normalises one row v (row r of x); res is the whole residual
// matrix or nil.
func layerNormRow(v, res []float32, r int, gamma, beta []float32, eps float32) {
	dim := len(v)
	if res != nil {
		rv := res[r*dim : r*dim+dim]
		for i := range v {
			v[i] += rv[i]
		}
	}
	var sum float32
	for _, f := range v {
		sum += f
	}
	mean := sum / float32(dim)
	var sq float32
	for _, f := range v {
		d := f - mean
		sq += d * d
	}
	inv := float32(1 / math.Sqrt(float64(sq/float32(dim)+eps)))
	gamma, beta = gamma[:dim], beta[:dim]
	for i, f := range v {
		v[i] = (f-mean)*inv*gamma[i] + beta[i]
	}
}

func geluGeneric(x []float32) {
	for i, v := range x {
		x[i] = geluf(v)
	}
}

func attentionGeneric(out, qkv []float32, seq, heads, headDim, valid, h0, h1 int, scratch []float32) {
	h := heads * headDim
	stride := 3 * h
	scale := float32(1 / math.Sqrt(float64(headDim)))
	scores := scratch[:valid]
	for hd := h0; hd < h1; hd++ {
		qo, ko, vo := hd*headDim, h+hd*headDim, 2*h+hd*headDim
		for i := 0; i < valid; i++ {
			q := qkv[i*stride+qo : i*stride+qo+headDim]
			maxv := float32(math.Inf(-1))
			for j := 0; j < valid; j++ {
				kv := qkv[j*stride+ko : j*stride+ko+headDim]
				var s float32
				for d, qv := range q {
					s += qv * kv[d]
				}
				s *= scale
				scores[j] = s
				maxv = max(maxv, s)
			}
			var sum float32
			for j, s := range scores {
				e := expf(s - maxv)
				scores[j] = e
				sum += e
			}
			o := out[i*h+qo : i*h+qo+headDim]
			clear(o)
			inv := 1 / sum
			for j, p := range scores {
				vv := qkv[j*stride+vo : j*stride+vo+headDim]
				p *= inv
				for d := range o {
					o[d] += p * vv[d]
				}
			}
		}
	}
}
