package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Discovery defaults, the values CatalogOptions' zero fields stand for.
const (
	DefaultDiscoveryTTL     = 10 * time.Minute
	DefaultDiscoveryRetry   = 30 * time.Second
	DefaultDiscoveryTimeout = 10 * time.Second
)

// Source is one provider whose own model list a Catalog merges.
type Source struct {
	// Name is the provider's name from config; with a model it keys the
	// target's Health in the Registry.
	Name string
	// Provider serves the models Lister lists; usually the same value.
	Provider Provider
	Lister   Lister
	// Health is the circuit-breaker policy of the source's discovered
	// targets.
	Health HealthPolicy
	// FirstByteTimeout and IdleTimeout are copied into the source's
	// targets (see Target).
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
}

// CatalogOptions tunes a Catalog. Zero values are the documented defaults.
type CatalogOptions struct {
	// TTL is how long a provider's list is used before it is listed again.
	// 0 means DefaultDiscoveryTTL (10m).
	TTL time.Duration
	// Retry is how long after a failed listing the next may start, while
	// the previous list keeps serving. 0 means DefaultDiscoveryRetry
	// (30s); never more than TTL.
	Retry time.Duration
	// Timeout bounds one listing. 0 means DefaultDiscoveryTimeout (10s).
	Timeout time.Duration
	// Retries is the Retries of the chains the catalog builds (see Chain).
	Retries int
	// Now, if set, is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Catalog knows which provider serves which model, by asking the
// providers themselves (their Lister), so that a client may name any model
// a discovering provider has without it being configured.
//
// Each provider's list is cached for the TTL. A lookup after it expired
// starts one listing in the background and answers from the stale list
// meanwhile; only a provider never listed yet makes a lookup wait, for the
// one listing in flight. A failed listing keeps the previous list and
// records the error. The chain of a discovered model spreads requests over
// every provider that lists it (one priority, weight 1 each), with the
// targets' Health taken from the Registry, so circuit breaking applies as
// to configured targets; it is built once per model and reused until a
// listing changes who serves the model.
//
// A Catalog is safe for concurrent use. Close stops its background
// listings.
type Catalog struct {
	sources []*source
	reg     *Registry
	ttl     time.Duration
	retry   time.Duration
	timeout time.Duration
	retries int
	now     func() time.Time

	stop chan struct{} // closed by Close: cancels background listings
	wg   sync.WaitGroup

	mu     sync.Mutex // guards the fields below and every source's state
	closed bool
	index  map[string][]string // model → names of the sources listing it, in source order
	chains map[string]*Chain   // built on first lookup, dropped when index changes the model
}

// source is a Source and what the catalog learnt from it, under
// Catalog.mu.
type source struct {
	Source
	models    []string      // sorted, no duplicates
	loaded    bool          // a listing has completed, well or not
	expires   time.Time     // when the next listing is due
	refreshed time.Time     // last successful listing
	checked   time.Time     // last listing
	err       string        // the last listing's error; "" after a success
	seq       uint64        // listings started
	applied   uint64        // seq of the listing the state reflects
	inflight  chan struct{} // closed when the background listing ends; nil when none runs
}

// NewCatalog returns a catalog of sources, whose targets' circuit breakers
// come from reg (nil: targets have none). Nothing is listed until the
// first lookup or Refresh.
func NewCatalog(sources []Source, reg *Registry, opts CatalogOptions) *Catalog {
	c := &Catalog{
		reg:     reg,
		ttl:     cmpOr(opts.TTL, DefaultDiscoveryTTL),
		retry:   cmpOr(opts.Retry, DefaultDiscoveryRetry),
		timeout: cmpOr(opts.Timeout, DefaultDiscoveryTimeout),
		retries: opts.Retries,
		now:     opts.Now,
		stop:    make(chan struct{}),
		index:   map[string][]string{},
		chains:  map[string]*Chain{},
	}
	c.retry = min(c.retry, c.ttl)
	if c.now == nil {
		c.now = time.Now
	}
	for _, s := range sources {
		c.sources = append(c.sources, &source{Source: s})
	}
	return c
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Chain returns the chain serving a discovered model, or nil when no
// source lists it. Repeated lookups of a model return the same chain
// without allocating, until a listing changes who serves it.
func (c *Catalog) Chain(model string) *Chain {
	c.freshen()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.chains[model]; ok {
		return ch
	}
	names := c.index[model]
	if len(names) == 0 {
		return nil // misses are not cached: clients choose the names
	}
	ch := c.newChain(model, names)
	c.chains[model] = ch
	return ch
}

// newChain load-balances model over the named sources.
func (c *Catalog) newChain(model string, names []string) *Chain {
	ch := &Chain{Name: "model " + strconv.Quote(model), Retries: c.retries}
	for _, s := range c.sources {
		if !slices.Contains(names, s.Name) {
			continue
		}
		key := HealthKey{Provider: s.Name, Model: model}
		t := Target{Name: key.String(), Provider: s.Provider, Model: model, Weight: 1, FirstByteTimeout: s.FirstByteTimeout, IdleTimeout: s.IdleTimeout}
		if c.reg != nil {
			t.Health = c.reg.Get(key, s.Health)
		}
		ch.Targets = append(ch.Targets, t)
	}
	return ch
}

// DiscoveredModel is one entry of Catalog.Models.
type DiscoveredModel struct {
	ID        string   `json:"id"`
	Providers []string `json:"providers"` // in config order
}

// Models lists every discovered model, by name, with the providers
// serving it.
func (c *Catalog) Models() []DiscoveredModel {
	c.freshen()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]DiscoveredModel, 0, len(c.index))
	for m, names := range c.index {
		out = append(out, DiscoveredModel{ID: m, Providers: slices.Clone(names)})
	}
	slices.SortFunc(out, func(a, b DiscoveredModel) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// SourceStatus describes one source's listings, for GET /admin/providers.
type SourceStatus struct {
	Provider string `json:"provider"`
	Models   int    `json:"models"` // in the list in use
	// RefreshedAt is the last successful listing; zero before the first.
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	// CheckedAt is the last listing, successful or not.
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// Error is the last listing's error; empty when it succeeded.
	Error string `json:"error,omitempty"`
}

// Sources describes every source, in config order.
func (c *Catalog) Sources() []SourceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]SourceStatus, 0, len(c.sources))
	for _, s := range c.sources {
		out = append(out, SourceStatus{Provider: s.Name, Models: len(s.models), RefreshedAt: s.refreshed, CheckedAt: s.checked, Error: s.err})
	}
	return out
}

