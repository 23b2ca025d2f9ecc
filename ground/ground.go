// Package ground turns routes written as plain-language conditions into an
// index that routes well without user examples. It owns two steps that run
// when a configuration is built (start-up and reload, off the request
// path), both drawing on the built-in task library (package tasks):
//
//   - Grounding. Each facet of a route's condition ("programming", "code
//     examples", "debugging") is compared with the phrases that describe the
//     library's task types; a facet near a type's phrase grounds the route
//     in that type, and the type's library prompts become the route's
//     pseudo-examples: capped, and chosen for diversity by k-medoids. Each
//     type goes to the one route that names it most closely, and a facet
//     counts only when the whole condition leans toward the type too. A
//     condition that names no task type is left as it is.
//   - Calibration. With an auto threshold, each route's threshold is set
//     from library prompts the index was not built from: prompts of the
//     types the route is grounded in are its positives, prompts of types no
//     route is grounded in (general questions among them) and the route's
//     near misses are its negatives; the threshold is the score that
//     separates them best. A route grounded in nothing gets the score that
//     90 % of the unclaimed library stays under. When the route set is about
//     task types (half its routes grounded), the unclaimed types also
//     become NoneRoute, an index entry that stands for "none of the
//     routes".
package ground

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/tasks"
)

// Defaults of Options' zero values.
const (
	DefaultMaxExamples = 100
	// DefaultMinSimilarity is the cosine at or above which a condition's
	// facet names a task type. Measured on conditions written for the
	// llm_tasks validation split and on the CLINC150 domain names, which
	// name no task type.
	DefaultMinSimilarity = 0.5
	// WholeMinSimilarity is how near a task type the whole condition must
	// be for one of its facets to ground the route in it. On CLINC150
	// domains' validation split (domain + 15 intent names), single intent
	// names grounded routes in unrelated types ("gas" ~ chemistry): 0.25
	// and 0.3 lifted accuracy from 0.489 to 0.570 and 0.591, with no change
	// on llm_tasks val.
	WholeMinSimilarity = 0.3
	// DefaultTie is how close to a facet's best type another type must be
	// to be grounded too ("code" names coding and debugging alike).
	DefaultTie = 0.05
	// DefaultCalibrationRows is how many prompts of each type calibrate
	// thresholds.
	DefaultCalibrationRows = 120
	// NegativeWeight is how much all negatives together weigh against all
	// positives when a threshold is calibrated. Unclaimed task types are
	// caught by the index's NoneRoute first, so the threshold's job is
	// mostly to keep positives: chosen on the llm_tasks validation split.
	NegativeWeight = 0.05
	// MixedMaxExamples caps each route's pseudo-examples in a route set
	// where some route with a condition is grounded in nothing and has
	// fewer than LDAMinExamples examples. On CLINC150 domains val (one
	// route grounded, nine not) 30 scored 0.811 against 0.804 for 100 with
	// thresholds, and 0.846 against 0.817 for 300 without; route sets that
	// are all grounded are not affected.
	MixedMaxExamples = 30
	// NoneExamples is how many prompts of each task type no route claims
	// the NoneRoute takes (diverse, as pseudo-examples are chosen). Chosen
	// on the llm_tasks validation split (16, 32, 48, 64 tried).
	NoneExamples = 32
	// LDAMinExamples is the fewest examples (its own and pseudo-examples)
	// every route needs for an automatic lda (Options.AutoLDA). On
	// CLINC150 domains' validation split, routes written as a domain and
	// its 15 intents with no examples scored 0.804 with max against 0.669
	// with lda; on llm_tasks val, grounded routes (12 to 100 examples)
	// score best with lda.
	LDAMinExamples = 10
	// UngroundedQuantile is the share of unclaimed library prompts a
	// route grounded in nothing keeps below its auto threshold.
	UngroundedQuantile = 0.9
)

// NoThreshold is the threshold of a route that always clears: an auto
// threshold when the default route has a condition of its own, so the best
// condition always wins (MAS's behaviour). It is below any score.
const NoThreshold = -1000.0

// NoneRoute is the index's stand-in for the library's task types that no
// route is grounded in: a request nearest to it takes the default route.
const NoneRoute = "(none)"

// Threshold sources, Grounded.ThresholdFrom.
const (
	FromRoute  = "route"  // the route's own threshold
	FromGlobal = "global" // routing.threshold, a number
	FromAuto   = "auto"   // calibrated on the library
	FromNone   = "none"   // auto, but the default route has a condition: no threshold
)

// Route is a route as configured.
type Route struct {
	Name      string
	Condition string
	Examples  []string
	Negatives []string
	// Ground takes pseudo-examples for the condition from the library.
	Ground bool
	// Threshold is the route's own threshold; nil for the global one.
	Threshold *float64
}

