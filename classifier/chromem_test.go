package classifier

// These tests pin down the chromem-go v0.7.0 behaviours the classifier works
// around. If an upgrade changes one, its test fails here, and the matching
// workaround in classifier.go may be removable.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	chromem "github.com/philippgille/chromem-go"
)

// randomUnit returns a random unit vector of dimension dim.
func randomUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var sum float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		sum += x * x
	}
	n := math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// randomClassifier indexes routes×perRoute random unit vectors; route i's
// utterances are "r<i>-u<j>".
func randomClassifier(tb testing.TB, seed uint64, routes, perRoute, dim int, opts Options) (*Classifier, *rand.Rand) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vecs := map[string][]float32{}
	rs := make([]Route, routes)
	for i := range rs {
		rs[i] = Route{Name: fmt.Sprintf("route-%02d", i), Threshold: 0.2}
		for j := range perRoute {
			u := fmt.Sprintf("r%d-u%d", i, j)
			vecs[u] = randomUnit(rng, dim)
			rs[i].Examples = append(rs[i].Examples, u)
		}
	}
	embed := func(_ context.Context, texts []string) ([][]float32, error) {
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
	c, err := New(context.Background(), rs, embed, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c, rng
}

// rawCollection is a bare chromem-go collection with the given vectors as
// documents "0", "1", ….
func rawCollection(t *testing.T, vecs ...[]float32) *chromem.Collection {
	t.Helper()
	coll, err := chromem.NewDB().CreateCollection("t", nil, refuseEmbedding)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		doc := chromem.Document{ID: strconv.Itoa(i), Embedding: v, Content: "doc " + strconv.Itoa(i),
			Metadata: map[string]string{metaRoute: strconv.Itoa(i % 2)}}
		if err := coll.AddDocument(t.Context(), doc); err != nil {
			t.Fatal(err)
		}
	}
	return coll
}

// A nil embedding func would be replaced by an OpenAI client, which would
// send text over the network; ours refuses instead.
func TestCollectionNeverEmbedsText(t *testing.T) {
	c, _ := randomClassifier(t, 1, 2, 3, 8, Options{})
	if _, err := c.coll.Query(t.Context(), "some text", 1, nil, nil); !errors.Is(err, errEmbedRefused) {
		t.Errorf("Query by text: err = %v, want errEmbedRefused", err)
	}
	if err := c.coll.AddDocument(t.Context(), chromem.Document{ID: "x", Content: "text"}); !errors.Is(err, errEmbedRefused) {
		t.Errorf("AddDocument without an embedding: err = %v, want errEmbedRefused", err)
	}
}

func TestChromemNResultsAboveCount(t *testing.T) {
	coll := rawCollection(t, []float32{1, 0}, []float32{0, 1})
	if _, err := coll.QueryEmbedding(t.Context(), []float32{1, 0}, 3, nil, nil); err == nil {
		t.Error("nResults > Count() succeeded; ClassifyVector relies on it failing being the only limit")
	}
	// A where filter is checked against the whole collection, not the
	// filtered documents: asking for more than match returns fewer, silently.
	res, err := coll.QueryEmbedding(t.Context(), []float32{1, 0}, 2, map[string]string{metaRoute: "0"}, nil)
	if err != nil || len(res) != 1 || res[0].ID != "0" {
		t.Errorf("filtered query = %v, %v; want document 0 alone", res, err)
	}
}

func TestChromemZeroVectorsGiveNaN(t *testing.T) {
	coll := rawCollection(t, []float32{0, 0}, []float32{1, 0})
	res, err := coll.QueryEmbedding(t.Context(), []float32{1, 0}, 2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nan := 0
	for _, r := range res {
		if math.IsNaN(float64(r.Similarity)) {
			nan++
		}
	}
	if nan != 1 {
		t.Errorf("zero document: %d NaN similarities, want 1 (results %v)", nan, res)
	}
	res, err = coll.QueryEmbedding(t.Context(), []float32{0, 0}, 1, nil, nil)
	if err != nil || len(res) != 1 || !math.IsNaN(float64(res[0].Similarity)) {
		t.Errorf("zero query = %v, %v; want a NaN similarity and no error", res, err)
	}
}

func TestChromemNormalisesVectors(t *testing.T) {
	coll := rawCollection(t, []float32{3, 4})
	doc, err := coll.GetByID(t.Context(), "0")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(doc.Embedding[0])-0.6) > 1e-6 || math.Abs(float64(doc.Embedding[1])-0.8) > 1e-6 {
		t.Errorf("stored embedding = %v, want it normalised to [0.6 0.8]", doc.Embedding)
	}
	res, err := coll.QueryEmbedding(t.Context(), []float32{10, 0}, 1, nil, nil)
	if err != nil || math.Abs(float64(res[0].Similarity)-0.6) > 1e-6 {
		t.Errorf("query with a non-unit vector = %v, %v; want the cosine 0.6", res, err)
	}
}

