package classifier_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
)

const eps = 1e-6

func near(a, b float64) bool { return math.Abs(a-b) < eps }

func newClassifier(t *testing.T, routes []classifier.Route, embed classifier.EmbedFunc, opts classifier.Options) *classifier.Classifier {
	t.Helper()
	c, err := classifier.New(t.Context(), routes, embed, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func bowRoutes() []classifier.Route {
	return []classifier.Route{
		{Name: "code", Condition: "programming code debugging", Threshold: 0.3, Examples: []string{
			"my go program panics with a nil pointer",
			"how do I write a unit test in python",
		}},
		{Name: "poetry", Condition: "poems stories creative writing", Threshold: 0.3, Examples: []string{
			"write a poem about the sea",
			"tell me a story about a dragon",
		}},
		{Name: "translation", Condition: "translate between languages", Threshold: 0.3, Examples: []string{
			"translate this sentence into german",
			"what is hello in french",
		}},
	}
}

func TestClassifyPicksWinner(t *testing.T) {
	c := newClassifier(t, bowRoutes(), bagOfWords, classifier.Options{})
	tests := []struct {
		text, route, nearest string
	}{
		{"why does my go program panic on a nil map", "code", "my go program panics with a nil pointer"},
		{"a short poem about the moon", "poetry", "write a poem about the sea"},
		{"translate good morning into german", "translation", "translate this sentence into german"},
		{"help me with debugging this code", "code", "programming code debugging"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			m, err := c.Classify(t.Context(), tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if m.Route != tt.route {
				t.Fatalf("Route = %q, want %q (scores %+v)", m.Route, tt.route, m.Scores)
			}
			if len(m.Scores) != 3 {
				t.Fatalf("len(Scores) = %d, want 3", len(m.Scores))
			}
			if m.Scores[0].Route != m.Route || m.Scores[0].Score != m.Score {
				t.Errorf("Scores[0] = %+v, want the top route %q %v", m.Scores[0], m.Route, m.Score)
			}
			if m.Scores[0].Nearest != tt.nearest {
				t.Errorf("Nearest = %q, want %q", m.Scores[0].Nearest, tt.nearest)
			}
			if !slices.IsSortedFunc(m.Scores, func(a, b classifier.Score) int { return -compare(a.Score, b.Score) }) {
				t.Errorf("Scores not sorted descending: %+v", m.Scores)
			}
			var names []string
			for _, s := range m.Scores {
				names = append(names, s.Route)
				if s.Threshold != 0.3 {
					t.Errorf("%s: Threshold = %v, want 0.3", s.Route, s.Threshold)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"code", "poetry", "translation"}) {
				t.Errorf("Scores cover %v, want every route", names)
			}
		})
	}
}

func compare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scored builds routes whose utterances have the given cosines with axis.
func scored(t *testing.T, cosines map[string][]float64, order []string, thresholds map[string]float64) ([]classifier.Route, *table) {
	t.Helper()
	tb := &table{vecs: map[string][]float32{"query": axis}}
	var routes []classifier.Route
	for _, name := range order {
		r := classifier.Route{Name: name, Threshold: thresholds[name]}
		for i, cos := range cosines[name] {
			text := name + " utterance " + string(rune('a'+i))
			tb.vecs[text] = along(cos, float64(i))
			r.Examples = append(r.Examples, text)
		}
		routes = append(routes, r)
	}
	return routes, tb
}

func TestThresholdAndMargin(t *testing.T) {
	tests := []struct {
		name        string
		cosines     map[string][]float64
		order       []string
		thresholds  map[string]float64
		wantRoute   string
		wantScore   float64
		wantCleared bool
		wantMargin  float64
	}{
		{
			name:       "above threshold",
			cosines:    map[string][]float64{"a": {0.8}, "b": {0.6}},
			order:      []string{"a", "b"},
			thresholds: map[string]float64{"a": 0.5, "b": 0.5},
			wantRoute:  "a", wantScore: 0.8, wantCleared: true, wantMargin: 0.2,
		},
		{
			name:       "equal to threshold clears",
			cosines:    map[string][]float64{"a": {0.5}, "b": {0.25}},
			order:      []string{"a", "b"},
			thresholds: map[string]float64{"a": float64(float32(0.5)), "b": 0.1},
			wantRoute:  "a", wantScore: 0.5, wantCleared: true, wantMargin: 0.25,
		},
		{
			name:       "below its own threshold though another's is lower",
			cosines:    map[string][]float64{"a": {0.3}, "b": {0.7}},
			order:      []string{"a", "b"},
			thresholds: map[string]float64{"a": 0.1, "b": 0.75},
			wantRoute:  "b", wantScore: 0.7, wantCleared: false, wantMargin: 0.4,
		},
		{
			name:       "one route: margin is the score",
			cosines:    map[string][]float64{"only": {0.9, 0.2}},
			order:      []string{"only"},
			thresholds: map[string]float64{"only": 0.5},
			wantRoute:  "only", wantScore: 0.9, wantCleared: true, wantMargin: 0.9,
		},
		{
			name:       "negative scores",
			cosines:    map[string][]float64{"a": {-0.2}, "b": {-0.6}},
			order:      []string{"b", "a"},
			thresholds: map[string]float64{"a": 0, "b": 0},
			wantRoute:  "a", wantScore: -0.2, wantCleared: false, wantMargin: 0.4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, tb := scored(t, tt.cosines, tt.order, tt.thresholds)
			c := newClassifier(t, routes, tb.embed, classifier.Options{})
			m, err := c.Classify(t.Context(), "query")
			if err != nil {
				t.Fatal(err)
			}
			if m.Route != tt.wantRoute || !near(m.Score, tt.wantScore) || m.Cleared != tt.wantCleared || !near(m.Margin, tt.wantMargin) {
				t.Errorf("got %s score %v cleared %v margin %v, want %s %v %v %v",
					m.Route, m.Score, m.Cleared, m.Margin, tt.wantRoute, tt.wantScore, tt.wantCleared, tt.wantMargin)
			}
		})
	}
}

func TestAggregation(t *testing.T) {
	// "spiky" has one very close utterance; "steady" is moderately close on
	// all of them.
	cosines := map[string][]float64{
		"spiky":  {0.1, 0.95, 0.1, 0.2},
		"steady": {0.7, 0.7, 0.6},
	}
	order := []string{"spiky", "steady"}
	tests := []struct {
		opts      classifier.Options
		want      map[string]float64
		wantRoute string
	}{
		{classifier.Options{}, map[string]float64{"spiky": 0.95, "steady": 0.7}, "spiky"},
		{classifier.Options{Aggregation: "max", TopK: 1}, map[string]float64{"spiky": 0.95, "steady": 0.7}, "spiky"},
		{classifier.Options{Aggregation: "max", TopK: 3}, map[string]float64{"spiky": 0.95, "steady": 0.7}, "spiky"},
		{classifier.Options{Aggregation: "mean", TopK: 1}, map[string]float64{"spiky": 0.95, "steady": 0.7}, "spiky"},
		{classifier.Options{Aggregation: "mean", TopK: 2}, map[string]float64{"spiky": (0.95 + 0.2) / 2, "steady": 0.7}, "steady"},
		{classifier.Options{Aggregation: "mean", TopK: 3}, map[string]float64{"spiky": (0.95 + 0.2 + 0.1) / 3, "steady": 2.0 / 3}, "steady"},
		// TopK beyond a route's size means all its utterances; 0 means 5.
		{classifier.Options{Aggregation: "mean", TopK: 10}, map[string]float64{"spiky": 1.35 / 4, "steady": 2.0 / 3}, "steady"},
		{classifier.Options{Aggregation: "mean"}, map[string]float64{"spiky": 1.35 / 4, "steady": 2.0 / 3}, "steady"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/k=%d", tt.opts.Aggregation, tt.opts.TopK), func(t *testing.T) {
			routes, tb := scored(t, cosines, order, nil)
			c := newClassifier(t, routes, tb.embed, tt.opts)
			m, err := c.Classify(t.Context(), "query")
			if err != nil {
				t.Fatal(err)
			}
			if m.Route != tt.wantRoute {
				t.Errorf("Route = %q, want %q", m.Route, tt.wantRoute)
			}
			for _, s := range m.Scores {
				if !near(s.Score, tt.want[s.Route]) {
					t.Errorf("%s: Score = %v, want %v", s.Route, s.Score, tt.want[s.Route])
				}
			}
			if got := m.Scores[0].Score - m.Scores[1].Score; m.Margin != got {
				t.Errorf("Margin = %v, want %v", m.Margin, got)
			}
			// Nearest is the best single utterance whatever the aggregation.
			for _, s := range m.Scores {
				want := map[string]string{"spiky": "spiky utterance b", "steady": "steady utterance a"}[s.Route]
				if s.Nearest != want {
					t.Errorf("%s: Nearest = %q, want %q", s.Route, s.Nearest, want)
				}
			}
		})
	}
}

