package eval

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/router"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// handMade: routes code, creative and chat (the default). Worked out by hand
// in TestMeasureByHand.
func handMade() []Outcome {
	emb, def := router.ByEmbedding, router.ByDefault
	sc := []classifier.Score{{Route: "code", Score: 0.5}, {Route: "creative", Score: 0.3}}
	return []Outcome{
		{Line: 1, Label: "code", Route: "code", DecidedBy: emb, Scores: sc},
		{Line: 2, Label: "code", Route: "code", DecidedBy: emb, Scores: sc},
		{Line: 3, Label: "code", Route: "chat", DecidedBy: def, Scores: sc},
		{Line: 4, Label: "creative", Route: "creative", DecidedBy: emb, Scores: sc},
		{Line: 5, Label: "creative", Route: "code", DecidedBy: emb, Scores: sc},
		{Line: 6, Label: "chat", Route: "chat", DecidedBy: def, Scores: sc}, // default label, defaulted: right
		{Line: 7, Label: OOS, Route: "chat", DecidedBy: def, Scores: sc},
		{Line: 8, Label: OOS, Route: "creative", DecidedBy: emb, Scores: sc},
		{Line: 9, Label: OOS, Route: "chat", DecidedBy: def},
		{Line: 10, Label: "chat", Route: "code", DecidedBy: emb, Scores: sc},
	}
}

func TestMeasureByHand(t *testing.T) {
	rep := Measure(handMade(), []string{"code", "creative", "chat"}, "chat", nil)
	// Predicted: code code oos creative code chat oos creative oos code.
	if rep.N != 10 || !near(rep.Accuracy, 0.6) || !near(rep.Coverage, 0.6) {
		t.Errorf("n %d accuracy %v coverage %v, want 10 0.6 0.6", rep.N, rep.Accuracy, rep.Coverage)
	}
	// In scope: lines 1-6 and 10; right: 1, 2, 4 and 6.
	if !near(rep.InScopeAccuracy, 4.0/7) {
		t.Errorf("in-scope accuracy %v, want 4/7", rep.InScopeAccuracy)
	}
	wantConf := Confusion{
		Labels: []string{"code", "creative", "chat", OOS},
		Counts: [][]int{{2, 0, 0, 1}, {1, 1, 0, 0}, {1, 0, 1, 0}, {0, 1, 0, 2}},
	}
	if !reflect.DeepEqual(rep.Confusion, wantConf) {
		t.Errorf("confusion %+v, want %+v", rep.Confusion, wantConf)
	}
	want := map[string]PRF{
		"code":     {0.5, 2.0 / 3, 4.0 / 7, 3},     // tp 2 of 4 predicted, 3 labelled
		"creative": {0.5, 0.5, 0.5, 2},             // 1 of 2, 2
		"chat":     {1, 0.5, 2.0 / 3, 2},           // 1 of 1, 2
		OOS:        {2.0 / 3, 2.0 / 3, 2.0 / 3, 3}, // 2 of 3, 3
	}
	for c, w := range want {
		g := rep.PerRoute[c]
		if g.Support != w.Support || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
			t.Errorf("%s: got %+v, want %+v", c, g, w)
		}
	}
	if !near(rep.MacroF1, 101.0/168) { // (4/7 + 1/2 + 2/3 + 2/3) / 4
		t.Errorf("macro-F1 %v, want %v", rep.MacroF1, 101.0/168)
	}
	// Literal OOS: predicted = fell back (lines 3, 6, 7, 9), expected =
	// labelled oos (7, 8, 9): P 2/4, R 2/3, F1 4/7.
	if o := rep.OOS; o.Support != 3 || !near(o.Precision, 0.5) || !near(o.Recall, 2.0/3) || !near(o.F1, 4.0/7) {
		t.Errorf("oos %+v", o)
	}
	if len(rep.Misrouted) != 4 {
		t.Fatalf("%d misrouted, want 4", len(rep.Misrouted))
	}
	m := rep.Misrouted[0]
	if m.Line != 3 || m.Predicted != OOS || len(m.Top) != 2 || m.Top[0].Route != "code" {
		t.Errorf("first miss %+v", m)
	}
}

func TestMeasureOOSOnlyWhenPresent(t *testing.T) {
	out := []Outcome{{Label: "code", Route: "code", DecidedBy: router.ByEmbedding}}
	rep := Measure(out, []string{"code", "chat"}, "chat", nil)
	if _, ok := rep.PerRoute[OOS]; ok || rep.MacroF1 != 1 {
		t.Errorf("per route %v, macro %v: oos absent from labels and predictions must not count", rep.PerRoute, rep.MacroF1)
	}
}

func TestNewLatency(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := NewLatency(ds)
	if l.P50 != 50 || l.P99 != 99 || l.N != 100 {
		t.Errorf("got %+v, want p50 50 p99 99 n 100", l)
	}
	if (NewLatency(nil) != Latency{}) {
		t.Error("empty sample")
	}
}
