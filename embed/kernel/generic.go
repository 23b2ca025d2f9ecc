package kernel

import "math"

// genericPanel is the panel width of the portable path: wide enough that the
// inner loop over columns is a simple, bounds-check-free run the compiler
// keeps in registers.
const genericPanel = 8

var genericImpl = impl{
	panel:     genericPanel,
	matmul:    matmulGeneric,
	layerNorm: layerNormGeneric,
	gelu:      geluGeneric,
	attention: attentionGeneric,
}

func matmulGeneric(c, a []float32, m int, w *Packed, bias []float32, p0, p1 int) {
	K, N, pw := w.K, w.N, w.panel
	var acc [64]float32
	for p := p0; p < p1; p++ {
		panel := w.data[p*K*pw : (p+1)*K*pw]
		col0 := p * pw
		cols := min(pw, N-col0)
		for i := 0; i < m; i++ {
			row := a[i*K : i*K+K]
			accs := acc[:pw]
			clear(accs)
			for kk, av := range row {
				wv := panel[kk*pw : kk*pw+pw]
				for j := range accs {
					accs[j] += av * wv[j]
				}
			}
			out := c[i*N+col0 : i*N+col0+cols]
			for j := range out {
				v := accs[j]
				if bias != nil {
					v += bias[col0+j]
				}
				out[j] = v
			}
		}
	}
}

func layerNormGeneric(x, res []float32, rows, dim int, gamma, beta []float32, eps float32) {
	for r := 0; r < rows; r++ {
		v := x[r*dim : r*dim+dim]
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
		for i, f := range v {
			v[i] = (f-mean)*inv*gamma[i] + beta[i]
		}
	}
}

func geluGeneric(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

func attentionGeneric(out, qkv []float32, seq, heads, headDim, valid int, scratch []float32) {
	h := heads * headDim
	stride := 3 * h
	scale := float32(1 / math.Sqrt(float64(headDim)))
	scores := scratch[:valid]
	for hd := 0; hd < heads; hd++ {
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
				e := float32(math.Exp(float64(s - maxv)))
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
