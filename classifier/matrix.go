package classifier

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// appendUnit appends v scaled to unit length to dst. v must have a non-zero
// norm (check ensures it).
func appendUnit(dst, v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	inv := 1 / math.Sqrt(sum)
	for _, x := range v {
		dst = append(dst, float32(float64(x)*inv))
	}
	return dst
}

// dots sets out[i] to the dot product of row i of the row-major matrix mat
// (len(out) rows of dim columns) with q: gonum's SGEMV, whose inner dot
// product is assembly on amd64.
func dots(mat []float32, dim int, q, out []float32) {
	if len(out) == 0 {
		return
	}
	a := blas32.General{Rows: len(out), Cols: dim, Stride: dim, Data: mat}
	blas32.Gemv(blas.NoTrans, 1, a, blas32.Vector{N: dim, Inc: 1, Data: q}, 0, blas32.Vector{N: len(out), Inc: 1, Data: out})
}
