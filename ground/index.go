package ground

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/switchyard-router/switchyard/classifier"
)

// thin reports an index with a route of fewer than LDAMinExamples
// examples (its own and pseudo-examples): one described by its condition
// alone.
func thin(idx []classifier.Route) bool {
	for _, r := range idx {
		if r.Name != NoneRoute && len(r.Examples) < LDAMinExamples {
			return true
		}
	}
	return false
}

// taskRoutes reports a route set that is about the library's task types:
// at least half of its routes with a condition are grounded in one. Only
// then do the types no route claims stand for "none of the routes": a set
// of domain routes (banking, travel, ...) with one route grounded in
// chit-chat is not about task types, and its requests would be lost to
// types that are not its business.
func (b *builder) taskRoutes(routes []Route) bool {
	conds, grounded := 0, 0
	for i, r := range routes {
		if strings.TrimSpace(r.Condition) == "" {
			continue
		}
		conds++
		if len(b.res.Routes[i].Tasks) > 0 {
			grounded++
		}
	}
	return grounded > 0 && 2*grounded >= conds
}

// index builds the classifier and resolves thresholds.
func (b *builder) index(ctx context.Context, routes []Route) error {
	var idx []classifier.Route
	var pos []int // route index of each indexed route
	for i, r := range routes {
		exs := append(slices.Clone(r.Examples), b.res.Routes[i].Examples...)
		if strings.TrimSpace(r.Condition) == "" && len(exs) == 0 {
			b.res.Routes[i].ThresholdFrom = FromGlobal
			b.res.Routes[i].Threshold = b.opts.Threshold
			continue
		}
		idx = append(idx, classifier.Route{Name: r.Name, Condition: r.Condition, Examples: exs, Negatives: r.Negatives, Threshold: b.opts.Threshold})
		pos = append(pos, i)
	}
	if len(idx) == 0 {
		return nil
	}
	// The library's task types no route is grounded in stand for "none of
	// the routes": a request nearest to them takes the default route. Not
	// when the default route has a condition of its own (NoThreshold):
	// then every request takes its best route.
	if b.opts.Library != nil && !b.opts.NoThreshold && b.taskRoutes(routes) {
		var exs []string
		have := map[string]bool{}
		for _, t := range b.types {
			if _, ok := b.owner[t.Name]; ok {
				continue
			}
			e, used := b.examples(t.Name, NoneExamples, have)
			exs = append(exs, e...)
			b.chosen[t.Name] = used
		}
		if len(exs) > 0 {
			idx = append(idx, classifier.Route{Name: NoneRoute, Examples: exs, Threshold: 1e6})
		}
	}
	copts := b.opts.Classifier
	if b.opts.AutoLDA && copts.Aggregation == classifier.AggregateLDA && thin(idx) {
		copts.Aggregation = classifier.AggregateMax
	}
	b.res.Aggregation = cmp.Or(copts.Aggregation, classifier.AggregateMax)
	cls, err := classifier.New(ctx, idx, b.embed, copts)
	if err != nil {
		return err
	}
	th := map[string]float64{}
	var auto []int // indexed routes to calibrate
	for k, i := range pos {
		r, g := routes[i], &b.res.Routes[i]
		switch {
		case r.Threshold != nil:
			g.Threshold, g.ThresholdFrom = *r.Threshold, FromRoute
		case !b.opts.Auto || b.opts.Library == nil:
			g.Threshold, g.ThresholdFrom = b.opts.Threshold, FromGlobal
		case b.opts.NoThreshold:
			g.Threshold, g.ThresholdFrom = NoThreshold, FromNone
		default:
			auto = append(auto, k)
			continue
		}
		th[r.Name] = g.Threshold
	}
	if len(auto) > 0 {
		if err := b.calibrate(ctx, cls, routes, idx, pos, auto, th); err != nil {
			return err
		}
	}
	for k := range idx {
		if v, ok := th[idx[k].Name]; ok {
			idx[k].Threshold = v
		}
	}
	if cls, err = cls.WithThresholds(th); err != nil {
		return err
	}
	b.res.Classifier, b.res.Indexed = cls, idx
	return nil
}

// scoreRows scores the calibration prompts with cls: up to
// DefaultCalibrationRows of each type's sample, none taken as an example,
// each weighing 1/(its type's rows), so that types weigh alike.
func (b *builder) scoreRows(ctx context.Context, cls *classifier.Classifier) ([]scored, error) {
	var rows []scored
	for _, t := range b.types {
		prompts := b.sample[t.Name]
		var use []int
		for i := range prompts {
			if !b.chosen[t.Name][i] {
				use = append(use, i)
			}
		}
		if len(use) > DefaultCalibrationRows {
			// An even spread over the sample, which is in library order.
			step := float64(len(use)) / DefaultCalibrationRows
			thin := make([]int, 0, DefaultCalibrationRows)
			for k := range DefaultCalibrationRows {
				thin = append(thin, use[int(float64(k)*step)])
			}
			use = thin
		}
		for _, i := range use {
			text := prompts[i].Text
			segs := classifier.Segments(text)
			vecs, err := b.embed(ctx, append([]string{text}, segs...))
			if err != nil {
				return nil, fmt.Errorf("ground: calibrate: %w", err)
			}
			m, err := cls.ClassifyVectors(ctx, vecs, segs)
			if err != nil {
				return nil, fmt.Errorf("ground: calibrate: %w", err)
			}
			rows = append(rows, scored{typ: t.Name, weight: 1 / float64(len(use)), top: m.Route, scores: scoreMap(m)})
		}
	}
	return rows, nil
}

