package eval

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/judge"
)

// Outcome is the router's decision on one example.
type Outcome struct {
	Line      int    // corpus line
	Label     string // expected: a route name or OOS
	Text      string // what was routed on
	Route     string // the route taken
	DecidedBy string // router.ByEmbedding or router.ByDefault
	// Scores are every indexed route's scores, best first; nil when the
	// example was not classified (no text).
	Scores []classifier.Score
	// Judge is the LLM judge's part when it was asked, else nil.
	Judge *router.JudgeInfo
}

// NewOutcome records d as the decision on ex.
func NewOutcome(ex Example, d router.Decision) Outcome {
	o := Outcome{Line: ex.Line, Label: ex.Label, Text: d.Text, Route: d.Route, DecidedBy: d.DecidedBy, Judge: d.Judge}
	if d.Match != nil {
		o.Scores = d.Match.Scores
	}
	return o
}

// fellBack reports a decision that took the default route because no
// route was chosen: by the embedding (ByDefault) or by the judge answering
// "none", which the router reports as ByJudge on the default route.
func (o Outcome) fellBack() bool {
	return o.DecidedBy == router.ByDefault ||
		o.DecidedBy == router.ByJudge && o.Judge != nil && o.Judge.Answer == judge.None
}

// decidedBy is o.DecidedBy, with a judge's "none" counted as a fallback.
func (o Outcome) decidedBy() string {
	if o.fellBack() {
		return router.ByDefault
	}
	return o.DecidedBy
}

// Predicted is the class an outcome counts as, given the default route:
// OOS when the router fell back to the default route, else the route taken.
// The one exception is an example labelled with the default route itself
// (a "chat" route that is also default_route): it is predicted correctly
// whenever the default route is taken, whether by embedding or by fallback.
func Predicted(label, route, decidedBy, def string) string {
	switch {
	case label == def && route == def:
		return def
	case decidedBy == router.ByDefault:
		return OOS
	}
	return route
}

// PRF is precision, recall and F1 of one class, in [0, 1]. A ratio with a
// zero denominator is 0.
type PRF struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // examples labelled with the class
}

func prf(tp, predicted, support int) PRF {
	p := PRF{Support: support}
	if predicted > 0 {
		p.Precision = float64(tp) / float64(predicted)
	}
	if support > 0 {
		p.Recall = float64(tp) / float64(support)
	}
	if p.Precision+p.Recall > 0 {
		p.F1 = 2 * p.Precision * p.Recall / (p.Precision + p.Recall)
	}
	return p
}

// Confusion counts examples by expected class (rows) and predicted class
// (columns), both in Labels order.
type Confusion struct {
	Labels []string `json:"labels"`
	Counts [][]int  `json:"counts"`
}

// RouteScore is one route's score for a misrouted example.
type RouteScore struct {
	Route string  `json:"route"`
	Score float64 `json:"score"`
}

// Miss is an example predicted as the wrong class.
type Miss struct {
	Line      int          `json:"line"`
	Text      string       `json:"text"`
	Label     string       `json:"label"`
	Predicted string       `json:"predicted"`
	Route     string       `json:"route"`
	DecidedBy string       `json:"decided_by"`
	Top       []RouteScore `json:"top"` // the two best routes' scores
}

// Latency summarises per-request decision times, embedding included, in
// milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"` // decisions timed
}

// NewLatency summarises ds by nearest rank.
func NewLatency(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := max(int(math.Ceil(p*float64(len(s))))-1, 0)
		return float64(s[i].Microseconds()) / 1000
	}
	return Latency{P50: at(0.50), P99: at(0.99), N: len(s)}
}

// Report is the quality of one routing configuration on one corpus.
type Report struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	// InScopeAccuracy is the accuracy over the examples not labelled OOS
	// (falling back to the default route counts as wrong for them unless
	// they are labelled with it): CLINC150's "in-scope accuracy".
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	// MacroF1 is the unweighted mean F1 over the classes in PerRoute: every
	// route some example is labelled with, plus OOS when any example is
	// labelled or predicted OOS.
	MacroF1 float64 `json:"macro_f1"`
	// Coverage is the share of examples not sent to the default route by
	// fallback.
	Coverage float64 `json:"coverage"`
	// OOS counts an example as predicted out of scope exactly when the
	// router fell back to the default route (DecidedBy default, or the
	// judge answered none), and as
	// expected out of scope when it is labelled OOS; so here, unlike in
	// PerRoute, a default-route example that fell back counts against
	// precision.
	OOS       PRF            `json:"oos"`
	PerRoute  map[string]PRF `json:"per_route"`
	Latency   Latency        `json:"latency_ms"`
	Confusion Confusion      `json:"confusion"`
	Misrouted []Miss         `json:"misrouted"`
	// Judge summarises the LLM judge's part; nil when eval ran without
	// one (see MeasureJudge).
	Judge *JudgeReport `json:"judge,omitempty"`

	DefaultRoute string      `json:"default_route"`
	Routes       []RouteInfo `json:"routes"` // indexed routes, config order
	// Outcomes are kept for the HTML report's score histograms.
	Outcomes []Outcome `json:"-"`
}