// Options configures Build. Zero values are the documented defaults.
type Options struct {
	// Library is the task library. Nil turns grounding off, and an auto
	// threshold then falls back to Threshold.
	Library *tasks.Library
	// Vectors hold the vectors of Texts(Library) for the model Embed
	// runs (tasks.Resolve). Required with Library.
	Vectors *tasks.Vectors
	// Embed embeds conditions, facets, examples and negatives.
	Embed classifier.EmbedFunc
	// Classifier tunes the index.
	Classifier classifier.Options
	// Auto calibrates the threshold of each route without one of its
	// own; otherwise Threshold applies.
	Auto bool
	// Threshold is the global threshold when !Auto (or without a
	// Library).
	Threshold float64
	// NoThreshold, with Auto, gives routes without a threshold of their
	// own no threshold at all (NoThreshold), and leaves NoneRoute out of
	// the index: set when the default route has a condition, so a request
	// always takes the best condition.
	NoThreshold bool
	// MaxExamples caps the pseudo-examples of one route. 0 means
	// DefaultMaxExamples.
	MaxExamples int
	// MinSimilarity is DefaultMinSimilarity when 0.
	MinSimilarity float64
	// AutoLDA says Classifier.Aggregation is lda only because the
	// configuration left it to switchyard: then an index with a route of
	// fewer than LDAMinExamples examples scores with max instead, since a
	// discriminant learnt from a condition's facets alone ranks worse than
	// the nearest utterance (Result.Aggregation says which was used).
	AutoLDA bool
}

// TaskMatch is one task type a route is grounded in.
type TaskMatch struct {
	Type       string  `json:"type"`
	Facet      string  `json:"facet"`      // the part of the condition that named it
	Phrase     string  `json:"phrase"`     // the type's phrase it was nearest
	Similarity float64 `json:"similarity"` // their cosine
}

// Calibration reports how an auto threshold was set.
type Calibration struct {
	Positives int `json:"positives"` // library prompts of the route's types that it scored top on
	Negatives int `json:"negatives"` // unclaimed prompts and near misses it scored top on
	// Accuracy is the weighted share of those decided right at the
	// threshold (types weigh alike).
	Accuracy float64 `json:"accuracy"`
}

// Grounded is what Build made of one route.
type Grounded struct {
	Name string `json:"name"`
	// Tasks are the task types the route is grounded in, nearest first.
	Tasks []TaskMatch `json:"tasks,omitempty"`
	// Examples are its pseudo-examples from the library.
	Examples []string `json:"examples,omitempty"`
	// Threshold is the route's resolved threshold.
	Threshold float64 `json:"threshold"`
	// ThresholdFrom is one of FromRoute, FromGlobal, FromAuto, FromNone.
	ThresholdFrom string       `json:"threshold_from"`
	Calibration   *Calibration `json:"calibration,omitempty"`
}

// TaskNames lists the names of g's task types.
func (g Grounded) TaskNames() []string {
	out := make([]string, len(g.Tasks))
	for i, t := range g.Tasks {
		out[i] = t.Type
	}
	return out
}

// Result is a built index with what grounding did.
type Result struct {
	// Classifier is the index; nil when no route has a condition,
	// example or pseudo-example.
	Classifier *classifier.Classifier
	// Routes has every route, in configuration order.
	Routes []Grounded
	// Aggregation is the aggregation the index scores with.
	Aggregation string
	// Indexed are the routes as indexed (pseudo-examples appended to the
	// examples, thresholds resolved), in configuration order, only those
	// with utterances.
	Indexed []classifier.Route
}

// Texts lists every library text Build may need a vector of: the type
// phrases, and each sampled prompt with its instruction segments. Resolve
// them (tasks.Resolve) into Options.Vectors.
func Texts(lib *tasks.Library) []string {
	var texts []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			texts = append(texts, t)
		}
	}
	types := lib.Types()
	for _, t := range types {
		for _, p := range t.Phrases {
			add(p)
		}
	}
	sample := lib.Sample(0)
	for _, t := range types {
		for _, p := range sample[t.Name] {
			add(p.Text)
			for _, s := range classifier.Segments(p.Text) {
				add(s)
			}
		}
	}
	return texts
}