// scored is one calibration prompt's outcome.
type scored struct {
	typ    string
	weight float64
	top    string
	scores map[string]float64
}

// calibrate sets the thresholds of the indexed routes listed in auto.
func (b *builder) calibrate(ctx context.Context, cls *classifier.Classifier, routes []Route, idx []classifier.Route, pos, auto []int, th map[string]float64) error {
	rows, err := b.scoreRows(ctx, cls)
	if err != nil {
		return err
	}
	owned := func(typ string) bool { _, ok := b.owner[typ]; return ok }
	for _, k := range auto {
		i := pos[k]
		r, g := routes[i], &b.res.Routes[i]
		var p, n []weighted
		for _, row := range rows {
			if row.top != r.Name {
				continue
			}
			switch o, ok := b.owner[row.typ]; {
			case ok && o == i:
				p = append(p, weighted{row.scores[r.Name], row.weight})
			case !ok:
				n = append(n, weighted{row.scores[r.Name], row.weight})
			}
		}
		if len(r.Negatives) > 0 {
			vecs, err := b.embed(ctx, r.Negatives)
			if err != nil {
				return fmt.Errorf("ground: calibrate: %w", err)
			}
			for _, v := range vecs {
				m, err := cls.ClassifyVector(ctx, v)
				if err != nil {
					return fmt.Errorf("ground: calibrate: %w", err)
				}
				if m.Route == r.Name {
					n = append(n, weighted{m.Score, 1 / float64(len(vecs))})
				}
			}
		}
		if len(p) > 0 {
			t, acc := separate(balance(p, 1), balance(n, NegativeWeight))
			g.Threshold, g.ThresholdFrom = t, FromAuto
			g.Calibration = &Calibration{Positives: len(p), Negatives: len(n), Accuracy: acc}
		} else {
			// Nothing in the library is this route's: keep most of what
			// no route claims below the threshold.
			var all []weighted
			for _, row := range rows {
				if !owned(row.typ) {
					all = append(all, weighted{row.scores[r.Name], row.weight})
				}
			}
			g.Threshold, g.ThresholdFrom = quantile(all, UngroundedQuantile), FromAuto
			if len(all) == 0 {
				g.Threshold = NoThreshold
			}
			g.Calibration = &Calibration{Negatives: len(all)}
		}
		g.Threshold = math.Round(g.Threshold*1e4) / 1e4
		th[r.Name] = g.Threshold
	}
	return nil
}

func scoreMap(m classifier.Match) map[string]float64 {
	out := make(map[string]float64, len(m.Scores))
	for _, s := range m.Scores {
		out[s.Route] = s.Score
	}
	return out
}

type weighted struct{ score, w float64 }

// balance scales xs' weights to sum to 1, so that positives and negatives
// weigh alike whatever their numbers: the threshold then maximises the
// true positive rate plus the true negative rate.
func balance(xs []weighted, to float64) []weighted {
	var total float64
	for _, x := range xs {
		total += x.w
	}
	out := make([]weighted, len(xs))
	for i, x := range xs {
		out[i] = weighted{x.score, to * x.w / total}
	}
	return out
}

// separate returns the threshold that maximises the weighted positives at
// or above it plus the weighted negatives below it (the middle of the best
// interval), and the weighted accuracy there.
func separate(p, n []weighted) (float64, float64) {
	type pt struct {
		s, w float64
		pos  bool
	}
	var all []pt
	var total, negW float64
	for _, x := range p {
		all = append(all, pt{x.score, x.w, true})
		total += x.w
	}
	for _, x := range n {
		all = append(all, pt{x.score, x.w, false})
		total += x.w
		negW += x.w
	}
	slices.SortFunc(all, func(a, b pt) int { return cmp.Compare(a.s, b.s) })
	// A threshold just above all[i-1] (below all[i]): correct = negatives
	// among all[:i] + positives among all[i:].
	posAbove := total - negW
	negBelow := 0.0
	bestI, best := 0, posAbove
	for i := 1; i <= len(all); i++ {
		x := all[i-1]
		if x.pos {
			posAbove -= x.w
		} else {
			negBelow += x.w
		}
		if i < len(all) && all[i].s == x.s {
			continue
		}
		if c := negBelow + posAbove; c > best+1e-12 {
			bestI, best = i, c
		}
	}
	var t float64
	switch {
	case bestI == 0:
		t = all[0].s - 0.01
	case bestI == len(all):
		t = all[len(all)-1].s + 0.01
	default:
		t = (all[bestI-1].s + all[bestI].s) / 2
	}
	return t, best / total
}

// quantile returns the weighted q-quantile of the scores.
func quantile(xs []weighted, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.SortFunc(xs, func(a, b weighted) int { return cmp.Compare(a.score, b.score) })
	var total float64
	for _, x := range xs {
		total += x.w
	}
	acc := 0.0
	for _, x := range xs {
		acc += x.w
		if acc >= q*total {
			return x.score
		}
	}
	return xs[len(xs)-1].score
}

func dot(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

func unit(x []float32) []float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 || math.IsNaN(s) {
		return nil
	}
	f := float32(1 / math.Sqrt(s))
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v * f
	}
	return out
}
