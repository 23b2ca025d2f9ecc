package classifier_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"unicode"
)

// bowDim is the dimension of bagOfWords vectors.
const bowDim = 512

// bagOfWords is a deterministic stand-in for an embedding model: each word
// (lower-cased letters and digits) adds 1 to a hashed dimension, and the
// result is normalised. Texts that share words get a positive cosine; a text
// with no words gets the zero vector. It honours ctx like a real backend.
func bagOfWords(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = bowVector(t)
	}
	return out, nil
}

func bowVector(text string) []float32 {
	v := make([]float32, bowDim)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%bowDim]++
	}
	return unit(v)
}

func unit(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return v
	}
	n := math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// along returns a unit vector in 3 dimensions whose cosine with axis (1,0,0)
// is c; tilt picks the direction of the rest, so distinct utterances with the
// same cosine need not be identical.
func along(c, tilt float64) []float32 {
	r := math.Sqrt(1 - c*c)
	return []float32{float32(c), float32(r * math.Cos(tilt)), float32(r * math.Sin(tilt))}
}

var axis = []float32{1, 0, 0}

// table serves fixed vectors and fails on unknown text, so no test silently
// depends on what a model would say. It records every batch it is asked for.
type table struct {
	vecs map[string][]float32

	mu      sync.Mutex
	batches [][]string
}

func (tb *table) embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tb.mu.Lock()
	tb.batches = append(tb.batches, append([]string(nil), texts...))
	tb.mu.Unlock()
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, ok := tb.vecs[t]
		if !ok {
			return nil, fmt.Errorf("table: no vector for %q", t)
		}
		out[i] = append([]float32(nil), v...)
	}
	return out, nil
}
