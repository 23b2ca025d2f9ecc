package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// synthetic: routes a and b (indexed) and chat (the default, not indexed).
// Route examples score 0.55-0.95 on their own route and under 0.3 on the
// other; out-of-scope ones score 0.2-0.45 everywhere. So any threshold in
// (0.45, 0.55] is perfect.
func synthetic(seed uint64) *Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	t := &Table{Routes: []string{"a", "b", "chat"}, Indexed: []string{"a", "b"}, Default: "chat"}
	add := func(label string, s []float64) {
		t.Rows = append(t.Rows, Row{Label: label, Scores: [][]float64{s, s}})
	}
	for range 30 {
		add("a", []float64{u(0.55, 0.95), u(0, 0.3)})
		add("b", []float64{u(0, 0.3), u(0.55, 0.95)})
		add(OOS, []float64{u(0.2, 0.45), u(0.2, 0.45)})
	}
	return t
}

func labelsOf(t *Table) []string {
	var l []string
	for _, r := range t.Rows {
		l = append(l, r.Label)
	}
	return l
}

func TestFitFindsTheKnownThresholds(t *testing.T) {
	tab := synthetic(1)
	train, val, err := Split(labelsOf(tab), 0.3, 7)
	if err != nil {
		t.Fatal(err)
	}
	before := Params{Aggregation: "max", Threshold: 0.2, Thresholds: []float64{0.2, 0.2}}
	res := Fit(tab, train, val, before, FitOptions{})
	if res.ValBefore.MacroF1 >= 0.9 {
		t.Fatalf("validation macro-F1 before %v: the bad start is not bad", res.ValBefore.MacroF1)
	}
	if res.ValAfter.MacroF1 != 1 || res.ValAfter.OOSF1 != 1 || res.ValAfter.Accuracy != 1 {
		t.Errorf("validation after %+v, want perfect", res.ValAfter)
	}
	for i, th := range res.After.Thresholds {
		if th <= 0.45 || th > 0.55 {
			t.Errorf("route %s threshold %v, want in (0.45, 0.55]", tab.Indexed[i], th)
		}
	}
	if res.NTrain+res.NVal != len(tab.Rows) || res.NVal != 27 {
		t.Errorf("split %d/%d", res.NTrain, res.NVal)
	}
}

func TestFitShrinksThinRoutes(t *testing.T) {
	tab := synthetic(2)
	var train []int
	n := map[string]int{}
	for i, r := range tab.Rows {
		if r.Label == "b" && n["b"] >= 2 { // route b: 2 train examples
			continue
		}
		n[r.Label]++
		train = append(train, i)
	}
	res := Fit(tab, train, nil, Params{Aggregation: "max", Thresholds: []float64{0, 0}}, FitOptions{})
	g, b := res.After.Threshold, res.After.Thresholds[1]
	// Shrunk to g + 2/5 (fitted - g): never further from g than the fit.
	if math.Abs(b-g) > 0.3 {
		t.Errorf("thin route threshold %v, global %v", b, g)
	}
}

func TestSplitIsStratifiedAndDeterministic(t *testing.T) {
	var labels []string
	for i := range 35 {
		switch {
		case i%7 < 2:
			labels = append(labels, "a") // 10
		case i%7 < 6:
			labels = append(labels, "b") // 20
		default:
			labels = append(labels, "c") // 5
		}
	}
	tr1, va1, err := Split(labels, 0.3, 42)
	if err != nil {
		t.Fatal(err)
	}
	tr2, va2, _ := Split(labels, 0.3, 42)
	if !slices.Equal(tr1, tr2) || !slices.Equal(va1, va2) {
		t.Fatal("same seed, different split")
	}
	_, va3, _ := Split(labels, 0.3, 43)
	if slices.Equal(va1, va3) {
		t.Error("another seed gave the same split")
	}
	count := map[string]int{}
	for _, i := range va1 {
		count[labels[i]]++
	}
	if count["a"] != 3 || count["b"] != 6 || count["c"] != 2 { // round(0.3 n) per label
		t.Errorf("validation per label %v, want a 3 b 6 c 2", count)
	}
	all := append(slices.Clone(tr1), va1...)
	slices.Sort(all)
	if len(slices.Compact(all)) != 35 || len(tr1)+len(va1) != 35 {
		t.Error("train and validation do not partition the corpus")
	}
	if _, _, err := Split(labels, 1, 1); err == nil {
		t.Error("val 1 accepted")
	}
}

