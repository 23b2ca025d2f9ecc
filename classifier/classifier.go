// Package classifier picks the route whose utterances are nearest in meaning
// to a request. It owns the chromem-go collection of route utterances (each
// route's condition, the condition's facets and the examples, embedded once
// at start-up or reload) and is the only package that imports chromem-go.
//
// # Utterances
//
// A route's utterances are its condition, then the condition's facets, then
// its examples. A condition written as a list ("programming, code examples,
// debugging") names several topics, and one vector for the whole list sits
// between them all; so each comma-, semicolon- or line-separated part of a
// condition with two or more parts is embedded on its own as well (a
// leading "and" or "or" dropped). Options.WholeConditions turns that off.
//
// # Scores
//
// Every utterance is embedded; the similarity between the request and an
// utterance is the cosine of their vectors, in [-1, 1]. A route's score
// depends on Options.Aggregation:
//
//   - "max" (the default): the cosine of the route's single nearest
//     utterance.
//   - "mean": the arithmetic mean of the cosines of the route's k nearest
//     utterances, k = min(Options.TopK, the route's utterance count), so a
//     route must match on several utterances to score high, and one stray
//     example weighs less.
//   - "lda": linear discriminant analysis. Each route is a Gaussian around
//     the mean of its utterance vectors, all routes sharing one covariance:
//     the spread of utterances around their route's mean, shrunk toward a
//     multiple of the identity by Options.Shrinkage so that it is well
//     conditioned with few utterances. The score is the route's linear
//     discriminant, rescaled so that 1 is the median score the routes'
//     own utterances get from their route, and 0 the median score they get
//     from the best other route. It is not a cosine: text far from every
//     route scores below 0, and thresholds that suit "max" do not suit it
//     (switchyard fit searches [-1, 1] for it). With many examples per
//     route it ranks better than the cosine rules, because it learns which
//     directions of the embedding separate the routes and which only vary
//     within one. With one utterance per route it ranks as the cosine with
//     the route's mean does.
//
// Ties among utterances are broken by their order in the route.
//
// # Index
//
// Scores come from one pass over a contiguous matrix of the utterance
// vectors (a matrix-vector product), so a request costs one dot product per
// utterance and no allocation per utterance. The chromem-go collection holds
// the same utterances with their routes and answers Nearest, the
// nearest-utterance listing that explanations show. Its exhaustive query
// copies every document it returns, which cost 11–33 ms per request at
// 15,000 utterances, against about 1 ms for the matrix pass
// (BenchmarkClassify).
//
// Routes are ranked by score, ties broken by their order in the
// configuration, so a classification is deterministic.
package classifier

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	chromem "github.com/philippgille/chromem-go"

	"github.com/switchyard-router/switchyard/tracing"
)

// ErrNoRoutes is returned by Classify and ClassifyVector when no route has an
// utterance to match against; callers fall back to their default route.
var ErrNoRoutes = errors.New("classifier: no routes to classify against")

// errEmbedRefused is what the collection's own embedding function returns.
// chromem-go replaces a nil embedding function with an OpenAI client, so the
// collection gets this one instead: text never leaves the process through it.
var errEmbedRefused = errors.New("classifier: chromem-go asked to embed text; vectors must be supplied")

// metaRoute is the document metadata key holding the route name.
const metaRoute = "route"

// DefaultTopK is the number of nearest utterances per route that Options.TopK
// = 0 stands for.
const DefaultTopK = 5

// Aggregations, the values of Options.Aggregation.
const (
	AggregateMax  = "max"
	AggregateMean = "mean"
	AggregateLDA  = "lda"
)

// Aggregations lists every aggregation, the default first.
var Aggregations = []string{AggregateMax, AggregateMean, AggregateLDA}

// DefaultShrinkage is the Options.Shrinkage that 0 stands for.
const DefaultShrinkage = 0.2

// EmbedFunc turns texts into vectors, one per text and in order, all of one
// dimension. Vectors should be unit length; others are normalised, so scores
// are cosines either way. (*embed.Local).Embed fits it.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Route is one routing target as the classifier sees it.
type Route struct {
	Name      string   // unique, non-empty
	Condition string   // natural-language description; blank for none
	Examples  []string // example utterances; none may be blank
	// Threshold is the score at or above which the route counts as matched
	// (Match.Cleared). The caller resolves it: the route's own or the global
	// one.
	Threshold float64
	// Negatives are near misses: a request whose nearest negative is
	// closer (by cosine) than the route's nearest own utterance does not
	// clear the route (Score.NearMiss). None may be blank.
	Negatives []string
}

