package classifier_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
)

// BenchmarkClassify scores a request against 1,000 utterances across 20
// routes: random 384-dimensional unit vectors (MiniLM's size) from a fixed
// seed. The query is pre-embedded, so this measures the classifier alone.
func BenchmarkClassify(b *testing.B) {
	const (
		routes   = 20
		perRoute = 50
		dim      = 384
	)
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []float32 {
		v := make([]float32, dim)
		var sum float64
		for i := range v {
			x := rng.NormFloat64()
			v[i], sum = float32(x), sum+x*x
		}
		for i := range v {
			v[i] = float32(float64(v[i]) / math.Sqrt(sum))
		}
		return v
	}
	vecs := map[string][]float32{}
	rs := make([]classifier.Route, routes)
	for i := range rs {
		rs[i] = classifier.Route{Name: fmt.Sprintf("route-%02d", i), Threshold: 0.3}
		for j := range perRoute {
			u := fmt.Sprintf("route %d utterance %d", i, j)
			vecs[u] = random()
			rs[i].Examples = append(rs[i].Examples, u)
		}
	}
	embed := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			out[i] = vecs[t]
		}
		return out, nil
	}
	queries := make([][]float32, 64)
	for i := range queries {
		queries[i] = random()
	}
	for _, opts := range []classifier.Options{{Aggregation: "max"}, {Aggregation: "mean", TopK: 5}} {
		b.Run(opts.Aggregation, func(b *testing.B) {
			c, err := classifier.New(b.Context(), rs, embed, opts)
			if err != nil {
				b.Fatal(err)
			}
			if c.Utterances() != routes*perRoute {
				b.Fatalf("indexed %d utterances, want %d", c.Utterances(), routes*perRoute)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.ClassifyVector(b.Context(), queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkNewLDA builds an "lda" index over 150 routes × 100 random
// utterances (CLINC150's size with all train examples), embeddings given:
// what a reload costs beyond embedding.
func BenchmarkNewLDA(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	vecs := map[string][]float32{}
	rs := make([]classifier.Route, 150)
	for i := range rs {
		rs[i].Name = fmt.Sprintf("r%d", i)
		for j := range 100 {
			v := make([]float32, 384)
			for k := range v {
				v[k] = float32(rng.NormFloat64())
			}
			name := fmt.Sprintf("%d/%d", i, j)
			vecs[name] = v
			rs[i].Examples = append(rs[i].Examples, name)
		}
	}
	embed := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			out[i] = vecs[t]
		}
		return out, nil
	}
	for _, agg := range []string{"max", "lda"} {
		b.Run(agg, func(b *testing.B) {
			for b.Loop() {
				if _, err := classifier.New(b.Context(), rs, embed, classifier.Options{Aggregation: agg}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