// RouteInfo is an indexed route and its threshold, for the report.
type RouteInfo struct {
	Name      string  `json:"name"`
	Threshold float64 `json:"threshold"`
}

// Measure scores outcomes. routes are every route name in config order (for
// ordering), def the default route, indexed the routes that can match.
func Measure(outcomes []Outcome, routes []string, def string, indexed []RouteInfo) Report {
	rep := Report{N: len(outcomes), PerRoute: map[string]PRF{}, DefaultRoute: def, Routes: indexed, Outcomes: outcomes, Misrouted: []Miss{}}
	exp := make([]string, len(outcomes))
	pred := make([]string, len(outcomes))
	seen := map[string]bool{}
	var correct, inScope, inScopeCorrect, covered, oosTP, oosPred, oosSupport int
	for i, o := range outcomes {
		exp[i], pred[i] = o.Label, Predicted(o.Label, o.Route, o.decidedBy(), def)
		seen[exp[i]], seen[pred[i]] = true, true
		if o.Label != OOS {
			inScope++
		}
		if exp[i] == pred[i] {
			correct++
			if o.Label != OOS {
				inScopeCorrect++
			}
		} else {
			rep.Misrouted = append(rep.Misrouted, miss(o, pred[i]))
		}
		defaulted := o.fellBack()
		if !defaulted {
			covered++
		}
		if defaulted {
			oosPred++
		}
		if o.Label == OOS {
			oosSupport++
			if defaulted {
				oosTP++
			}
		}
	}
	var labels []string
	for _, r := range routes {
		if seen[r] {
			labels = append(labels, r)
		}
	}
	if seen[OOS] {
		labels = append(labels, OOS)
	}
	idx := make(map[string]int, len(labels))
	for i, l := range labels {
		idx[l] = i
	}
	rep.Confusion = Confusion{Labels: labels, Counts: make([][]int, len(labels))}
	for i := range labels {
		rep.Confusion.Counts[i] = make([]int, len(labels))
	}
	for i := range exp {
		rep.Confusion.Counts[idx[exp[i]]][idx[pred[i]]]++
	}
	var sum float64
	var classes int
	for i, l := range labels {
		var tp, npred, support int
		for j := range labels {
			npred += rep.Confusion.Counts[j][i]
			support += rep.Confusion.Counts[i][j]
		}
		tp = rep.Confusion.Counts[i][i]
		if support == 0 && l != OOS {
			continue // predicted only: not a class of this corpus
		}
		p := prf(tp, npred, support)
		rep.PerRoute[l] = p
		sum += p.F1
		classes++
	}
	if classes > 0 {
		rep.MacroF1 = sum / float64(classes)
	}
	if rep.N > 0 {
		rep.Accuracy = float64(correct) / float64(rep.N)
		rep.Coverage = float64(covered) / float64(rep.N)
	}
	if inScope > 0 {
		rep.InScopeAccuracy = float64(inScopeCorrect) / float64(inScope)
	}
	rep.OOS = prf(oosTP, oosPred, oosSupport)
	return rep
}

func miss(o Outcome, pred string) Miss {
	m := Miss{Line: o.Line, Text: o.Text, Label: o.Label, Predicted: pred, Route: o.Route, DecidedBy: o.DecidedBy, Top: []RouteScore{}}
	for _, s := range o.Scores[:min(2, len(o.Scores))] {
		m.Top = append(m.Top, RouteScore{s.Route, s.Score})
	}
	return m
}

// scoreOf returns route's score in o, and whether o has one.
func (o Outcome) scoreOf(route string) (float64, bool) {
	for _, s := range o.Scores {
		if s.Route == route {
			return s.Score, true
		}
	}
	return 0, false
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}
