package classifier_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/switchyard-router/switchyard/classifier"
)

func TestClassifyTurnsWeighs(t *testing.T) {
	tb := &table{vecs: map[string][]float32{
		"route a":   {1, 0, 0},
		"route b":   {0, 1, 0},
		"about a":   {2, 0, 0}, // not unit length: normalised before weighting
		"about b":   {0, 1, 0},
		"unrelated": {0, 0, 1},
	}}
	routes := []classifier.Route{
		{Name: "a", Condition: "route a", Threshold: 0.5},
		{Name: "b", Condition: "route b", Threshold: 0.5},
	}
	c := newClassifier(t, routes, tb.embed, classifier.Options{})
	tests := []struct {
		name    string
		texts   []string
		weights []float64
		route   string
		score   float64
	}{
		{"last turn weighs most", []string{"about b", "about a"}, []float64{0.5, 1}, "a", 1 / math.Sqrt(1.25)},
		{"decay 1 ties, config order wins", []string{"about b", "about a"}, []float64{1, 1}, "a", 1 / math.Sqrt(2)},
		{"an earlier turn can outweigh", []string{"about b", "about a"}, []float64{3, 1}, "b", 3 / math.Sqrt(10)},
		{"one turn is Classify", []string{"about b"}, []float64{1}, "b", 1},
		{"zero weight drops a turn", []string{"about b", "unrelated", "about a"}, []float64{0, 0, 1}, "a", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb.batches = nil
			m, err := c.ClassifyTurns(t.Context(), tt.texts, tt.weights)
			if err != nil {
				t.Fatal(err)
			}
			if m.Route != tt.route || !near(m.Score, tt.score) {
				t.Errorf("got %s %.6f, want %s %.6f (scores %+v)", m.Route, m.Score, tt.route, tt.score, m.Scores)
			}
			if want := [][]string{tt.texts}; !reflect.DeepEqual(tb.batches, want) {
				t.Errorf("embed batches = %q, want one batch %q", tb.batches, want)
			}
		})
	}
}

func TestClassifyTurnsRejects(t *testing.T) {
	tb := &table{vecs: map[string][]float32{
		"route a": {1, 0, 0},
		"x":       {1, 0, 0},
		"-x":      {-1, 0, 0},
	}}
	c := newClassifier(t, []classifier.Route{{Name: "a", Condition: "route a"}}, tb.embed, classifier.Options{})
	for name, tt := range map[string]struct {
		texts   []string
		weights []float64
	}{
		"no turns":         {nil, nil},
		"weights mismatch": {[]string{"x"}, []float64{1, 1}},
		"negative weight":  {[]string{"x"}, []float64{-1}},
		"NaN weight":       {[]string{"x"}, []float64{math.NaN()}},
		"all weights zero": {[]string{"x"}, []float64{0}},
		"turns cancel out": {[]string{"x", "-x"}, []float64{1, 1}},
		"unknown text":     {[]string{"y"}, []float64{1}},
	} {
		if m, err := c.ClassifyTurns(t.Context(), tt.texts, tt.weights); err == nil {
			t.Errorf("%s: got %+v, want an error", name, m)
		}
	}
	empty := newClassifier(t, nil, tb.embed, classifier.Options{})
	if _, err := empty.ClassifyTurns(t.Context(), []string{"x"}, []float64{1}); err != classifier.ErrNoRoutes {
		t.Errorf("no routes: err = %v, want ErrNoRoutes", err)
	}
}