// chromem-go returns equal similarities in random order; the classifier must
// not. Routes are named against alphabetical order so that a sort by name
// would show.
func TestTiesBrokenByRouteOrder(t *testing.T) {
	tb := &table{vecs: map[string][]float32{"query": axis}}
	names := []string{"zulu", "mike", "alpha", "kilo"}
	var routes []classifier.Route
	for _, n := range names {
		r := classifier.Route{Name: n, Condition: n + " condition", Threshold: 0.5}
		tb.vecs[r.Condition] = along(0.8, 0)
		for i := range 20 { // many equal utterances, so chromem-go's order varies
			ex := n + " example " + string(rune('a'+i))
			tb.vecs[ex] = along(0.8, 0)
			r.Examples = append(r.Examples, ex)
		}
		routes = append(routes, r)
	}
	for _, opts := range []classifier.Options{{}, {Aggregation: "mean", TopK: 3}} {
		c := newClassifier(t, routes, tb.embed, opts)
		for range 300 {
			m, err := c.ClassifyVector(t.Context(), axis)
			if err != nil {
				t.Fatal(err)
			}
			if m.Route != "zulu" || m.Margin != 0 || !m.Cleared {
				t.Fatalf("%+v: got %s margin %v cleared %v, want zulu 0 true", opts, m.Route, m.Margin, m.Cleared)
			}
			for i, s := range m.Scores {
				if s.Route != names[i] {
					t.Fatalf("%+v: Scores[%d] = %s, want %s (configuration order)", opts, i, s.Route, names[i])
				}
				if want := names[i] + " condition"; s.Nearest != want {
					t.Fatalf("%+v: %s Nearest = %q, want the first tied utterance %q", opts, s.Route, s.Nearest, want)
				}
			}
		}
	}
}

