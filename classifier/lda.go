package classifier

import (
	"errors"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// discriminant is the "lda" scorer: score_r(q) = w_r·q + b_r, already
// rescaled (see the package documentation).
type discriminant struct {
	w   []float64 // routes × dim, row-major
	b   []float64
	dim int
}

// newDiscriminant fits the shared-covariance Gaussian model to the
// utterance vectors (unit rows of vecs, grouped by route as routes says).
//
// With M the route means and C = (1-s)·S + s·τ·I, where S is the pooled
// within-route scatter divided by the utterance count and τ = trace(S)/dim
// (1/dim when S is zero, as with one utterance per route), the
// discriminant of route r is q·C⁻¹μ_r − ½ μ_r·C⁻¹μ_r: the log-likelihood of
// q under route r, less the terms every route shares. It is then mapped
// affinely so that the routes' own utterances score 1 at the median and
// their best other route 0.
func newDiscriminant(vecs []float32, dim int, routes []indexed, s float64) (*discriminant, error) {
	n := len(vecs) / dim
	if n == 0 || len(routes) == 0 {
		return nil, errors.New("no utterances")
	}
	x := mat.NewDense(n, dim, nil)
	for i := range n {
		for j := range dim {
			x.Set(i, j, float64(vecs[i*dim+j]))
		}
	}
	means := mat.NewDense(len(routes), dim, nil)
	dev := mat.DenseCopyOf(x)
	for r, rt := range routes {
		mu := means.RawRowView(r)
		for i := rt.first; i < rt.first+rt.n; i++ {
			for j, v := range x.RawRowView(i) {
				mu[j] += v
			}
		}
		for j := range mu {
			mu[j] /= float64(rt.n)
		}
		for i := rt.first; i < rt.first+rt.n; i++ {
			row := dev.RawRowView(i)
			for j := range row {
				row[j] -= mu[j]
			}
		}
	}
	scatter := mat.NewSymDense(dim, nil)
	scatter.SymOuterK(1/float64(n), dev.T())
	var trace float64
	for j := range dim {
		trace += scatter.At(j, j)
	}
	tau := trace / float64(dim)
	if tau <= 0 {
		tau = 1 / float64(dim)
	}
	cov := mat.NewSymDense(dim, nil)
	for i := range dim {
		for j := i; j < dim; j++ {
			v := (1 - s) * scatter.At(i, j)
			if i == j {
				v += s * tau
			}
			cov.SetSym(i, j, v)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		return nil, errors.New("the shrunk covariance is not positive definite")
	}
	var w mat.Dense // dim × routes: C⁻¹Mᵀ
	if err := chol.SolveTo(&w, means.T()); err != nil {
		return nil, err
	}
	d := &discriminant{w: make([]float64, len(routes)*dim), b: make([]float64, len(routes)), dim: dim}
	for r := range routes {
		var quad float64
		for j := range dim {
			wj := w.At(j, r)
			d.w[r*dim+j] = wj
			quad += means.At(r, j) * wj
		}
		d.b[r] = -quad / 2
	}

	// Rescale by what the utterances themselves score.
	var raw mat.Dense // n × routes
	raw.Mul(x, &w)
	own := make([]float64, 0, n)
	other := make([]float64, 0, n)
	for r, rt := range routes {
		for i := rt.first; i < rt.first+rt.n; i++ {
			row := raw.RawRowView(i)
			own = append(own, row[r]+d.b[r])
			best, any := 0.0, false
			for o := range routes {
				if o != r && (!any || row[o]+d.b[o] > best) {
					best, any = row[o]+d.b[o], true
				}
			}
			if any {
				other = append(other, best)
			}
		}
	}
	hi := median(own)
	lo := hi - 1
	if len(other) > 0 {
		lo = median(other)
	}
	scale := hi - lo
	if !(scale > 1e-9) {
		lo, scale = hi-1, 1
	}
	for r := range routes {
		for j := range dim {
			d.w[r*dim+j] /= scale
		}
		d.b[r] = (d.b[r] - lo) / scale
	}
	return d, nil
}

// scores returns every route's score for the unit vector q.
func (d *discriminant) scores(q []float32) []float64 {
	out := make([]float64, len(d.b))
	for r := range out {
		w := d.w[r*d.dim : (r+1)*d.dim]
		var sum float64
		for j, x := range q {
			sum += w[j] * float64(x)
		}
		out[r] = sum + d.b[r]
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
