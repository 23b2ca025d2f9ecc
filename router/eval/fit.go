package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/switchyard-router/switchyard/classifier"
)

// aggregationIndex maps an aggregation to its index in Row.Scores, the
// order of classifier.Aggregations; "" is the default, max.
func aggregationIndex(agg string) int {
	return max(slices.Index(classifier.Aggregations, agg), 0)
}

// Row is one example's route scores under each of classifier.Aggregations.
type Row struct {
	Label string
	// Scores[a][i] is route Table.Indexed[i]'s score under aggregation
	// classifier.Aggregations[a]; every Scores[a] is nil when the example
	// has no text to route on.
	Scores [][]float64
	// tops[a] is the index of the top and the runner-up route under
	// aggregation a (-1 for none), computed once: thresholds and margins
	// never change the ranking, so Evaluate only compares two scores.
	tops [][2]int
}

// Table is what Fit searches over: every example's scores, computed once.
type Table struct {
	Routes  []string // every route, config order
	Indexed []string // the routes that can match, config order
	Default string
	Rows    []Row
}

// NewRow scores vec (nil for an example with no text) with one classifier
// per aggregation over the same routes, in classifier.Aggregations order.
func NewRow(ctx context.Context, label string, vec []float32, byAgg ...*classifier.Classifier) (Row, error) {
	return NewSegmentedRow(ctx, label, [][]float32{vec}, nil, byAgg...)
}

// NewSegmentedRow is NewRow for a request given as the vector of its whole
// text, vecs[0], and of its instruction segments, vecs[1:] (see
// classifier.ClassifyVectors), as a classifier with Options.Segments scores
// it.
func NewSegmentedRow(ctx context.Context, label string, vecs [][]float32, segments []string, byAgg ...*classifier.Classifier) (Row, error) {
	row := Row{Label: label, Scores: make([][]float64, len(byAgg))}
	if len(vecs) == 0 || vecs[0] == nil {
		return row, nil
	}
	for a, c := range byAgg {
		m, err := c.ClassifyVectors(ctx, vecs, segments)
		if err != nil {
			return Row{}, err
		}
		order := c.Routes()
		row.Scores[a] = make([]float64, len(order))
		for _, s := range m.Scores {
			row.Scores[a][slices.Index(order, s.Route)] = s.Score
		}
	}
	return row, nil
}

// rank returns the top and runner-up of s (ties to the earlier route), -1
// where there is none.
func rank(s []float64) [2]int {
	if len(s) == 0 {
		return [2]int{-1, -1}
	}
	top, second := 0, -1
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] > s[top]:
			top, second = j, top
		case second < 0 || s[j] > s[second]:
			second = j
		}
	}
	return [2]int{top, second}
}

// Params are the routing knobs Fit tunes.
type Params struct {
	Aggregation string
	Threshold   float64   // routing.threshold
	Thresholds  []float64 // each indexed route's effective threshold, Table.Indexed order
	Margin      float64   // routing.margin; 0 is off
}

// Score is a summary of routing quality on a set of rows.
type Score struct {
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
	OOSF1    float64 `json:"oos_f1"`
}

// FitOptions tunes Fit. The zero value is the documented default.
type FitOptions struct {
	// MinSupport is the number of train examples a route needs for its own
	// threshold to stand as fitted; below it the threshold is shrunk toward
	// the global one in proportion (n/MinSupport). 0 means 5.
	MinSupport int
	// Rounds bounds the coordinate-ascent passes. 0 means 20.
	Rounds int
}

// FitResult is Fit's outcome: the parameters before (from the config) and
// after, scored on the train and validation rows.
type FitResult struct {
	Before, After           Params
	TrainBefore, TrainAfter Score
	ValBefore, ValAfter     Score
	NTrain, NVal            int
	// PerAggregation is the train macro-F1 reached with each aggregation.
	PerAggregation map[string]float64
}

// steps returns from, from+step, ..., to.
func steps(from, to, step float64) []float64 {
	var g []float64
	for i := 0; ; i++ {
		v := math.Round((from+float64(i)*step)*1000) / 1000
		if v > to+1e-9 {
			return g
		}
		g = append(g, v)
	}
}

// grid is the threshold search space of an aggregation: cosines 0.00 to
// 1.00, lda's rescaled scores -1.00 to 1.00, step 0.01.
func grid(agg string) []float64 {
	if agg == classifier.AggregateLDA {
		return steps(-1, 1, 0.01)
	}
	return steps(0, 1, 0.01)
}

