package gateway

import (
	"cmp"
	"slices"
	"strconv"
	"sync"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
)

// sameModels knows which targets serve an upstream model, for chains
// with the same-model fallback: every configured target (routes, aliases,
// the judge) and every model in a provider's models list, then what the
// discovering providers list. It is filled while a runtime is built and
// only read once it serves, so reads need no lock.
type sameModels struct {
	byModel  map[string][]providers.Target
	discover *providers.Catalog // nil when no provider discovers
}

// add records t as serving its model, once per target name.
func (s *sameModels) add(t providers.Target) {
	if slices.ContainsFunc(s.byModel[t.Model], func(have providers.Target) bool { return have.Name == t.Name }) {
		return
	}
	s.byModel[t.Model] = append(s.byModel[t.Model], t)
}

// lookup returns the targets serving model: the configured ones by their
// provider's priority (config order within one), then the discovered ones.
func (s *sameModels) lookup(model string) []providers.Target {
	out := slices.Clone(s.byModel[model])
	slices.SortStableFunc(out, func(a, b providers.Target) int { return cmp.Compare(a.Priority, b.Priority) })
	if s.discover != nil {
		if c := s.discover.Chain(model); c != nil {
			out = append(out, c.Targets...)
		}
	}
	return out
}

// maxDirectChains bounds the provider/model chains a runtime keeps: the
// names come from clients, so past the bound a chain is built for its
// request alone, with no circuit breaker (a breaker per client-chosen
// name would let clients grow the health registry without end).
const maxDirectChains = 1024

// directChains builds the chain of a model asked for as provider/model
// (router.Options.Direct): one target, that provider's model, with the
// provider's circuit-breaker policy and timeouts, and its health kept in
// the registry under the same provider/model key a configured target of
// that model has, so GET /admin/providers shows it and both share one
// breaker. It is safe for concurrent use.
type directChains struct {
	reg      *providers.Registry
	provs    map[string]providers.Provider
	pcfg     map[string]config.Provider
	retries  int
	fallback providers.Fallback
	same     *sameModels

	mu     sync.Mutex
	chains map[providers.HealthKey]*providers.Chain
}

// chain returns provider's chain for model, or nil when no provider has
// that name.
func (d *directChains) chain(provider, model string) *providers.Chain {
	prov, ok := d.provs[provider]
	if !ok {
		return nil
	}
	key := providers.HealthKey{Provider: provider, Model: model}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.chains[key]; ok {
		return c
	}
	p := d.pcfg[provider]
	t := providers.Target{
		Name: key.String(), Provider: prov, Model: model,
		FirstByteTimeout: p.FirstByteTimeout, IdleTimeout: p.StreamIdleTimeout,
	}
	keep := len(d.chains) < maxDirectChains
	if keep && d.reg != nil {
		t.Health = d.reg.Get(key, providers.HealthPolicy{MaxFailures: p.MaxFailures, RecoveryInterval: p.RecoveryInterval})
	}
	c := &providers.Chain{Name: "model " + strconv.Quote(key.String()), Targets: []providers.Target{t}, Retries: d.retries, Fallback: d.fallback}
	if c.Fallback == providers.FallbackSameModel {
		c.SameModel = d.same.lookup
	}
	if keep {
		d.chains[key] = c
	}
	return c
}
