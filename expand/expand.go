// Package expand writes example requests for a route with an LLM. Given a
// route's condition, it asks a chat model for varied requests that users
// would send and that belong to the route, and for near misses that must
// not; reads the answer defensively (a weak model's JSON, lists and
// prose); drops what is not a usable request, repeats, near duplicates and
// what the route already has; and thins each list to the size asked for
// by k-medoids over the embeddings, so that what is kept covers the
// route's variety rather than its most common phrasing.
//
// It owns the prompt, the parsing of the reply and the filters. It does
// not read or write configs: the caller passes the route in and writes
// the result out.
package expand

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
)

// Options tunes Expand. Zero values are the documented defaults.
type Options struct {
	// N is how many requests to keep. 0 means 30.
	N int
	// NearMisses is how many near misses to keep. 0 means N/3; negative
	// asks for none.
	NearMisses int
	// Seed drives the k-medoids thinning, so the same replies keep the
	// same items (the model's sampling is its own).
	Seed uint64
	// MaxChars bounds an item's length, in characters; longer items are
	// dropped (they are mostly answers, not requests). 0 means 300.
	MaxChars int
	// Calls bounds the model calls for one route: another is made, asking
	// for what is missing, while fewer items than wanted survive. 0 means
	// 3.
	Calls int
	// MaxTokens is the answer budget of one call (max_tokens). 0 means 40
	// tokens per item asked for plus 256, at most 4096.
	MaxTokens int
	// Timeout bounds one call. 0 means 10 minutes: a small model on a
	// CPU writes a few tokens a second, and a call asks for thousands.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.N <= 0 {
		o.N = 30
	}
	switch {
	case o.NearMisses == 0:
		o.NearMisses = o.N / 3
	case o.NearMisses < 0:
		o.NearMisses = 0
	}
	if o.MaxChars <= 0 {
		o.MaxChars = 300
	}
	if o.Calls <= 0 {
		o.Calls = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	return o
}

// Route is the route to write requests for.
type Route struct {
	Name string
	// Condition says in plain language what the route is for. Required.
	Condition string
	// Examples are the route's utterances so far: shown to the model as a
	// sample, and never written again (nor anything near them).
	Examples []string
	// Negatives are the route's near misses so far, never written again.
	Negatives []string
	// Others are the other routes' conditions, which steer the near
	// misses toward what the router must tell apart.
	Others []string
}

// EmbedFunc turns texts into vectors, one per text, in order.
// (embed.Embedder's Embed fits it.)
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Result is what Expand kept.
type Result struct {
	// Requests are the requests kept, at most Options.N.
	Requests []string
	// NearMisses are the near misses kept, at most Options.NearMisses.
	NearMisses []string
	// Dropped counts the items of the replies that were not kept, by
	// reason: "empty" (nothing left once cleaned, or cut off), "too
	// short" (under 3 words), "too long" (over MaxChars), "not a request"
	// (an answer, an explanation, a preamble), "the condition" (the
	// condition or one of its parts, repeated), "duplicate" (the same
	// text up to case, spacing and final punctuation), "already in the
	// config" (the same text as one of the route's utterances, or a
	// cosine of 0.95 or more with one), "near duplicate" (a cosine of
	// 0.95 or more with an item kept before), "too close" (a near miss
	// nearer to the condition than the median request is) and "thinned"
	// (left out by k-medoids). Reasons with no item are absent.
	Dropped map[string]int
	// Calls is how many model calls were made.
	Calls int
}

// Drop reasons, the keys of Result.Dropped.
const (
	dropEmpty         = "empty"
	dropShort         = "too short"
	dropLong          = "too long"
	dropNotRequest    = "not a request"
	dropCondition     = "the condition"
	dropDuplicate     = "duplicate"
	dropExisting      = "already in the config"
	dropNearDuplicate = "near duplicate"
	dropTooClose      = "too close"
	dropThinned       = "thinned"
	dropOtherRoute    = "nearer another route's condition"
)

// nearDuplicate is the cosine at or above which two items say the same.
const nearDuplicate = 0.95

// embedBatch bounds the texts of one embedding call.
const embedBatch = 256

// item is a kept text and its vector.
type item struct {
	text string
	vec  []float32
}

