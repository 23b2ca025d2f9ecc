package embed

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cached remembers the vectors of recently embedded texts, so that a text
// seen again (a retried request, a common prompt) costs no model call. It
// is safe for concurrent use. Two calls that miss on the same text at the
// same time both embed it.
type Cached struct {
	e            Embedder
	lru          *lru.Cache[cacheKey, []float32]
	hits, misses atomic.Uint64
}

var _ Embedder = (*Cached)(nil)

// cacheKey holds the embedder's ID, not just the text, so that entries
// could never be served for another model, even if the cache outlived or
// were shared past the embedder it was filled from.
type cacheKey struct{ id, text string }

// defaultCacheSize is the size NewCached uses when given none: about 1.5 MB
// of 384-dimension vectors.
const defaultCacheSize = 1024

// NewCached wraps e with a least-recently-used cache of size vectors. A
// size of 0 or less means 1024.
func NewCached(e Embedder, size int) *Cached {
	if size <= 0 {
		size = defaultCacheSize
	}
	c, err := lru.New[cacheKey, []float32](size)
	if err != nil {
		panic(fmt.Sprintf("embed: new lru of size %d: %v", size, err)) // unreachable: size > 0
	}
	return &Cached{e: e, lru: c}
}

// ID is the wrapped embedder's: caching does not change the vectors.
func (c *Cached) ID() string { return c.e.ID() }

// Dim is the wrapped embedder's.
func (c *Cached) Dim() int { return c.e.Dim() }

// Stats reports how many texts were answered without the wrapped embedder
// (from the cache, or as a repeat of a text earlier in the same call), and
// how many were sent to it.
func (c *Cached) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// Embed returns one vector per text, in order. Texts not in the cache are
// embedded in one call to the wrapped embedder, each distinct text once.
// The caller owns the returned vectors: they share no memory with the
// cache or with each other.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	id := c.e.ID()
	var (
		missing []string       // distinct texts to embed, in first-seen order
		at      [][]int        // at[j]: the positions in texts of missing[j]
		seen    map[string]int // text → j, for texts in missing
		hits    uint64
	)
	for i, t := range texts {
		if v, ok := c.lru.Get(cacheKey{id, t}); ok {
			out[i] = slices.Clone(v)
			hits++
			continue
		}
		if j, ok := seen[t]; ok {
			at[j] = append(at[j], i)
			hits++
			continue
		}
		if seen == nil {
			seen = make(map[string]int)
		}
		seen[t] = len(missing)
		missing = append(missing, t)
		at = append(at, []int{i})
	}
	c.hits.Add(hits)
	if len(missing) == 0 {
		return out, nil
	}
	c.misses.Add(uint64(len(missing)))
	vecs, err := c.e.Embed(ctx, missing)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(missing) {
		return nil, fmt.Errorf("embed with %s: got %d vectors for %d texts", id, len(vecs), len(missing))
	}
	for j, v := range vecs {
		c.lru.Add(cacheKey{id, missing[j]}, slices.Clone(v))
		for _, i := range at[j] {
			out[i] = slices.Clone(v)
		}
	}
	return out, nil
}
