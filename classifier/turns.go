package classifier

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ClassifyTurns scores a conversation given as several texts (its last user
// turns, oldest first) against every indexed route. The texts are embedded
// in one call to the EmbedFunc, each on its own, so a short follow-up is not
// drowned by the long turn before it; their unit vectors are summed with
// the given weights, and the sum, normalised, is classified as by
// ClassifyVector. weights[i] is the weight of texts[i]; weights must be
// finite, not negative, and not all zero.
//
// Each turn keeps its own embedding, so with a caching EmbedFunc the earlier
// turns of a conversation cost nothing on its next request.
func (c *Classifier) ClassifyTurns(ctx context.Context, texts []string, weights []float64) (Match, error) {
	if len(c.routes) == 0 {
		return Match{}, ErrNoRoutes
	}
	if len(texts) == 0 || len(texts) != len(weights) {
		return Match{}, fmt.Errorf("classifier: %d turns with %d weights", len(texts), len(weights))
	}
	vecs, err := c.embedTraced(ctx, texts)
	if err != nil {
		return Match{}, fmt.Errorf("classifier: embed %d turns: %w", len(texts), err)
	}
	if len(vecs) != len(texts) {
		return Match{}, fmt.Errorf("classifier: embed returned %d vectors for %d turns", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if err := c.check(v); err != nil {
			return Match{}, fmt.Errorf("classifier: turn %d: %w", i, err)
		}
	}
	v, err := combine(vecs, weights)
	if err != nil {
		return Match{}, err
	}
	return c.ClassifyVector(ctx, v)
}

// combine returns Σ weights[i]·unit(vecs[i]), normalised. The vectors are
// normalised first so that a weight means the same for every turn whatever
// the norms the EmbedFunc returns.
func combine(vecs [][]float32, weights []float64) ([]float32, error) {
	var total float64
	for _, w := range weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("classifier: turn weight %v is not a finite number ≥ 0", w)
		}
		total += w
	}
	if total == 0 {
		return nil, errors.New("classifier: every turn weight is 0")
	}
	sum := make([]float64, len(vecs[0]))
	for i, v := range vecs {
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		f := weights[i] / math.Sqrt(norm)
		for j, x := range v {
			sum[j] += f * float64(x)
		}
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	if norm == 0 {
		// Opposite turns cancelled out: nothing to route on.
		return nil, errors.New("classifier: the weighted turns sum to the zero vector")
	}
	norm = math.Sqrt(norm)
	out := make([]float32, len(sum))
	for j, x := range sum {
		out[j] = float32(x / norm)
	}
	return out, nil
}