// Refresh lists every source now, concurrently, and waits for them. A
// source that fails keeps its previous list; the error, wrapped with the
// provider's name, is joined into the one returned (and recorded, see
// Sources). A listing cut short by ctx is not recorded.
func (c *Catalog) Refresh(ctx context.Context) error {
	c.mu.Lock()
	seqs := make([]uint64, len(c.sources))
	for i, s := range c.sources {
		s.seq++
		seqs[i] = s.seq
	}
	c.mu.Unlock()
	errs := make([]error, len(c.sources))
	var wg sync.WaitGroup
	for i, s := range c.sources {
		wg.Go(func() {
			lctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			models, err := s.Lister.ListModels(lctx)
			if err != nil {
				errs[i] = fmt.Errorf("discover models of %s: %w", s.Name, err)
			}
			if ctx.Err() != nil {
				return
			}
			c.mu.Lock()
			c.applyLocked(s, seqs[i], models, err)
			c.mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// Warm starts, in the background, the listing of every source that is
// due (all of them, on a new catalog), without waiting for it: a catalog
// built off the request path is then ready, or nearly, when it starts
// serving.
func (c *Catalog) Warm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, s := range c.sources {
		if s.inflight == nil && !c.closed && !now.Before(s.expires) {
			c.startLocked(s)
		}
	}
}

// Close stops background listings and waits for them to end. Lookups
// still answer afterwards, from the lists as they are.
func (c *Catalog) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// freshen starts a background listing of every source whose list is due
// and has none in flight, then waits for those of sources never listed.
func (c *Catalog) freshen() {
	c.Warm()
	var wait []chan struct{}
	c.mu.Lock()
	for _, s := range c.sources {
		if !s.loaded && s.inflight != nil {
			wait = append(wait, s.inflight)
		}
	}
	c.mu.Unlock()
	for _, done := range wait {
		<-done
	}
}

// startLocked lists s in the background.
func (c *Catalog) startLocked(s *source) {
	s.seq++
	seq, done := s.seq, make(chan struct{})
	s.inflight = done
	c.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		go func() { // the listing outlives the lookup that started it, not Close
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		models, err := s.Lister.ListModels(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.closed {
			c.applyLocked(s, seq, models, err)
		}
		s.inflight = nil
		close(done)
	})
}

// applyLocked records the outcome of listing seq of s, unless a listing
// started later has already been recorded.
func (c *Catalog) applyLocked(s *source, seq uint64, models []string, err error) {
	if seq < s.applied {
		return
	}
	now := c.now()
	s.applied, s.loaded, s.checked = seq, true, now
	if err != nil {
		s.err, s.expires = err.Error(), now.Add(c.retry)
		return
	}
	s.err, s.refreshed, s.expires = "", now, now.Add(c.ttl)
	ms := slices.Compact(slices.Sorted(slices.Values(models)))
	ms = slices.DeleteFunc(ms, func(m string) bool { return m == "" })
	if slices.Equal(ms, s.models) {
		return
	}
	s.models = ms
	c.reindexLocked()
}

// reindexLocked rebuilds the index from the sources' lists, keeping the
// chains of models still served by the same providers.
func (c *Catalog) reindexLocked() {
	idx := map[string][]string{}
	for _, s := range c.sources {
		for _, m := range s.models {
			idx[m] = append(idx[m], s.Name)
		}
	}
	for m := range c.chains {
		if !slices.Equal(idx[m], c.index[m]) {
			delete(c.chains, m)
		}
	}
	c.index = idx
}