func TestRoutesWithoutUtterances(t *testing.T) {
	routes := bowRoutes()
	routes = slices.Insert(routes, 1, classifier.Route{Name: "fallback", Threshold: 0.5})
	routes = append(routes, classifier.Route{Name: "blank", Condition: "  \n", Threshold: 0.5})
	c := newClassifier(t, routes, bagOfWords, classifier.Options{})
	if got, want := c.Routes(), []string{"code", "poetry", "translation"}; !slices.Equal(got, want) {
		t.Errorf("Routes() = %v, want %v", got, want)
	}
	if got := c.Utterances(); got != 9 {
		t.Errorf("Utterances() = %d, want 9", got)
	}
	m, err := c.Classify(t.Context(), "write a poem")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Scores {
		if s.Route == "fallback" || s.Route == "blank" {
			t.Errorf("unindexed route %q scored", s.Route)
		}
	}

	// Known but unindexed routes still take part in the name checks.
	if _, err := classifier.New(t.Context(), append(routes, classifier.Route{Name: "fallback"}), bagOfWords, classifier.Options{}); err == nil {
		t.Error("New accepted a duplicate of an unindexed route")
	}
}

func TestNoIndexedRoutes(t *testing.T) {
	calls := 0
	embed := func(ctx context.Context, texts []string) ([][]float32, error) {
		calls++
		return bagOfWords(ctx, texts)
	}
	for _, routes := range [][]classifier.Route{nil, {{Name: "default"}, {Name: "other"}}} {
		c := newClassifier(t, routes, embed, classifier.Options{})
		if _, err := c.Classify(t.Context(), "anything"); !errors.Is(err, classifier.ErrNoRoutes) {
			t.Errorf("Classify: err = %v, want ErrNoRoutes", err)
		}
		if _, err := c.ClassifyVector(t.Context(), axis); !errors.Is(err, classifier.ErrNoRoutes) {
			t.Errorf("ClassifyVector: err = %v, want ErrNoRoutes", err)
		}
		if len(c.Routes()) != 0 || c.Utterances() != 0 {
			t.Errorf("Routes() = %v, Utterances() = %d, want none", c.Routes(), c.Utterances())
		}
	}
	if calls != 0 {
		t.Errorf("embed called %d times with nothing to embed", calls)
	}
}