// Build grounds routes, indexes them and resolves their thresholds.
func Build(ctx context.Context, routes []Route, opts Options) (*Result, error) {
	if opts.Embed == nil {
		return nil, errors.New("ground: embed func is nil")
	}
	if opts.Library != nil && opts.Vectors == nil {
		return nil, errors.New("ground: a library needs its vectors")
	}
	b := &builder{opts: opts, res: &Result{Routes: make([]Grounded, len(routes))}}
	b.opts.MaxExamples = cmp.Or(b.opts.MaxExamples, DefaultMaxExamples)
	b.opts.MinSimilarity = cmp.Or(b.opts.MinSimilarity, DefaultMinSimilarity)
	for i, r := range routes {
		b.res.Routes[i].Name = r.Name
	}
	if opts.Library != nil {
		b.sample = opts.Library.Sample(0)
		b.types = opts.Library.Types()
		b.typeVecs = map[string][][]float32{}
		for _, t := range b.types {
			for _, p := range t.Phrases {
				v, ok := opts.Vectors.Get(p)
				if !ok {
					return nil, fmt.Errorf("ground: no vector for the phrase %q of task type %s", p, t.Name)
				}
				b.typeVecs[t.Name] = append(b.typeVecs[t.Name], v)
			}
		}
		if err := b.ground(ctx, routes); err != nil {
			return nil, err
		}
	}
	if err := b.index(ctx, routes); err != nil {
		return nil, err
	}
	return b.res, nil
}

type builder struct {
	opts     Options
	res      *Result
	types    []tasks.Type
	typeVecs map[string][][]float32 // type → its phrases' vectors
	sample   map[string][]tasks.Prompt
	owner    map[string]int          // type → index of the route grounded in it
	chosen   map[string]map[int]bool // type → sample indices taken as examples
}

// embed embeds texts, taking library texts' vectors from Options.Vectors.
func (b *builder) embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var miss []string
	var at []int
	for i, t := range texts {
		if b.opts.Vectors != nil {
			if v, ok := b.opts.Vectors.Get(t); ok {
				out[i] = v
				continue
			}
		}
		miss = append(miss, t)
		at = append(at, i)
	}
	if len(miss) > 0 {
		vecs, err := b.opts.Embed(ctx, miss)
		if err != nil {
			return nil, err
		}
		if len(vecs) != len(miss) {
			return nil, fmt.Errorf("embed returned %d vectors for %d texts", len(vecs), len(miss))
		}
		for j, v := range vecs {
			out[at[j]] = v
		}
	}
	return out, nil
}

// ground finds each route's task types and takes its pseudo-examples.
func (b *builder) ground(ctx context.Context, routes []Route) error {
	type cand struct {
		route int
		m     TaskMatch
	}
	var phrases []string
	var of []int // route of each phrase
	for i, r := range routes {
		if !r.Ground || strings.TrimSpace(r.Condition) == "" {
			continue
		}
		for _, p := range append([]string{r.Condition}, classifier.Facets(r.Condition)...) {
			phrases = append(phrases, p)
			of = append(of, i)
		}
	}
	if len(phrases) == 0 {
		return nil
	}
	vecs, err := b.opts.Embed(ctx, phrases)
	if err != nil {
		return fmt.Errorf("ground: embed conditions: %w", err)
	}
	if len(vecs) != len(phrases) {
		return fmt.Errorf("ground: embed returned %d vectors for %d conditions", len(vecs), len(phrases))
	}
	// Every phrase's similarity to every type: the best over the type's
	// phrases.
	all := make([][]TaskMatch, len(vecs))
	whole := map[int]int{} // route → index of its whole condition
	for pi, v := range vecs {
		if _, ok := whole[of[pi]]; !ok {
			whole[of[pi]] = pi
		}
		u := unit(v)
		all[pi] = make([]TaskMatch, len(b.types))
		for ti, t := range b.types {
			m := TaskMatch{Type: t.Name, Facet: phrases[pi], Similarity: -2}
			for j, tv := range b.typeVecs[t.Name] {
				if u == nil {
					break
				}
				if s := dot(u, tv); s > m.Similarity {
					m.Similarity, m.Phrase = s, t.Phrases[j]
				}
			}
			all[pi][ti] = m
		}
	}
	// Per type, the route that names it most closely. A facet names a
	// type only if the whole condition leans that way too: in a long list
	// ("utility: gas, text, ...") one word can sit near a task type
	// ("gas" ~ "chemistry") that the condition is not about.
	best := map[string]cand{}
	for pi := range vecs {
		sims := slices.Clone(all[pi])
		slices.SortStableFunc(sims, func(a, b TaskMatch) int { return cmp.Compare(b.Similarity, a.Similarity) })
		top := sims[0].Similarity
		for _, m := range sims {
			if m.Similarity < b.opts.MinSimilarity || m.Similarity < top-DefaultTie {
				break
			}
			if w := whole[of[pi]]; w != pi && all[w][slices.IndexFunc(b.types, func(t tasks.Type) bool { return t.Name == m.Type })].Similarity < WholeMinSimilarity {
				continue
			}
			if have, ok := best[m.Type]; !ok || m.Similarity > have.m.Similarity {
				best[m.Type] = cand{route: of[pi], m: m}
			}
		}
	}
	b.owner = map[string]int{}
	b.chosen = map[string]map[int]bool{}
	for _, t := range b.types { // type order, so the result is deterministic
		c, ok := best[t.Name]
		if !ok {
			continue
		}
		b.owner[t.Name] = c.route
		g := &b.res.Routes[c.route]
		g.Tasks = append(g.Tasks, c.m)
	}
	// A route with a condition, no task type and few examples of its own
	// competes on a handful of utterances: beside it, a grounded route
	// with hundreds would win what is near neither. Such mixed route sets
	// take fewer pseudo-examples.
	limit := b.opts.MaxExamples
	thinRoute, grounded := false, false
	for i, r := range routes {
		switch {
		case len(b.res.Routes[i].Tasks) > 0:
			grounded = true
		case strings.TrimSpace(r.Condition) != "" && len(r.Examples) < LDAMinExamples:
			thinRoute = true
		}
	}
	if thinRoute && grounded {
		limit = min(limit, MixedMaxExamples)
	}
	for i := range b.res.Routes {
		g := &b.res.Routes[i]
		slices.SortStableFunc(g.Tasks, func(a, b TaskMatch) int { return cmp.Compare(b.Similarity, a.Similarity) })
		if len(g.Tasks) == 0 {
			continue
		}
		per := max(4, limit/len(g.Tasks))
		have := map[string]bool{}
		for _, ex := range routes[i].Examples {
			have[strings.ToLower(strings.TrimSpace(ex))] = true
		}
		for _, tm := range g.Tasks {
			if len(g.Examples) >= limit {
				break
			}
			exs, idx := b.examples(tm.Type, min(per, limit-len(g.Examples)), have)
			g.Examples = append(g.Examples, exs...)
			b.chosen[tm.Type] = idx
		}
	}
	return nil
}