// TestEvaluateAgreesWithTheRouter checks that Fit's simulated decisions
// are the router's, margin and default included, on random scores.
func TestEvaluateAgreesWithTheRouter(t *testing.T) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 3))
	// Three routes, one utterance each along an axis; the request vectors
	// are random, so scores are cosines with those axes.
	utter := map[string][]float32{"ua": {1, 0, 0, 0}, "ub": {0, 1, 0, 0}, "uc": {0, 0, 1, 0}}
	vecs := map[string][]float32{}
	var corpus []Example
	labels := []string{"a", "b", "c", "chat", OOS}
	for i := range 300 {
		text := fmt.Sprintf("request %d", i)
		vecs[text] = []float32{rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32() * 2}
		corpus = append(corpus, Example{Line: i + 1, Label: labels[i%len(labels)], Messages: []providers.Message{userMessage(text)}})
	}
	embedFn := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, tx := range texts {
			v, ok := utter[tx]
			if !ok {
				v, ok = vecs[tx]
			}
			if !ok {
				return nil, fmt.Errorf("unknown text %q", tx)
			}
			out[i] = v
		}
		return out, nil
	}
	routes := []string{"a", "b", "c", "chat"}
	for trial := range 20 {
		th := []float64{0.2 + 0.4*rng.Float64(), 0.2 + 0.4*rng.Float64(), 0.2 + 0.4*rng.Float64()}
		margin := 0.0
		if trial%2 == 1 {
			margin = 0.1 * rng.Float64()
		}
		var cr []classifier.Route
		for i, n := range []string{"a", "b", "c"} {
			cr = append(cr, classifier.Route{Name: n, Examples: []string{"u" + n}, Threshold: th[i]})
		}
		byMax, err := classifier.New(ctx, cr, embedFn, classifier.Options{})
		if err != nil {
			t.Fatal(err)
		}
		byMean, err := classifier.New(ctx, cr, embedFn, classifier.Options{Aggregation: classifier.AggregateMean})
		if err != nil {
			t.Fatal(err)
		}
		build := func(c router.Classifier) (*router.Router, error) {
			var rs []router.Route
			for _, n := range routes {
				rs = append(rs, router.Route{Name: n, Chain: &providers.Chain{}})
			}
			return router.New(c, router.Options{Routes: rs, DefaultRoute: "chat", Margin: margin})
		}
		outcomes, err := Decide(ctx, build, byMax, vecs, corpus)
		if err != nil {
			t.Fatal(err)
		}
		rep := Measure(outcomes, routes, "chat", nil)
		tab := &Table{Routes: routes, Indexed: []string{"a", "b", "c"}, Default: "chat"}
		var all []int
		for i, ex := range corpus {
			row, err := NewRow(ctx, ex.Label, vecs[ex.Messages[0].Text()], byMax, byMean)
			if err != nil {
				t.Fatal(err)
			}
			tab.Rows = append(tab.Rows, row)
			all = append(all, i)
		}
		got := tab.Evaluate(all, Params{Aggregation: "max", Thresholds: th, Margin: margin})
		if !near(got.Accuracy, rep.Accuracy) || !near(got.MacroF1, rep.MacroF1) || !near(got.OOSF1, rep.OOS.F1) {
			t.Fatalf("trial %d: Evaluate %+v, router %v %v %v", trial, got, rep.Accuracy, rep.MacroF1, rep.OOS.F1)
		}
	}
}

// An indexed name that is no route (the index's own none route) takes the
// default route when it tops a row, as the router does, instead of
// breaking the evaluation.
func TestEvaluateIndexedNameThatIsNoRoute(t *testing.T) {
	tab := &Table{Routes: []string{"a", "chat"}, Indexed: []string{"a", "(none)"}, Default: "chat"}
	tab.Rows = []Row{
		{Label: "a", Scores: [][]float64{{0.9, 0.1}}},
		{Label: OOS, Scores: [][]float64{{0.1, 0.9}}},
	}
	all := []int{0, 1}
	res := Fit(tab, all, all, Params{Aggregation: "max", Threshold: 0.5, Thresholds: []float64{0.5, 0.5}}, FitOptions{})
	if res.ValAfter.Accuracy != 1 || res.ValBefore.Accuracy != 1 {
		t.Errorf("before %+v after %+v, want both rows right", res.ValBefore, res.ValAfter)
	}
}