func TestNewEmbedsOnceInOrder(t *testing.T) {
	tb := &table{vecs: map[string][]float32{}}
	routes := []classifier.Route{
		{Name: "a", Condition: "cond a", Examples: []string{"a1", "a2"}},
		{Name: "empty"},
		{Name: "b", Examples: []string{"b1"}},
		{Name: "c", Condition: "cond c"},
	}
	for i, s := range []string{"cond a", "a1", "a2", "b1", "cond c"} {
		tb.vecs[s] = along(0.1*float64(i), 0)
	}
	newClassifier(t, routes, tb.embed, classifier.Options{})
	want := [][]string{{"cond a", "a1", "a2", "b1", "cond c"}}
	if !reflect.DeepEqual(tb.batches, want) {
		t.Errorf("embed batches = %q, want %q", tb.batches, want)
	}
}

var errBackend = errors.New("backend down")

func TestNewErrors(t *testing.T) {
	ok := []classifier.Route{{Name: "a", Condition: "alpha beta"}, {Name: "b", Examples: []string{"gamma"}}}
	vectors := func(vs ...[]float32) classifier.EmbedFunc {
		return func(context.Context, []string) ([][]float32, error) { return vs, nil }
	}
	tests := []struct {
		name    string
		routes  []classifier.Route
		embed   classifier.EmbedFunc
		opts    classifier.Options
		wantErr error  // checked with errors.Is when set
		wantMsg string // a fragment of the message otherwise
	}{
		{"duplicate name", []classifier.Route{{Name: "a", Condition: "x"}, {Name: "a", Condition: "y"}}, bagOfWords, classifier.Options{}, nil, `duplicate route name "a"`},
		{"empty name", []classifier.Route{{Name: "a", Condition: "x"}, {Condition: "y"}}, bagOfWords, classifier.Options{}, nil, "route 1 has an empty name"},
		{"blank example", []classifier.Route{{Name: "a", Examples: []string{"x", " "}}}, bagOfWords, classifier.Options{}, nil, "example 1 is blank"},
		{"NaN threshold", []classifier.Route{{Name: "a", Condition: "x", Threshold: math.NaN()}}, bagOfWords, classifier.Options{}, nil, "not a finite number"},
		{"negative top_k", ok, bagOfWords, classifier.Options{TopK: -1}, nil, "negative"},
		{"unknown aggregation", ok, bagOfWords, classifier.Options{Aggregation: "median"}, nil, `unknown aggregation "median"`},
		{"nil embed", ok, nil, classifier.Options{}, nil, "embed func is nil"},
		{"embed error", ok, func(context.Context, []string) ([][]float32, error) { return nil, errBackend }, classifier.Options{}, errBackend, ""},
		{"too few vectors", ok, vectors([]float32{1, 0}), classifier.Options{}, nil, "returned 1 vectors for 2 utterances"},
		{"too many vectors", ok, vectors([]float32{1, 0}, []float32{0, 1}, []float32{1, 1}), classifier.Options{}, nil, "returned 3 vectors for 2 utterances"},
		{"wrong dimension", ok, vectors([]float32{1, 0}, []float32{0, 1, 0}), classifier.Options{}, nil, "dimension 3, want 2"},
		{"empty vector", ok, vectors([]float32{}, []float32{}), classifier.Options{}, nil, "empty vector"},
		{"zero vector", ok, vectors([]float32{1, 0}, []float32{0, 0}), classifier.Options{}, nil, `"gamma" of route "b": zero vector`},
		{"NaN vector", ok, vectors([]float32{float32(math.NaN()), 0}, []float32{0, 1}), classifier.Options{}, nil, "non-finite"},
		{"Inf vector", ok, vectors([]float32{1, 0}, []float32{float32(math.Inf(1)), 0}), classifier.Options{}, nil, "non-finite"},
		// bagOfWords gives a text with no words the zero vector.
		{"zero vector from embedder", []classifier.Route{{Name: "a", Examples: []string{"fine", "?!"}}}, bagOfWords, classifier.Options{}, nil, "zero vector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := classifier.New(t.Context(), tt.routes, tt.embed, tt.opts)
			if err == nil {
				t.Fatalf("New succeeded (%d utterances), want an error", c.Utterances())
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "classifier: ") {
				t.Errorf("err = %q, want the package prefix", err)
			}
		})
	}
}

