package classifier

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// clusters returns per points around each of the first n basis
// directions of a dim-dimensional space, cluster by cluster.
func clusters(n, per, dim int, noise float64, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]float32
	for c := range n {
		for range per {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(rng.NormFloat64() * noise)
			}
			v[c] += 1
			out = append(out, v)
		}
	}
	return out
}

func TestMedoidsOnePerCluster(t *testing.T) {
	const n, per = 5, 40
	vecs := clusters(n, per, 32, 0.08, 7)
	for seed := range uint64(20) {
		got := Medoids(vecs, n, seed)
		if len(got) != n {
			t.Fatalf("seed %d: %d medoids, want %d", seed, len(got), n)
		}
		seen := map[int]bool{}
		for _, i := range got {
			seen[i/per] = true
		}
		if len(seen) != n {
			t.Errorf("seed %d: medoids %v cover clusters %v, want all %d", seed, got, seen, n)
		}
		if !slices.IsSorted(got) {
			t.Errorf("seed %d: %v not in ascending order", seed, got)
		}
	}
}

func TestMedoidsPicksTheCentre(t *testing.T) {
	// Points on an arc: the middle one is nearest to all the others.
	var vecs [][]float32
	for _, a := range []float64{-0.5, -0.3, 0.35, -0.05, 0.1, 0.5} {
		vecs = append(vecs, []float32{float32(math.Cos(a)), float32(math.Sin(a)), 0})
	}
	for seed := range uint64(10) {
		if got := Medoids(vecs, 1, seed); !slices.Equal(got, []int{3}) {
			t.Fatalf("seed %d: %v, want [3]", seed, got)
		}
	}
}

func TestMedoidsDeterministic(t *testing.T) {
	vecs := clusters(8, 30, 24, 0.5, 3) // overlapping, so seeding matters
	a := Medoids(vecs, 6, 42)
	for range 5 {
		if b := Medoids(vecs, 6, 42); !slices.Equal(a, b) {
			t.Fatalf("same seed, different medoids: %v and %v", a, b)
		}
	}
	differs := false
	for seed := range uint64(10) {
		if !slices.Equal(a, Medoids(vecs, 6, seed)) {
			differs = true
		}
	}
	if !differs {
		t.Error("every seed gives the same medoids; is the seed used?")
	}
}

func TestMedoidsEdgeCases(t *testing.T) {
	vecs := clusters(2, 3, 4, 0.1, 1)
	for _, k := range []int{6, 7, 100} {
		if got := Medoids(vecs, k, 1); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
			t.Errorf("k=%d: %v, want every index", k, got)
		}
	}
	if got := Medoids(vecs, 0, 1); len(got) != 0 {
		t.Errorf("k=0: %v, want none", got)
	}
	if got := Medoids(nil, 3, 1); len(got) != 0 {
		t.Errorf("no vectors: %v, want none", got)
	}

	// Identical vectors (and a zero one) still give k distinct indices.
	same := [][]float32{{1, 0}, {1, 0}, {1, 0}, {0, 0}, {1, 0}}
	got := Medoids(same, 3, 9)
	if len(got) != 3 || len(slices.Compact(slices.Clone(got))) != 3 {
		t.Errorf("duplicates: %v, want 3 distinct indices", got)
	}
}

func BenchmarkMedoids(b *testing.B) {
	vecs := clusters(20, 50, 384, 0.3, 5) // 1000 vectors, MiniLM's dimension
	for b.Loop() {
		Medoids(vecs, 10, 1)
	}
}