func TestChromemTiesComeBackInRandomOrder(t *testing.T) {
	vecs := slices.Repeat([][]float32{{1, 0}}, 50)
	coll := rawCollection(t, vecs...)
	orders := map[string]bool{}
	for range 20 {
		res, err := coll.QueryEmbedding(t.Context(), []float32{1, 0}, 50, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range res {
			ids = append(ids, r.ID)
		}
		orders[strings.Join(ids, ",")] = true
	}
	if len(orders) < 2 {
		t.Error("50 tied documents came back in one order 20 times; the tie-break by route order may no longer be needed")
	}
}

// chromem-go's scorers stop when ctx is done but the query reports success
// with whatever was scored, and AddDocuments adds nothing and reports success.
func TestChromemIgnoresCancellation(t *testing.T) {
	coll := rawCollection(t, []float32{1, 0}, []float32{0, 1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := coll.QueryEmbedding(ctx, []float32{1, 0}, 2, nil, nil)
	if err != nil || len(res) == 2 {
		t.Errorf("cancelled query = %d results, %v; want fewer than 2 and no error", len(res), err)
	}
	err = coll.AddDocuments(ctx, []chromem.Document{{ID: "x", Embedding: []float32{1, 1}}}, 1)
	if err != nil || coll.Count() != 2 {
		t.Errorf("cancelled AddDocuments = %v with %d documents; want nil and nothing added", err, coll.Count())
	}
}

// perRoute scores through chromem-go instead of the matrix: one query per
// route, filtered on the route metadata, nResults = min(k, the route's
// size). It must agree with ClassifyVector; BenchmarkStrategy compares
// their speed.
func (c *Classifier) perRoute(ctx context.Context, v []float32) ([]Score, error) {
	sizes := make([]int, len(c.routes))
	for _, d := range c.docs {
		sizes[d.route]++
	}
	scores := make([]Score, len(c.routes))
	for ri, r := range c.routes {
		res, err := c.coll.QueryEmbedding(ctx, v, min(c.topK, sizes[ri]), map[string]string{metaRoute: r.name}, nil)
		if err != nil {
			return nil, err
		}
		hits := make([]hit, len(res))
		for i, x := range res {
			id, _ := strconv.Atoi(x.ID)
			hits[i] = hit{sim: x.Similarity, doc: id}
		}
		slices.SortFunc(hits, func(a, b hit) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		s := float64(hits[0].sim)
		if c.agg == AggregateMean {
			var sum float64
			for _, h := range hits {
				sum += float64(h.sim)
			}
			s = sum / float64(len(hits))
		}
		scores[ri] = Score{Route: r.name, Score: s, Threshold: r.threshold, Nearest: c.docs[hits[0].doc].text}
	}
	slices.SortStableFunc(scores, func(a, b Score) int { return cmp.Compare(b.Score, a.Score) })
	return scores, nil
}

func TestStrategiesAgree(t *testing.T) {
	for _, opts := range []Options{{}, {Aggregation: AggregateMean, TopK: 3}, {Aggregation: AggregateMean, TopK: 100}} {
		c, rng := randomClassifier(t, 7, 12, 9, 32, opts)
		for range 50 {
			q := randomUnit(rng, 32)
			m, err := c.ClassifyVector(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.perRoute(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			// Same ranking and nearest utterances; scores equal up to the
			// float32 summation order of the two dot products.
			same := len(m.Scores) == len(want)
			for i := 0; same && i < len(want); i++ {
				a, b := m.Scores[i], want[i]
				same = a.Route == b.Route && a.Nearest == b.Nearest && a.Threshold == b.Threshold && math.Abs(a.Score-b.Score) < 1e-5
			}
			if !same {
				t.Fatalf("%+v: ClassifyVector scores %+v, per-route queries %+v", opts, m.Scores, want)
			}
		}
	}
}

// exhaustive is how scores were first computed: one chromem-go query over
// every utterance, grouped by route afterwards ("max" only).
func (c *Classifier) exhaustive(ctx context.Context, v []float32) ([]float64, error) {
	res, err := c.coll.QueryEmbedding(ctx, v, len(c.docs), nil, nil)
	if err != nil {
		return nil, err
	}
	best := make([]float64, len(c.routes))
	for i := range best {
		best[i] = -2
	}
	for _, r := range res {
		id, _ := strconv.Atoi(r.ID)
		ri := c.docs[id].route
		best[ri] = max(best[ri], float64(r.Similarity))
	}
	return best, nil
}

// BenchmarkStrategy compares the matrix pass ClassifyVector makes with
// scoring through chromem-go queries: one exhaustive query, or one
// filtered query per route.
func BenchmarkStrategy(b *testing.B) {
	for _, size := range []struct{ routes, per int }{{20, 50}, {150, 100}} {
		c, rng := randomClassifier(b, 42, size.routes, size.per, 384, Options{})
		queries := make([][]float32, 64)
		for i := range queries {
			queries[i] = randomUnit(rng, 384)
		}
		name := fmt.Sprintf("%dx%d/", size.routes, size.per)
		b.Run(name+"matrix", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := c.ClassifyVector(b.Context(), queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(name+"chromem-exhaustive", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := c.exhaustive(b.Context(), queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		if size.routes > 20 {
			continue // 150 filtered scans of 15,000 documents each: minutes
		}
		b.Run(name+"chromem-per-route", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := c.perRoute(b.Context(), queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