// marginGrid is the margin search space: 0 to 0.10 step 0.01 for cosines,
// 0 to 0.30 step 0.02 for lda, whose unit (a route's typical own score
// less its best rival's) is wider.
func marginGrid(agg string) []float64 {
	if agg == classifier.AggregateLDA {
		return steps(0, 0.3, 0.02)
	}
	return steps(0, 0.1, 0.01)
}

const eps = 1e-12

// Fit tunes before's thresholds, margin and aggregation to maximise macro-F1
// (OOS included) on the train rows, and scores before and after on the
// validation rows.
//
// Method: scores under every aggregation are in the table already. For
// each aggregation, coordinate ascent on train: the global threshold over
// a grid (step 0.01 over 0.00–1.00 for cosines, -1.00–1.00 for lda) for
// routes without a threshold of their own, then each route's threshold
// over the same grid, then the margin (0–0.10 step 0.01 for cosines,
// 0–0.30 step 0.02 for lda); passes repeat until one gains nothing. A coordinate
// moves only on a strict gain, to the middle of the best-scoring values, so
// plateaus resolve to the safest point. The aggregation with the better
// train macro-F1 wins (ties keep before's). Last, a route with fewer than
// MinSupport train examples has its threshold shrunk toward the global one
// in proportion to its support, since a threshold fitted to two examples
// is noise.
func Fit(t *Table, train, val []int, before Params, opts FitOptions) FitResult {
	if opts.MinSupport <= 0 {
		opts.MinSupport = 5
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 20
	}
	res := FitResult{Before: before, NTrain: len(train), NVal: len(val), PerAggregation: map[string]float64{}}
	t.rank()
	res.TrainBefore = t.Evaluate(train, before)
	res.ValBefore = t.Evaluate(val, before)

	var best Params
	bestF1 := math.Inf(-1)
	for a, agg := range classifier.Aggregations {
		if a > 0 && !t.has(a) {
			continue // no scores under it; max is always tried
		}
		p := t.ascend(train, agg, opts)
		f := t.Evaluate(train, p).MacroF1
		res.PerAggregation[agg] = f
		if f > bestF1+eps || (math.Abs(f-bestF1) <= eps && agg == before.Aggregation) {
			best, bestF1 = p, f
		}
	}

	support := make([]int, len(t.Indexed))
	for _, i := range train {
		if j := slices.Index(t.Indexed, t.Rows[i].Label); j >= 0 {
			support[j]++
		}
	}
	for j, n := range support {
		if n < opts.MinSupport {
			w := float64(n) / float64(opts.MinSupport)
			best.Thresholds[j] = round2(best.Threshold + w*(best.Thresholds[j]-best.Threshold))
		}
	}
	res.After = best
	res.TrainAfter = t.Evaluate(train, best)
	res.ValAfter = t.Evaluate(val, best)
	return res
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// ascend runs coordinate ascent for one aggregation from an all-global
// start.
func (t *Table) ascend(rows []int, agg string, opts FitOptions) Params {
	own := make([]bool, len(t.Indexed))
	g := grid(agg)
	p := Params{Aggregation: agg, Threshold: g[len(g)/2], Thresholds: make([]float64, len(t.Indexed))}
	setGlobal := func(g float64) {
		p.Threshold = g
		for j := range p.Thresholds {
			if !own[j] {
				p.Thresholds[j] = g
			}
		}
	}
	setGlobal(p.Threshold)
	cur := t.Evaluate(rows, p).MacroF1
	// try evaluates set(v) for every v, keeps the best on a strict gain.
	try := func(vals []float64, now float64, set func(float64)) bool {
		scores := make([]float64, len(vals))
		top := math.Inf(-1)
		for i, v := range vals {
			set(v)
			scores[i] = t.Evaluate(rows, p).MacroF1
			top = max(top, scores[i])
		}
		if top <= cur+eps {
			set(now)
			return false
		}
		var at []int
		for i, s := range scores {
			if s >= top-eps {
				at = append(at, i)
			}
		}
		set(vals[at[len(at)/2]])
		cur = t.Evaluate(rows, p).MacroF1
		return true
	}
	for range opts.Rounds {
		gained := try(g, p.Threshold, setGlobal)
		for j := range t.Indexed {
			now, wasOwn := p.Thresholds[j], own[j]
			if try(g, now, func(v float64) { p.Thresholds[j] = v }) {
				own[j] = true
				gained = true
			} else {
				own[j] = wasOwn
			}
		}
		gained = try(marginGrid(agg), p.Margin, func(v float64) { p.Margin = v }) || gained
		if !gained {
			break
		}
	}
	return p
}

// Evaluate scores p on the given rows, deciding each as the router would:
// the top route (ties in config order) is taken when its score reaches its
// threshold and, with a margin set and more than one route, it leads the
// runner-up by at least the margin; otherwise the default route, by
// fallback. Metrics are those of Measure.
func (t *Table) Evaluate(rows []int, p Params) Score {
	t.rank()
	a := aggregationIndex(p.Aggregation)
	k := len(t.Routes) + 1 // every route, then OOS
	oos := len(t.Routes)
	classOf := func(name string) int {
		if name == OOS {
			return oos
		}
		return slices.Index(t.Routes, name)
	}
	def := classOf(t.Default)
	counts := make([]int, k*k)
	var oosTP, oosPred, oosSupport int
	for _, i := range rows {
		r := t.Rows[i]
		exp := classOf(r.Label)
		route, defaulted := def, true
		if a < len(r.Scores) && r.Scores[a] != nil {
			s := r.Scores[a]
			top, second := r.tops[a][0], r.tops[a][1]
			cleared := s[top] >= p.Thresholds[top]
			if cleared && p.Margin > 0 && second >= 0 && s[top]-s[second] < p.Margin {
				cleared = false
			}
			// An indexed name that is no route (ground.NoneRoute) takes
			// the default route, as the router does.
			if c := classOf(t.Indexed[top]); cleared && c >= 0 {
				route, defaulted = c, false
			}
		}
		pred := route
		switch {
		case exp == def && route == def:
		case defaulted:
			pred = oos
		}
		counts[exp*k+pred]++
		if defaulted {
			oosPred++
		}
		if exp == oos {
			oosSupport++
			if defaulted {
				oosTP++
			}
		}
	}
	var sc Score
	var correct, n, classes int
	var sum float64
	for c := range k {
		var npred, support int
		for j := range k {
			npred += counts[j*k+c]
			support += counts[c*k+j]
		}
		correct += counts[c*k+c]
		n += support
		if support == 0 && (c != oos || npred == 0) {
			continue
		}
		sum += prf(counts[c*k+c], npred, support).F1
		classes++
	}
	if classes > 0 {
		sc.MacroF1 = sum / float64(classes)
	}
	if n > 0 {
		sc.Accuracy = float64(correct) / float64(n)
	}
	sc.OOSF1 = prf(oosTP, oosPred, oosSupport).F1
	return sc
}

// rank fills every row's tops, once.
func (t *Table) rank() {
	for i := range t.Rows {
		r := &t.Rows[i]
		if len(r.tops) == len(r.Scores) {
			continue
		}
		r.tops = make([][2]int, len(r.Scores))
		for a, s := range r.Scores {
			r.tops[a] = rank(s)
		}
	}
}

// has reports whether the table holds scores under aggregation a.
func (t *Table) has(a int) bool {
	for _, r := range t.Rows {
		if a < len(r.Scores) && r.Scores[a] != nil {
			return true
		}
	}
	return false
}

// Split divides row indices into train and validation, per label: each
// label's rows are shuffled by a generator seeded with seed and a share
// val of them (rounded, at least one and never all of a label with two or
// more rows) held out, so both parts keep the corpus's label proportions.
// The same labels, val and seed always give the same split.
func Split(labels []string, val float64, seed uint64) (train, valid []int, err error) {
	if val <= 0 || val >= 1 {
		return nil, nil, fmt.Errorf("eval: validation share %v is not in (0, 1)", val)
	}
	by := map[string][]int{}
	for i, l := range labels {
		by[l] = append(by[l], i)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5717c4a2d))
	for _, l := range sortedKeys(by) {
		idx := by[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := int(math.Round(float64(len(idx)) * val))
		if len(idx) >= 2 {
			n = min(max(n, 1), len(idx)-1)
		} else {
			n = 0
		}
		valid = append(valid, idx[:n]...)
		train = append(train, idx[n:]...)
	}
	slices.Sort(train)
	slices.Sort(valid)
	return train, valid, nil
}
