package ground_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/embed/modeltest"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/tasks"
)

// local is the real in-process model: grounding is about meaning.
func local(t *testing.T) *embed.Local {
	t.Helper()
	l, err := embed.NewLocal(context.Background(), modeltest.Dir(t), modelstore.MiniLM(), embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func library(t *testing.T) (*tasks.Library, *tasks.Vectors) {
	t.Helper()
	lib, err := tasks.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, err := tasks.Shipped(tasks.ShippedModel)
	if err != nil || v == nil {
		t.Fatal(err, v)
	}
	return lib, v
}

// The shipped vectors cover every text grounding needs and are the pinned
// model's at each arithmetic it runs with (fp32, int8 with VNNI, int8 with
// the AVX2 kernel): a sample of each matches the model within quantisation
// error.
func TestShippedVectorsAreTheModels(t *testing.T) {
	lib, err := tasks.Load()
	if err != nil {
		t.Fatal(err)
	}
	texts := ground.Texts(lib)
	var sample []string
	for i := 0; i < len(texts); i += len(texts) / 24 {
		sample = append(sample, texts[i])
	}
	for _, c := range []struct {
		level kernel.Level
		prec  kernel.Precision
	}{{kernel.Best(), kernel.FP32}, {kernel.AVX512, kernel.Int8}, {kernel.AVX2, kernel.Int8}} {
		if !kernel.Supported(c.level) {
			t.Logf("%s %s: not on this CPU", c.level, c.prec)
			continue
		}
		l, err := embed.NewLocal(context.Background(), modeltest.Dir(t), modelstore.MiniLM(),
			embed.LocalOptions{Level: c.level, ForceLevel: true, Precision: c.prec})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		v, err := tasks.Shipped(l.ID())
		if err != nil || v == nil {
			t.Fatalf("%s: no shipped vectors (%v)", l.ID(), err)
		}
		if v.Model() != l.ID() {
			t.Fatalf("shipped vectors for %s are %q's", l.ID(), v.Model())
		}
		var missing []string
		for _, s := range texts {
			if _, ok := v.Get(s); !ok {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			t.Fatalf("%s: %d of %d texts have no shipped vector (rebuild with go run ./tasks/build -vectors), e.g. %q", l.ID(), len(missing), len(texts), missing[0])
		}
		got, err := l.Embed(t.Context(), sample)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sample {
			w, _ := v.Get(s)
			if c := cosine(got[i], w); c < 0.995 {
				t.Errorf("%s: %q: shipped vector's cosine with the model's is %.4f", l.ID(), s, c)
			}
		}
	}
}

func build(t *testing.T, routes []ground.Route, opts ground.Options) *ground.Result {
	t.Helper()
	l := local(t)
	lib, v := library(t)
	opts.Library, opts.Vectors, opts.Embed = lib, v, l.Embed
	res, err := ground.Build(t.Context(), routes, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGroundingMASConditions(t *testing.T) {
	res := build(t, []ground.Route{
		{Name: "gpt-4", Condition: "programming, code examples, debugging", Ground: true},
		{Name: "gpt-3.5-turbo", Condition: "general conversation, greetings, simple questions", Ground: true},
		{Name: "banking", Condition: "bank transfers, account balance", Ground: true},
		{Name: "off", Condition: "creative writing, poems", Ground: false},
	}, ground.Options{Auto: true, NoThreshold: true, Classifier: classifier.Options{Aggregation: classifier.AggregateLDA, Segments: true}})
	types := func(i int) []string { return res.Routes[i].TaskNames() }
	if got := types(0); !slices.Contains(got, "coding") || !slices.Contains(got, "debugging") {
		t.Errorf("code route grounded in %v", got)
	}
	if got := types(1); !slices.Contains(got, "chit_chat") || slices.Contains(got, "coding") {
		t.Errorf("chat route grounded in %v", got)
	}
	if got := types(2); len(got) != 0 {
		t.Errorf("a banking condition grounded in %v; the library has no banking", got)
	}
	if got := types(3); len(got) != 0 || len(res.Routes[3].Examples) != 0 {
		t.Errorf("ground: false still grounded: %v", got)
	}
	// banking has a condition, no task type and no examples: the set is
	// mixed, so grounded routes take at most MixedMaxExamples.
	g := res.Routes[0]
	if n := len(g.Examples); n < 20 || n > ground.MixedMaxExamples {
		t.Errorf("code route took %d pseudo-examples, want at most %d in a mixed set", n, ground.MixedMaxExamples)
	}
	for _, r := range res.Routes {
		if r.ThresholdFrom != ground.FromNone || r.Threshold != ground.NoThreshold {
			t.Errorf("%s: threshold %v from %s, want none: the default route has a condition", r.Name, r.Threshold, r.ThresholdFrom)
		}
	}
	for text, want := range map[string]string{
		"Write a quicksort function":                  "gpt-4",
		"my Go program panics with nil map":           "gpt-4",
		"Explain recursion with an example in Python": "gpt-4",
		"hello there, how are you today?":             "gpt-3.5-turbo",
	} {
		m, err := res.Classifier.Classify(t.Context(), text)
		if err != nil {
			t.Fatal(err)
		}
		if m.Route != want || !m.Cleared {
			t.Errorf("%q: %s (cleared %v), want %s", text, m.Route, m.Cleared, want)
		}
	}
}

// With a fallback route of no condition, auto thresholds are calibrated on
// the library, the library's unclaimed types form the none route, and a
// route's own threshold wins.
func TestCalibratedThresholds(t *testing.T) {
	own := 0.5
	res := build(t, []ground.Route{
		{Name: "code", Condition: "writing code, programming tasks", Ground: true},
		{Name: "math", Condition: "math problems", Ground: true},
		{Name: "translate", Condition: "translating text between languages", Ground: true, Threshold: &own},
		{Name: "fallback"},
	}, ground.Options{Auto: true, Classifier: classifier.Options{Aggregation: classifier.AggregateLDA, Segments: true}})
	for i, want := range []string{ground.FromAuto, ground.FromAuto, ground.FromRoute, ground.FromGlobal} {
		if got := res.Routes[i].ThresholdFrom; got != want {
			t.Errorf("%s: threshold from %s, want %s", res.Routes[i].Name, got, want)
		}
	}
	if c := res.Routes[0].Calibration; c == nil || c.Positives < 50 || c.Accuracy < 0.8 {
		t.Errorf("code calibration %+v", c)
	}
	// Every route with a condition is grounded: no mixed-set cap.
	if n := len(res.Routes[0].Examples); n <= ground.MixedMaxExamples {
		t.Errorf("code route took %d pseudo-examples in a set where every route is grounded", n)
	}
	if res.Routes[2].Threshold != 0.5 {
		t.Errorf("translate threshold %v", res.Routes[2].Threshold)
	}
	names := res.Classifier.Routes()
	if !slices.Contains(names, ground.NoneRoute) {
		t.Errorf("no none route among %v", names)
	}
	for text, want := range map[string]string{
		"Implement a function that merges two sorted linked lists": "code",
		"What is 15% of 240?": "math",
	} {
		m, _ := res.Classifier.Classify(t.Context(), text)
		if m.Route != want || !m.Cleared {
			t.Errorf("%q: %s (cleared %v)", text, m.Route, m.Cleared)
		}
	}
	m, _ := res.Classifier.Classify(t.Context(), "Write a limerick about a cat who loves lasagna")
	if m.Cleared && m.Route != ground.NoneRoute {
		t.Errorf("a poem request cleared %s (score %.3f)", m.Route, m.Score)
	}
}

// Without a library nothing is grounded and auto falls back to the given
// threshold.
func TestNoLibrary(t *testing.T) {
	l := local(t)
	res, err := ground.Build(t.Context(), []ground.Route{{Name: "a", Condition: "programming", Ground: true}, {Name: "b"}},
		ground.Options{Embed: l.Embed, Auto: true, Threshold: 0.35})
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Routes[0]; len(g.Tasks) != 0 || g.Threshold != 0.35 || g.ThresholdFrom != ground.FromGlobal {
		t.Errorf("%+v", g)
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
