// Package classifier picks the route whose utterances are nearest in meaning
// to a request. It owns the chromem-go collection of route utterances (each
// route's condition and examples, embedded once at start-up or reload) and is
// the only package that imports chromem-go.
//
// # Scores
//
// Every utterance is embedded; the similarity between the request and an
// utterance is the cosine of their vectors, in [-1, 1]. A route's score is
// computed from its k nearest utterances, where k = min(Options.TopK, the
// route's utterance count), ties among utterances broken by their order in
// the route (condition first, then examples):
//
//   - "max" (the default): the cosine of the route's single nearest
//     utterance. TopK does not change it.
//   - "mean": the arithmetic mean of those k cosines, so a route must match
//     on several utterances to score high, and one stray example weighs less.
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
)

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
}

// Options tunes scoring. The zero value means top-5 and "max".
type Options struct {
	// TopK is how many of a route's nearest utterances its score is computed
	// from (fewer if the route has fewer). 0 means DefaultTopK.
	TopK int
	// Aggregation is AggregateMax or AggregateMean; "" means AggregateMax.
	// The package documentation gives the formulas.
	Aggregation string
}

// Score is one route's result for one request.
type Score struct {
	Route     string
	Score     float64 // see the package documentation
	Threshold float64 // the route's, as given to New
	Nearest   string  // the route's utterance closest to the request
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
	mean   bool
}

type indexed struct {
	name      string
	threshold float64
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
	c := &Classifier{embed: embed, topK: opts.TopK}
	switch {
	case c.topK == 0:
		c.topK = DefaultTopK
	case c.topK < 0:
		return nil, fmt.Errorf("classifier: top_k %d is negative", opts.TopK)
	}
	switch opts.Aggregation {
	case "", AggregateMax:
	case AggregateMean:
		c.mean = true
	default:
		return nil, fmt.Errorf("classifier: unknown aggregation %q (want %q or %q)", opts.Aggregation, AggregateMax, AggregateMean)
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
		utts := r.Examples
		if strings.TrimSpace(r.Condition) != "" {
			utts = append([]string{r.Condition}, r.Examples...)
		}
		if len(utts) == 0 {
			continue
		}
		for _, u := range utts {
			c.docs = append(c.docs, utterance{route: len(c.routes), text: u})
			texts = append(texts, u)
		}
		c.routes = append(c.routes, indexed{name: r.Name, threshold: r.Threshold})
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
	docs := make([]chromem.Document, len(texts))
	for i, v := range vecs {
		if err := c.check(v); err != nil {
			return nil, fmt.Errorf("classifier: utterance %q of route %q: %w", texts[i], c.routes[c.docs[i].route].name, err)
		}
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

// Classify embeds text and scores it against every indexed route.
func (c *Classifier) Classify(ctx context.Context, text string) (Match, error) {
	if len(c.routes) == 0 {
		return Match{}, ErrNoRoutes
	}
	vecs, err := c.embed(ctx, []string{text})
	if err != nil {
		return Match{}, fmt.Errorf("classifier: embed request: %w", err)
	}
	if len(vecs) != 1 {
		return Match{}, fmt.Errorf("classifier: embed returned %d vectors for 1 request", len(vecs))
	}
	return c.ClassifyVector(ctx, vecs[0])
}

// ClassifyVector scores an already embedded request against every indexed
// route, for callers with their own embedding cache. v must come from the
// same model as the EmbedFunc given to New.
func (c *Classifier) ClassifyVector(ctx context.Context, v []float32) (Match, error) {
	if len(c.routes) == 0 {
		return Match{}, ErrNoRoutes
	}
	if err := c.check(v); err != nil {
		return Match{}, fmt.Errorf("classifier: request: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Match{}, fmt.Errorf("classifier: %w", err)
	}
	// One exhaustive query over every utterance, grouped here by route,
	// rather than a filtered query per route: chromem-go filters by scanning
	// all documents on every query, so per-route queries cost routes × docs
	// (BenchmarkStrategy measures both).
	res, err := c.coll.QueryEmbedding(ctx, v, len(c.docs), nil, nil)
	if err != nil {
		return Match{}, fmt.Errorf("classifier: query: %w", err)
	}
	// chromem-go stops scoring when ctx is done but reports no error, so a
	// partial ranking has to be caught here.
	if err := ctx.Err(); err != nil {
		return Match{}, fmt.Errorf("classifier: %w", err)
	}
	if len(res) != len(c.docs) {
		return Match{}, fmt.Errorf("classifier: query returned %d of %d utterances", len(res), len(c.docs))
	}

	// Keep each route's k nearest utterances, ordered by cosine and then by
	// utterance order: chromem-go returns equal similarities in random order.
	k := c.topK
	flat := make([]hit, len(c.routes)*k)
	n := make([]int, len(c.routes))
	for _, r := range res {
		id, err := strconv.Atoi(r.ID)
		if err != nil || id < 0 || id >= len(c.docs) {
			return Match{}, fmt.Errorf("classifier: query returned unknown document %q", r.ID)
		}
		ri := c.docs[id].route
		insert(flat[ri*k:ri*k+k], &n[ri], hit{sim: r.Similarity, doc: id})
	}

	scores := make([]Score, len(c.routes))
	for ri, r := range c.routes {
		top := flat[ri*k : ri*k+n[ri]]
		s := float64(top[0].sim)
		if c.mean {
			var sum float64
			for _, h := range top {
				sum += float64(h.sim)
			}
			s = sum / float64(len(top))
		}
		scores[ri] = Score{Route: r.name, Score: s, Threshold: r.threshold, Nearest: c.docs[top[0].doc].text}
	}
	// Stable, so equal scores keep configuration order.
	slices.SortStableFunc(scores, func(a, b Score) int { return cmp.Compare(b.Score, a.Score) })

	m := Match{
		Route:   scores[0].Route,
		Score:   scores[0].Score,
		Cleared: scores[0].Score >= scores[0].Threshold,
		Margin:  scores[0].Score,
		Scores:  scores,
	}
	if len(scores) > 1 {
		m.Margin = scores[0].Score - scores[1].Score
	}
	return m, nil
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