func TestClassifyRejectsBadQueries(t *testing.T) {
	tb := &table{vecs: map[string][]float32{"a": {1, 0, 0}, "b": {0, 1, 0}}}
	c := newClassifier(t, []classifier.Route{{Name: "a", Condition: "a"}, {Name: "b", Condition: "b"}}, tb.embed, classifier.Options{})
	for name, v := range map[string][]float32{
		"zero":     {0, 0, 0},
		"NaN":      {float32(math.NaN()), 1, 0},
		"short":    {1, 0},
		"long":     {1, 0, 0, 0},
		"empty":    nil,
		"infinite": {float32(math.Inf(-1)), 0, 0},
	} {
		if m, err := c.ClassifyVector(t.Context(), v); err == nil {
			t.Errorf("ClassifyVector(%s) = %+v, want an error", name, m)
		}
	}

	// The same checks apply to what the embedder returns for a request.
	c = newClassifier(t, bowRoutes(), bagOfWords, classifier.Options{})
	if _, err := c.Classify(t.Context(), "?!"); err == nil || !strings.Contains(err.Error(), "zero vector") {
		t.Errorf("Classify of a zero-vector text: err = %v, want a zero vector error", err)
	}

	failing := func(n int, err error) classifier.EmbedFunc {
		first := true
		return func(ctx context.Context, texts []string) ([][]float32, error) {
			if first { // let New through
				first = false
				return bagOfWords(ctx, texts)
			}
			if err != nil {
				return nil, err
			}
			return slices.Repeat([][]float32{bowVector("code")}, n), nil
		}
	}
	c = newClassifier(t, bowRoutes(), failing(0, errBackend), classifier.Options{})
	if _, err := c.Classify(t.Context(), "code"); !errors.Is(err, errBackend) {
		t.Errorf("Classify with a failing embedder: err = %v, want it to wrap %v", err, errBackend)
	}
	for _, n := range []int{0, 2} {
		c = newClassifier(t, bowRoutes(), failing(n, nil), classifier.Options{})
		if _, err := c.Classify(t.Context(), "code"); err == nil {
			t.Errorf("Classify with %d vectors for one text succeeded", n)
		}
	}
}