// Expand asks model, through p, for requests that belong to r and near
// misses that do not, and returns the ones that survive its filters,
// thinned to opts.N and opts.NearMisses. It makes up to opts.Calls calls,
// each asking for twice what is still missing (at least 4 of a list that
// is short), so that the filters and the thinning have a choice; later
// calls are shown what was kept, not to repeat it. Fewer items than asked for
// is not an error: Result says what was kept and why the rest was not.
// An upstream or embedding failure is.
func Expand(ctx context.Context, p providers.Provider, model string, r Route, embed EmbedFunc, opts Options) (Result, error) {
	opts = opts.withDefaults()
	cond := strings.Join(strings.Fields(r.Condition), " ")
	if cond == "" {
		return Result{}, fmt.Errorf("expand route %q: it has no condition to write requests for", r.Name)
	}
	res := Result{Dropped: map[string]int{}}

	// What the model must not write again, by text and by meaning.
	condKeys := map[string]bool{key(cond): true}
	for _, f := range classifier.Facets(cond) {
		condKeys[key(f)] = true
	}
	existing := map[string]bool{}
	for _, s := range slices.Concat(r.Examples, r.Negatives) {
		existing[key(s)] = true
	}
	refs, err := embedAll(ctx, embed, slices.Concat([]string{cond}, r.Examples, r.Negatives))
	if err != nil {
		return Result{}, fmt.Errorf("expand route %q: %w", r.Name, err)
	}
	condVec, known := refs[0], refs[1:]
	// A request nearer to another route's condition than to this one's is
	// what a weak model writes when it drifts ("What is your role as an
	// assistant?" for a math route): it would teach the route the wrong
	// requests.
	others, err := embedAll(ctx, embed, r.Others)
	if err != nil {
		return Result{}, fmt.Errorf("expand route %q: %w", r.Name, err)
	}

	var reqs, near []item
	seen := map[string]bool{}
	for res.Calls < opts.Calls {
		needReq := opts.N - len(reqs)
		needNear := opts.NearMisses - len(closeEnough(condVec, reqs, near))
		if needReq <= 0 && needNear <= 0 {
			break
		}
		var have []string
		for _, it := range slices.Concat(reqs, near) {
			have = append(have, it.text)
		}
		askReq, askNear := ask(needReq), ask(needNear)
		reply, err := call(ctx, p, model, prompt(r, cond, askReq, askNear, have), opts, askReq+askNear)
		res.Calls++
		if err != nil {
			return Result{}, fmt.Errorf("expand route %q: %w", r.Name, err)
		}
		got := parse(reply, opts.MaxChars)
		for reason, n := range got.dropped {
			res.Dropped[reason] += n
		}
		// Text filters first, so only candidates are embedded.
		var texts []string
		isNear := map[int]bool{}
		for _, l := range []struct {
			items []string
			near  bool
		}{{got.requests, false}, {got.near, true}} {
			if l.near && opts.NearMisses == 0 {
				continue // none asked for
			}
			for _, s := range l.items {
				k := key(s)
				switch {
				case condKeys[k]:
					res.Dropped[dropCondition]++
				case existing[k]:
					res.Dropped[dropExisting]++
				case seen[k]:
					res.Dropped[dropDuplicate]++
				default:
					seen[k] = true
					isNear[len(texts)] = l.near
					texts = append(texts, s)
				}
			}
		}
		vecs, err := embedAll(ctx, embed, texts)
		if err != nil {
			return Result{}, fmt.Errorf("expand route %q: %w", r.Name, err)
		}
		for i, s := range texts {
			v := vecs[i]
			switch {
			case cosine(v, condVec) >= nearDuplicate:
				res.Dropped[dropCondition]++
			case nearest(v, known) >= nearDuplicate:
				res.Dropped[dropExisting]++
			case nearestItem(v, reqs) >= nearDuplicate || nearestItem(v, near) >= nearDuplicate:
				res.Dropped[dropNearDuplicate]++
			case !isNear[i] && nearest(v, others) > cosine(v, condVec):
				res.Dropped[dropOtherRoute]++
			case isNear[i]:
				near = append(near, item{s, v})
			default:
				reqs = append(reqs, item{s, v})
			}
		}
	}

	kept := closeEnough(condVec, reqs, near)
	res.Dropped[dropTooClose] += len(near) - len(kept)
	reqs = thin(reqs, opts.N, opts.Seed, res.Dropped)
	kept = thin(kept, opts.NearMisses, opts.Seed, res.Dropped)
	for _, it := range reqs {
		res.Requests = append(res.Requests, it.text)
	}
	for _, it := range kept {
		res.NearMisses = append(res.NearMisses, it.text)
	}
	for reason, n := range res.Dropped {
		if n == 0 {
			delete(res.Dropped, reason)
		}
	}
	return res, nil
}

// ask returns how many items to ask for when need are missing.
func ask(need int) int {
	if need <= 0 {
		return 0
	}
	return max(2*need, 4)
}

// closeEnough returns the near misses no nearer to the condition than the
// median request is: one nearer would pull requests of the route away
// from it. With no requests every near miss stands.
func closeEnough(cond []float32, reqs, near []item) []item {
	if len(reqs) == 0 {
		return near
	}
	sims := make([]float64, len(reqs))
	for i, it := range reqs {
		sims[i] = cosine(it.vec, cond)
	}
	slices.Sort(sims)
	median := sims[len(sims)/2]
	if len(sims)%2 == 0 {
		median = (sims[len(sims)/2-1] + sims[len(sims)/2]) / 2
	}
	var out []item
	for _, it := range near {
		if cosine(it.vec, cond) <= median {
			out = append(out, it)
		}
	}
	return out
}

// thin keeps k of items, the k-medoids of their vectors, in their order.
func thin(items []item, k int, seed uint64, dropped map[string]int) []item {
	if len(items) <= k {
		return items
	}
	vecs := make([][]float32, len(items))
	for i, it := range items {
		vecs[i] = it.vec
	}
	var out []item
	for _, i := range classifier.Medoids(vecs, k, seed) {
		out = append(out, items[i])
	}
	dropped[dropThinned] += len(items) - len(out)
	return out
}

// embedAll embeds texts in batches and checks that every one got a
// vector.
func embedAll(ctx context.Context, embed EmbedFunc, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += embedBatch {
		batch := texts[start:min(start+embedBatch, len(texts))]
		v, err := embed(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		if len(v) != len(batch) {
			return nil, fmt.Errorf("embed: %d vectors for %d texts", len(v), len(batch))
		}
		out = append(out, v...)
	}
	return out, nil
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// nearest returns the highest cosine of v with any of vecs, or -1.
func nearest(v []float32, vecs [][]float32) float64 {
	best := -1.0
	for _, w := range vecs {
		best = max(best, cosine(v, w))
	}
	return best
}

func nearestItem(v []float32, items []item) float64 {
	best := -1.0
	for _, it := range items {
		best = max(best, cosine(v, it.vec))
	}
	return best
}