// Options tunes scoring. The zero value means "max", top-5 for "mean",
// shrinkage 0.2 for "lda", and conditions split into facets.
type Options struct {
	// TopK is how many of a route's nearest utterances "mean" averages
	// (fewer if the route has fewer). 0 means DefaultTopK.
	TopK int
	// Aggregation is one of Aggregations; "" means AggregateMax. The
	// package documentation gives the formulas.
	Aggregation string
	// Shrinkage is the weight, in (0, 1], of the identity in "lda"'s
	// covariance. 0 means DefaultShrinkage.
	Shrinkage float64
	// WholeConditions indexes each condition only whole, without its
	// facets.
	WholeConditions bool
	// Segments scores a request's instruction segments (see Segments)
	// alongside its whole text, embedded in the same call; each route's
	// score is its best over them.
	Segments bool
}

// Score is one route's result for one request.
type Score struct {
	Route     string
	Score     float64 // see the package documentation
	Threshold float64 // the route's, as given to New
	Nearest   string  // the route's utterance closest to the request
	// Segment is the instruction segment of the request that gave the
	// route its score; "" for the whole text.
	Segment string
	// NearMiss is the route's negative that is closer to the request than
	// any of its own utterances, which keeps the route from clearing; ""
	// for none.
	NearMiss string
}

// Match is the outcome of a classification.
type Match struct {
	Route   string  // the top-scoring route
	Score   float64 // its score
	Cleared bool    // Score ≥ the route's threshold
	// Margin is the top score minus the runner-up's, or the top score when
	// only one route is indexed: how decisive the choice was.
	Margin float64
	// Scores has every indexed route, by score descending, ties in
	// configuration order. Scores[0] is the top route.
	Scores []Score
	// Segments are the instruction segments scored besides the whole
	// text (Options.Segments); empty when there were none.
	Segments []string
}

// Classifier matches text against routes. It is immutable after New and safe
// for concurrent use.
type Classifier struct {
	embed  EmbedFunc
	coll   *chromem.Collection // nil when no route has an utterance
	routes []indexed           // routes with utterances, in configuration order
	docs   []utterance         // indexed by document ID
	dim    int
	topK   int
	agg    string
	// mat holds the unit-length utterance vectors, row i = docs[i]; a
	// route's rows are contiguous, from routes[r].first.
	mat []float32
	lda *discriminant // nil unless agg is "lda"
	// neg holds the unit-length negative vectors, row i = negs[i].
	neg      []float32
	negs     []utterance
	segments bool
}

type indexed struct {
	name      string
	threshold float64
	first, n  int // its utterances: docs[first : first+n]
}

type utterance struct {
	route int // index into Classifier.routes
	text  string
}