// Vectors need not be exactly unit length: the scores are cosines.
func TestScaledVectorsScoreAlike(t *testing.T) {
	c := newClassifier(t, bowRoutes(), bagOfWords, classifier.Options{Aggregation: "mean", TopK: 2})
	v := bowVector("fix the nil pointer in my go code")
	want, err := c.ClassifyVector(t.Context(), v)
	if err != nil {
		t.Fatal(err)
	}
	scaled := slices.Clone(v)
	for i := range scaled {
		scaled[i] *= 3.5
	}
	got, err := c.ClassifyVector(t.Context(), scaled)
	if err != nil {
		t.Fatal(err)
	}
	if got.Route != want.Route || len(got.Scores) != len(want.Scores) {
		t.Fatalf("scaled query: %+v, want %+v", got, want)
	}
	for i := range got.Scores {
		if got.Scores[i].Route != want.Scores[i].Route || !near(got.Scores[i].Score, want.Scores[i].Score) {
			t.Errorf("scaled query: Scores[%d] = %+v, want %+v", i, got.Scores[i], want.Scores[i])
		}
	}
	if v[0] == scaled[0] && v[0] != 0 {
		t.Error("test did not scale the vector")
	}
}

// The classifier keeps its own copies: an embedder that reuses its buffers,
// or a caller that edits its routes, cannot change it afterwards.
func TestNewCopiesInputs(t *testing.T) {
	var kept [][]float32
	embed := func(ctx context.Context, texts []string) ([][]float32, error) {
		vs, err := bagOfWords(ctx, texts)
		kept = vs
		return vs, err
	}
	routes := bowRoutes()
	c := newClassifier(t, routes, embed, classifier.Options{})
	want, err := c.ClassifyVector(t.Context(), bowVector("write a poem about the sea"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range kept {
		for i := range v {
			v[i] = 1
		}
	}
	routes[1].Name = "renamed"
	routes[1].Examples[0] = "changed"
	got, err := c.ClassifyVector(t.Context(), bowVector("write a poem about the sea"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after editing inputs: %+v, want %+v", got, want)
	}
}

func TestConcurrentClassify(t *testing.T) {
	c := newClassifier(t, bowRoutes(), bagOfWords, classifier.Options{Aggregation: "mean", TopK: 2})
	texts := []string{
		"my python unit test fails",
		"a story about a brave dragon",
		"how do you say thank you in french",
		"debugging a go program",
	}
	want := make([]classifier.Match, len(texts))
	for i, text := range texts {
		m, err := c.Classify(t.Context(), text)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = m
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				j := (g + i) % len(texts)
				m, err := c.Classify(t.Context(), texts[j])
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(m, want[j]) {
					errs <- errors.New("concurrent result differs for " + texts[j])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	// An embedder that honours ctx.
	if _, err := classifier.New(ctx, bowRoutes(), bagOfWords, classifier.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("New: err = %v, want context.Canceled", err)
	}
	// One that ignores it: indexing must not quietly stop half way.
	ignoring := func(_ context.Context, texts []string) ([][]float32, error) {
		return bagOfWords(context.Background(), texts)
	}
	if _, err := classifier.New(ctx, bowRoutes(), ignoring, classifier.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("New with an embedder ignoring ctx: err = %v, want context.Canceled", err)
	}

	c := newClassifier(t, bowRoutes(), ignoring, classifier.Options{})
	if _, err := c.Classify(ctx, "write a poem"); !errors.Is(err, context.Canceled) {
		t.Errorf("Classify: err = %v, want context.Canceled", err)
	}
	if _, err := c.ClassifyVector(ctx, bowVector("write a poem")); !errors.Is(err, context.Canceled) {
		t.Errorf("ClassifyVector: err = %v, want context.Canceled", err)
	}
}
