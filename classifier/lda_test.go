package classifier_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
)

// fixed embeds texts through a lookup table.
func fixed(vecs map[string][]float32) classifier.EmbedFunc {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v, ok := vecs[t]
			if !ok {
				return nil, fmt.Errorf("no vector for %q", t)
			}
			out[i] = v
		}
		return out, nil
	}
}

// Two routes whose utterances spread widely along z and differ only by a
// small offset in y: y separates them, z is noise. A query with y on
// route a's side but z next to one of b's utterances is b's by nearest
// neighbour and a's by the discriminant, which has learnt to ignore z.
func TestLDALearnsWhichDirectionsSeparate(t *testing.T) {
	vecs := map[string][]float32{"query": unit([]float32{1, 0.03, 0.4})}
	var a, b []string
	for _, z := range []float32{-0.8, -0.4, 0, 0.8} {
		name := fmt.Sprintf("a z=%v", z)
		vecs[name] = unit([]float32{1, 0.1, z})
		a = append(a, name)
	}
	for _, z := range []float32{-0.6, 0.4} {
		name := fmt.Sprintf("b z=%v", z)
		vecs[name] = unit([]float32{1, -0.1, z})
		b = append(b, name)
	}
	routes := []classifier.Route{{Name: "a", Examples: a}, {Name: "b", Examples: b}}
	for agg, want := range map[string]string{"max": "b", "lda": "a"} {
		c := newClassifier(t, routes, fixed(vecs), classifier.Options{Aggregation: agg})
		m, err := c.Classify(t.Context(), "query")
		if err != nil {
			t.Fatal(err)
		}
		if m.Route != want {
			t.Errorf("%s: route %q (scores %+v), want %q", agg, m.Route, m.Scores, want)
		}
	}
}

// The discriminant's scale: the routes' own utterances score 1 at the
// median and their best other route 0.
func TestLDAScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vecs := map[string][]float32{}
	var routes []classifier.Route
	for r := range 6 {
		centre := make([]float32, 16)
		for j := range centre {
			centre[j] = float32(rng.NormFloat64())
		}
		rt := classifier.Route{Name: fmt.Sprintf("r%d", r)}
		for e := range 7 {
			v := make([]float32, 16)
			for j := range v {
				v[j] = centre[j] + float32(0.6*rng.NormFloat64())
			}
			name := fmt.Sprintf("r%d e%d", r, e)
			vecs[name] = unit(v)
			rt.Examples = append(rt.Examples, name)
		}
		routes = append(routes, rt)
	}
	c := newClassifier(t, routes, fixed(vecs), classifier.Options{Aggregation: "lda"})
	var own, other []float64
	for _, rt := range routes {
		for _, e := range rt.Examples {
			m, err := c.ClassifyVector(t.Context(), vecs[e])
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range m.Scores {
				if s.Route == rt.Name {
					own = append(own, s.Score)
					best := m.Scores[0]
					if i == 0 {
						best = m.Scores[1]
					}
					other = append(other, best.Score)
				}
			}
		}
	}
	if got := median(own); !near(got, 1) {
		t.Errorf("median own-route score %v, want 1", got)
	}
	if got := median(other); !near(got, 0) {
		t.Errorf("median best-other score %v, want 0", got)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// With one utterance per route there is no spread to learn from, and the
// discriminant ranks routes as the cosine with that utterance does.
func TestLDAWithOneUtterancePerRouteRanksByCosine(t *testing.T) {
	c, rng := randomRoutes(t, 8, 1, 24)
	lda, _ := randomRoutes(t, 8, 1, 24, classifier.Options{Aggregation: "lda"})
	for range 100 {
		q := make([]float32, 24)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		m, err := c.ClassifyVector(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		l, err := lda.ClassifyVector(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m.Scores {
			if m.Scores[i].Route != l.Scores[i].Route {
				t.Fatalf("rank %d: cosine says %q, lda %q", i, m.Scores[i].Route, l.Scores[i].Route)
			}
		}
	}
}

// randomRoutes builds a classifier over routes × per random unit vectors
// (seeded, so two calls index the same vectors) and returns a generator for
// queries.
func randomRoutes(t *testing.T, routes, per, dim int, opts ...classifier.Options) (*classifier.Classifier, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	vecs := map[string][]float32{}
	rs := make([]classifier.Route, routes)
	for r := range rs {
		rs[r].Name = fmt.Sprintf("route %d", r)
		for e := range per {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			name := fmt.Sprintf("%d/%d", r, e)
			vecs[name] = unit(v)
			rs[r].Examples = append(rs[r].Examples, name)
		}
	}
	var o classifier.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return newClassifier(t, rs, fixed(vecs), o), rng
}

func TestFacets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"programming, code examples, debugging", []string{"programming", "code examples", "debugging"}},
		{"maths; proofs\nand equations.", []string{"maths", "proofs", "equations"}},
		{"poems, stories, or songs", []string{"poems", "stories", "songs"}},
		{"翻译，语言", []string{"翻译", "语言"}},
		{"one topic only", nil},
		{"same, Same , ", nil},
		{" , ; ", nil},
		{"", nil},
		// "and"/"or" only as whole words.
		{"android, oracle", []string{"android", "oracle"}},
	}
	for _, tt := range tests {
		if got := classifier.Facets(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Facets(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConditionFacetsAreIndexed(t *testing.T) {
	routes := []classifier.Route{{Name: "code", Condition: "programming, debugging", Examples: []string{"fix my go test"}}}
	for whole, want := range map[bool]int{false: 4, true: 2} {
		c := newClassifier(t, routes, bagOfWords, classifier.Options{WholeConditions: whole})
		if c.Utterances() != want {
			t.Errorf("WholeConditions=%v: %d utterances, want %d", whole, c.Utterances(), want)
		}
		// "debugging" alone matches its facet exactly; the whole condition
		// only partly.
		m, err := c.Classify(t.Context(), "debugging")
		if err != nil {
			t.Fatal(err)
		}
		if exact := near(m.Score, 1); exact == whole {
			t.Errorf("WholeConditions=%v: score %v for a facet's text", whole, m.Score)
		}
	}
}

func TestNearestListsUtterances(t *testing.T) {
	c := newClassifier(t, bowRoutes(), bagOfWords, classifier.Options{})
	got, err := c.Nearest(t.Context(), bowVector("write a poem about the sea please"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Route != "poetry" || got[0].Utterance != "write a poem about the sea" {
		t.Fatalf("Nearest = %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Similarity > got[i-1].Similarity {
			t.Errorf("not sorted: %+v", got)
		}
	}
	if _, err := c.Nearest(t.Context(), make([]float32, bowDim), 3); err == nil {
		t.Error("Nearest accepted a zero vector")
	}
}

func TestNewRejectsBadShrinkage(t *testing.T) {
	for _, s := range []float64{-0.1, 1.5} {
		if _, err := classifier.New(t.Context(), bowRoutes(), bagOfWords, classifier.Options{Aggregation: "lda", Shrinkage: s}); err == nil {
			t.Errorf("shrinkage %v accepted", s)
		}
	}
}