// New embeds every route's condition and examples in one call to embed and
// indexes them. A route with neither is allowed but not indexed: it can only
// be chosen by name or as a default, so it never appears in a Match. New runs
// at start-up and on reload, off the request path.
func New(ctx context.Context, routes []Route, embed EmbedFunc, opts Options) (*Classifier, error) {
	if embed == nil {
		return nil, errors.New("classifier: embed func is nil")
	}
	c := &Classifier{embed: embed, topK: opts.TopK, agg: cmp.Or(opts.Aggregation, AggregateMax), segments: opts.Segments}
	switch {
	case c.topK == 0:
		c.topK = DefaultTopK
	case c.topK < 0:
		return nil, fmt.Errorf("classifier: top_k %d is negative", opts.TopK)
	}
	if !slices.Contains(Aggregations, c.agg) {
		return nil, fmt.Errorf("classifier: unknown aggregation %q (want one of %s)", opts.Aggregation, strings.Join(Aggregations, ", "))
	}
	shrinkage := cmp.Or(opts.Shrinkage, DefaultShrinkage)
	if !(shrinkage > 0 && shrinkage <= 1) {
		return nil, fmt.Errorf("classifier: shrinkage %v is not in (0, 1]", opts.Shrinkage)
	}

	seen := make(map[string]bool, len(routes))
	var texts []string
	for i, r := range routes {
		if r.Name == "" {
			return nil, fmt.Errorf("classifier: route %d has an empty name", i)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("classifier: duplicate route name %q", r.Name)
		}
		seen[r.Name] = true
		if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
			return nil, fmt.Errorf("classifier: route %q: threshold %v is not a finite number", r.Name, r.Threshold)
		}
		for j, ex := range r.Examples {
			if strings.TrimSpace(ex) == "" {
				return nil, fmt.Errorf("classifier: route %q: example %d is blank", r.Name, j)
			}
		}
		for j, ex := range r.Negatives {
			if strings.TrimSpace(ex) == "" {
				return nil, fmt.Errorf("classifier: route %q: negative %d is blank", r.Name, j)
			}
		}
		var utts []string
		if strings.TrimSpace(r.Condition) != "" {
			utts = append(utts, r.Condition)
			if !opts.WholeConditions {
				utts = append(utts, Facets(r.Condition)...)
			}
		}
		utts = append(utts, r.Examples...)
		if len(utts) == 0 {
			continue
		}
		c.routes = append(c.routes, indexed{name: r.Name, threshold: r.Threshold, first: len(c.docs), n: len(utts)})
		for _, u := range utts {
			c.docs = append(c.docs, utterance{route: len(c.routes) - 1, text: u})
			texts = append(texts, u)
		}
		for _, u := range r.Negatives {
			c.negs = append(c.negs, utterance{route: len(c.routes) - 1, text: u})
		}
	}
	for _, u := range c.negs {
		texts = append(texts, u.text)
	}
	if len(texts) == 0 {
		return c, nil
	}

	vecs, err := embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("classifier: embed %d utterances: %w", len(texts), err)
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("classifier: embed returned %d vectors for %d utterances", len(vecs), len(texts))
	}
	c.dim = len(vecs[0])
	negVecs := vecs[len(c.docs):]
	vecs, texts = vecs[:len(c.docs)], texts[:len(c.docs)]
	c.neg = make([]float32, 0, len(negVecs)*c.dim)
	for i, v := range negVecs {
		if err := c.check(v); err != nil {
			return nil, fmt.Errorf("classifier: negative %q of route %q: %w", c.negs[i].text, c.routes[c.negs[i].route].name, err)
		}
		c.neg = appendUnit(c.neg, v)
	}
	docs := make([]chromem.Document, len(texts))
	c.mat = make([]float32, 0, len(texts)*c.dim)
	for i, v := range vecs {
		if err := c.check(v); err != nil {
			return nil, fmt.Errorf("classifier: utterance %q of route %q: %w", texts[i], c.routes[c.docs[i].route].name, err)
		}
		c.mat = appendUnit(c.mat, v)
		docs[i] = chromem.Document{
			ID:        strconv.Itoa(i),
			Metadata:  map[string]string{metaRoute: c.routes[c.docs[i].route].name},
			Embedding: slices.Clone(v), // embed may reuse its buffers
			Content:   texts[i],
		}
	}

	coll, err := chromem.NewDB().CreateCollection("routes", nil, refuseEmbedding)
	if err != nil {
		return nil, fmt.Errorf("classifier: create collection: %w", err)
	}
	if err := coll.AddDocuments(ctx, docs, runtime.GOMAXPROCS(0)); err != nil {
		return nil, fmt.Errorf("classifier: index utterances: %w", err)
	}
	// AddDocuments stops quietly when ctx is done, leaving a partial index.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("classifier: index utterances: %w", err)
	}
	if n := coll.Count(); n != len(docs) {
		return nil, fmt.Errorf("classifier: indexed %d of %d utterances", n, len(docs))
	}
	c.coll = coll
	if c.agg == AggregateLDA {
		if c.lda, err = newDiscriminant(c.mat, c.dim, c.routes, shrinkage); err != nil {
			return nil, fmt.Errorf("classifier: lda: %w", err)
		}
	}
	return c, nil
}

func refuseEmbedding(context.Context, string) ([]float32, error) { return nil, errEmbedRefused }

// check rejects vectors that would make chromem-go's scores meaningless: it
// normalises by dividing by the norm, so a zero vector becomes NaNs, and it
// reports no error for them.
func (c *Classifier) check(v []float32) error {
	if len(v) == 0 {
		return errors.New("empty vector")
	}
	if len(v) != c.dim {
		return fmt.Errorf("vector has dimension %d, want %d", len(v), c.dim)
	}
	var sum float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return errors.New("vector has a non-finite component")
		}
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return errors.New("zero vector")
	}
	return nil
}

// Routes returns the names of the indexed routes, in configuration order.
func (c *Classifier) Routes() []string {
	names := make([]string, len(c.routes))
	for i, r := range c.routes {
		names[i] = r.name
	}
	return names
}