// examples picks up to n diverse pseudo-examples of a type: for each
// sampled prompt the text that states its task best (the whole prompt if it
// is short, else the instruction segment nearest the type's phrases), then
// k-medoids over them. It returns the texts and the sample indices used.
func (b *builder) examples(typ string, n int, have map[string]bool) ([]string, map[int]bool) {
	var texts []string
	var vecs [][]float32
	var from []int
	for i, p := range b.sample[typ] {
		cands := classifier.Segments(p.Text)
		if len(p.Text) <= 300 {
			cands = append([]string{p.Text}, cands...)
		}
		bestText, bestSim := "", float32(-2)
		var bestVec []float32
		for _, c := range cands {
			v, ok := b.opts.Vectors.Get(c)
			if !ok {
				continue
			}
			s := float32(-2)
			for _, tv := range b.typeVecs[typ] {
				s = max(s, float32(dot(v, tv)))
			}
			if s > bestSim {
				bestText, bestSim, bestVec = c, s, v
			}
		}
		if bestText == "" || have[strings.ToLower(strings.TrimSpace(bestText))] {
			continue
		}
		have[strings.ToLower(strings.TrimSpace(bestText))] = true
		texts, vecs, from = append(texts, bestText), append(vecs, bestVec), append(from, i)
	}
	picked := diverse(vecs, n)
	out := make([]string, len(picked))
	used := make(map[int]bool, len(picked))
	for i, j := range picked {
		out[i] = texts[j]
		used[from[j]] = true
	}
	return out, used
}

// maxMedoids bounds the k of k-medoids: its seeding costs O(n·k²·dim), and
// past a few dozen clusters more medoids add little diversity.
const maxMedoids = 24

// diverse picks n of vecs (indices, ascending) that cover their variety:
// the k-medoids (k ≤ maxMedoids), then, when more are wanted, members of
// every medoid's cluster in turn, largest cluster first, each cluster's in
// a seeded random order, so the picks follow the pool's spread.
func diverse(vecs [][]float32, n int) []int {
	if n >= len(vecs) {
		all := make([]int, len(vecs))
		for i := range all {
			all[i] = i
		}
		return all
	}
	medoids := classifier.Medoids(vecs, min(n, maxMedoids), 1)
	if len(medoids) >= n {
		return medoids
	}
	clusters := make([][]int, len(medoids))
	isMedoid := map[int]bool{}
	for _, m := range medoids {
		isMedoid[m] = true
	}
	for i, v := range vecs {
		if isMedoid[i] {
			continue
		}
		best, bestSim := 0, -2.0
		for c, m := range medoids {
			if s := dot(v, vecs[m]); s > bestSim {
				best, bestSim = c, s
			}
		}
		clusters[best] = append(clusters[best], i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, len(clusters))
	for c := range clusters {
		order[c] = c
		rng.Shuffle(len(clusters[c]), func(i, j int) { clusters[c][i], clusters[c][j] = clusters[c][j], clusters[c][i] })
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(clusters[b]), len(clusters[a])) })
	out := slices.Clone(medoids)
	for round := 0; len(out) < n; round++ {
		added := false
		for _, c := range order {
			if round < len(clusters[c]) && len(out) < n {
				out = append(out, clusters[c][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	slices.Sort(out)
	return out
}