// Utterances reports how many utterances are indexed across all routes.
func (c *Classifier) Utterances() int { return len(c.docs) }

// Classify embeds text and scores it against every indexed route. With
// Options.Segments, the text's instruction segments are embedded in the
// same call and scored too (see ClassifyVectors).
func (c *Classifier) Classify(ctx context.Context, text string) (Match, error) {
	if len(c.routes) == 0 {
		return Match{}, ErrNoRoutes
	}
	texts := []string{text}
	if c.segments {
		texts = append(texts, Segments(text)...)
	}
	vecs, err := c.embedTraced(ctx, texts)
	if err != nil {
		return Match{}, fmt.Errorf("classifier: embed request: %w", err)
	}
	if len(vecs) != len(texts) {
		return Match{}, fmt.Errorf("classifier: embed returned %d vectors for %d texts", len(vecs), len(texts))
	}
	return c.ClassifyVectors(ctx, vecs, texts[1:])
}

// ClassifyVector scores an already embedded request against every indexed
// route, for callers with their own embedding cache. v must come from the
// same model as the EmbedFunc given to New.
func (c *Classifier) ClassifyVector(ctx context.Context, v []float32) (Match, error) {
	return c.ClassifyVectors(ctx, [][]float32{v}, nil)
}

// ClassifyVectors scores a request given as the vector of its whole text,
// vecs[0], and of its instruction segments, vecs[1:] (segments[i] is the
// text of vecs[i+1]): each route's score is its best over them, and
// Score.Segment says which one gave it.
func (c *Classifier) ClassifyVectors(ctx context.Context, vecs [][]float32, segments []string) (Match, error) {
	if len(c.routes) == 0 {
		return Match{}, ErrNoRoutes
	}
	if len(vecs) == 0 || len(vecs) != len(segments)+1 {
		return Match{}, fmt.Errorf("classifier: %d vectors for %d segments and the whole text", len(vecs), len(segments))
	}
	for _, v := range vecs {
		if err := c.check(v); err != nil {
			return Match{}, fmt.Errorf("classifier: request: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return Match{}, fmt.Errorf("classifier: %w", err)
	}
	var (
		scores  []Score
		nearest []float32 // per route, the cosine of its nearest own utterance
		sims    = make([]float32, len(c.docs))
		q       = make([]float32, 0, c.dim)
	)
	for vi, v := range vecs {
		q = appendUnit(q[:0], v)
		s, near := c.score(q, sims)
		if vi == 0 {
			scores, nearest = s, near
			continue
		}
		for ri := range s {
			nearest[ri] = max(nearest[ri], near[ri])
			if s[ri].Score > scores[ri].Score {
				scores[ri] = s[ri]
				scores[ri].Segment = segments[vi-1]
			}
		}
	}
	if len(c.negs) > 0 {
		c.nearMisses(vecs, scores, nearest)
	}
	// Stable, so equal scores keep configuration order.
	slices.SortStableFunc(scores, func(a, b Score) int { return cmp.Compare(b.Score, a.Score) })

	m := Match{
		Route:    scores[0].Route,
		Score:    scores[0].Score,
		Cleared:  scores[0].Score >= scores[0].Threshold && scores[0].NearMiss == "",
		Margin:   scores[0].Score,
		Scores:   scores,
		Segments: segments,
	}
	if len(scores) > 1 {
		m.Margin = scores[0].Score - scores[1].Score
	}
	return m, nil
}

// score scores the unit vector q against every route, in configuration
// order, with the cosine of each route's nearest utterance; sims is
// scratch space of len(c.docs).
func (c *Classifier) score(q []float32, sims []float32) ([]Score, []float32) {
	dots(c.mat, c.dim, q, sims)
	var lda []float64
	if c.lda != nil {
		lda = c.lda.scores(q)
	}
	scores := make([]Score, len(c.routes))
	nearest := make([]float32, len(c.routes))
	// Only "mean" needs a route's k nearest; the others need its nearest.
	k := 1
	if c.agg == AggregateMean {
		k = c.topK
	}
	top := make([]hit, k)
	for ri, r := range c.routes {
		n := 0
		for i := r.first; i < r.first+r.n; i++ {
			insert(top, &n, hit{sim: sims[i], doc: i})
		}
		var s float64
		switch c.agg {
		case AggregateMean:
			for _, h := range top[:n] {
				s += float64(h.sim)
			}
			s /= float64(n)
		case AggregateLDA:
			s = lda[ri]
		default:
			s = float64(top[0].sim)
		}
		nearest[ri] = top[0].sim
		scores[ri] = Score{Route: r.name, Score: s, Threshold: r.threshold, Nearest: c.docs[top[0].doc].text}
	}
	return scores, nearest
}

// nearMisses marks, in scores (configuration order), each route whose
// nearest negative is closer to the request (any of vecs) than its nearest
// own utterance.
func (c *Classifier) nearMisses(vecs [][]float32, scores []Score, nearest []float32) {
	n := len(c.negs)
	sims := make([]float32, n)
	best := make([]float32, n)
	for i := range best {
		best[i] = -2
	}
	q := make([]float32, 0, c.dim)
	for _, v := range vecs {
		q = appendUnit(q[:0], v)
		dots(c.neg, c.dim, q, sims)
		for i, s := range sims {
			best[i] = max(best[i], s)
		}
	}
	closest := make([]float32, len(c.routes))
	for i := range closest {
		closest[i] = -2
	}
	for i, u := range c.negs {
		if best[i] > nearest[u.route] && best[i] > closest[u.route] {
			closest[u.route] = best[i]
			scores[u.route].NearMiss = u.text
		}
	}
}

// Neighbour is one utterance near a request.
type Neighbour struct {
	Route      string  `json:"route"`
	Utterance  string  `json:"utterance"`
	Similarity float64 `json:"similarity"` // cosine
}

// Nearest lists the n utterances nearest to v across all routes, nearest
// first, from the chromem-go collection. It is for explanations: routing
// itself does not need it.
func (c *Classifier) Nearest(ctx context.Context, v []float32, n int) ([]Neighbour, error) {
	if c.coll == nil || n <= 0 {
		return nil, nil
	}
	if err := c.check(v); err != nil {
		return nil, fmt.Errorf("classifier: request: %w", err)
	}
	res, err := c.coll.QueryEmbedding(ctx, slices.Clone(v), min(n, len(c.docs)), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("classifier: query: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	out := make([]Neighbour, len(res))
	for i, r := range res {
		out[i] = Neighbour{Route: r.Metadata[metaRoute], Utterance: r.Content, Similarity: float64(r.Similarity)}
	}
	// Equal similarities come back in random order; sort them by text so
	// an explanation reads the same twice.
	slices.SortStableFunc(out, func(a, b Neighbour) int {
		return cmp.Or(cmp.Compare(b.Similarity, a.Similarity), cmp.Compare(a.Route, b.Route), cmp.Compare(a.Utterance, b.Utterance))
	})
	return out, nil
}

type hit struct {
	sim float32
	doc int
}

// before orders hits by similarity, then by utterance order.
func (h hit) before(o hit) bool {
	return h.sim > o.sim || h.sim == o.sim && h.doc < o.doc
}

// insert adds h to top (holding *n sorted hits, capacity len(top)) if it
// ranks among the best len(top).
func insert(top []hit, n *int, h hit) {
	i := *n
	if i == len(top) {
		if !h.before(top[i-1]) {
			return
		}
		i--
	} else {
		*n++
	}
	for ; i > 0 && h.before(top[i-1]); i-- {
		top[i] = top[i-1]
	}
	top[i] = h
}

// WithThresholds returns a Classifier that shares c's index but has the
// given thresholds, by route name; routes not in th keep theirs. It is how a
// threshold calibrated against c itself takes effect without embedding
// every utterance again.
func (c *Classifier) WithThresholds(th map[string]float64) (*Classifier, error) {
	d := *c
	d.routes = slices.Clone(c.routes)
	for i, r := range d.routes {
		v, ok := th[r.name]
		if !ok {
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("classifier: route %q: threshold %v is not a finite number", r.name, v)
		}
		d.routes[i].threshold = v
	}
	return &d, nil
}

// Segmenting reports whether Classify scores instruction segments
// (Options.Segments).
func (c *Classifier) Segmenting() bool { return c.segments }

// embedTraced embeds texts under an "embed" span.
func (c *Classifier) embedTraced(ctx context.Context, texts []string) ([][]float32, error) {
	ctx, span := tracing.Start(ctx, "embed")
	if span.IsRecording() {
		span.SetAttributes(tracing.Texts.Int(len(texts)))
	}
	vecs, err := c.embed(ctx, texts)
	tracing.End(span, err)
	return vecs, err
}
