package providers_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
)

// fakeLister lists models, or fails with err. While block is set, each
// listing waits for it to be closed (or for its context).
type fakeLister struct {
	mu     sync.Mutex
	models []string
	err    error
	block  chan struct{}
	calls  atomic.Int32
}

func (l *fakeLister) ListModels(ctx context.Context) ([]string, error) {
	l.calls.Add(1)
	l.mu.Lock()
	block := l.block
	l.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.models), l.err
}

func (l *fakeLister) set(models []string, err error) {
	l.mu.Lock()
	l.models, l.err = models, err
	l.mu.Unlock()
}

func (l *fakeLister) setBlock(ch chan struct{}) {
	l.mu.Lock()
	l.block = ch
	l.mu.Unlock()
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// nopProvider is a Provider that is never called.
type nopProvider struct{}

func (nopProvider) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return nil, errors.New("not called")
}
func (nopProvider) Stream(context.Context, *providers.Request, func(providers.Chunk) error) error {
	return errors.New("not called")
}

func source(name string, l *fakeLister) providers.Source {
	return providers.Source{Name: name, Provider: nopProvider{}, Lister: l, Health: providers.HealthPolicy{MaxFailures: 2}}
}

func targetNames(c *providers.Chain) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, t := range c.Targets {
		out = append(out, t.Name)
	}
	return out
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCatalogLoadBalancesOverEveryProvider(t *testing.T) {
	a := &fakeLister{models: []string{"llama3.2", "qwen", "qwen"}}
	b := &fakeLister{models: []string{"qwen", "mistral"}}
	reg := providers.NewRegistry()
	cat := providers.NewCatalog([]providers.Source{source("a", a), source("b", b)}, reg, providers.CatalogOptions{Retries: 2})
	defer cat.Close()

	ch := cat.Chain("qwen") // the first lookup waits for the first listings
	if got, want := targetNames(ch), []string{"a/qwen", "b/qwen"}; !slices.Equal(got, want) {
		t.Fatalf("targets = %q, want %q", got, want)
	}
	if ch.Retries != 2 || ch.Name != `model "qwen"` {
		t.Errorf("chain name %q retries %d", ch.Name, ch.Retries)
	}
	for _, tg := range ch.Targets {
		if tg.Priority != 0 || tg.Weight != 1 || tg.Model != "qwen" {
			t.Errorf("target %s: priority %d weight %v model %q, want 0, 1, qwen", tg.Name, tg.Priority, tg.Weight, tg.Model)
		}
		k := providers.HealthKey{Provider: tg.Name[:1], Model: "qwen"}
		if tg.Health == nil || tg.Health != reg.Get(k, providers.HealthPolicy{MaxFailures: 2}) {
			t.Errorf("target %s: health is not the registry's entry", tg.Name)
		}
	}
	if got := targetNames(cat.Chain("mistral")); !slices.Equal(got, []string{"b/mistral"}) {
		t.Errorf("mistral targets = %q", got)
	}
	if cat.Chain("gpt-4o") != nil {
		t.Error("a model no source lists has a chain")
	}
	if cat.Chain("qwen") != ch {
		t.Error("a second lookup built a new chain")
	}
	if n := testing.AllocsPerRun(100, func() { cat.Chain("qwen") }); n != 0 {
		t.Errorf("a cached lookup allocates %v times", n)
	}
	want := []providers.DiscoveredModel{
		{ID: "llama3.2", Providers: []string{"a"}},
		{ID: "mistral", Providers: []string{"b"}},
		{ID: "qwen", Providers: []string{"a", "b"}},
	}
	if got := cat.Models(); !slices.EqualFunc(got, want, func(x, y providers.DiscoveredModel) bool {
		return x.ID == y.ID && slices.Equal(x.Providers, y.Providers)
	}) {
		t.Errorf("models = %+v, want %+v", got, want)
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Errorf("listings = %d, %d; want 1 each within the TTL", a.calls.Load(), b.calls.Load())
	}
	st := cat.Sources()
	if len(st) != 2 || st[0].Provider != "a" || st[0].Models != 2 || st[1].Models != 2 || st[0].RefreshedAt.IsZero() || st[0].Error != "" {
		t.Errorf("sources = %+v", st)
	}
}

func TestCatalogTTLServesStaleWhileOneRefreshRuns(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := &fakeLister{models: []string{"old"}}
	cat := providers.NewCatalog([]providers.Source{source("p", l)}, nil, providers.CatalogOptions{TTL: time.Minute, Now: clock.Now})
	defer cat.Close()

	if cat.Chain("old") == nil {
		t.Fatal("no chain for a listed model")
	}
	l.set([]string{"new"}, nil)
	clock.Add(59 * time.Second)
	if cat.Chain("old") == nil || cat.Chain("new") != nil || l.calls.Load() != 1 {
		t.Fatalf("within the TTL: listed %d times, or the list changed", l.calls.Load())
	}

	release := make(chan struct{})
	l.setBlock(release)
	clock.Add(2 * time.Second) // expired
	for range 10 {
		// The stale list answers at once, however many lookups come.
		if cat.Chain("old") == nil {
			t.Fatal("the stale list stopped serving while a refresh runs")
		}
	}
	eventually(t, "the background refresh to start", func() bool { return l.calls.Load() == 2 })
	cat.Models()
	if n := l.calls.Load(); n != 2 {
		t.Errorf("listings = %d, want 2: one refresh in flight at a time", n)
	}
	close(release)
	eventually(t, "the refreshed list", func() bool { return cat.Chain("new") != nil })
	if cat.Chain("old") != nil {
		t.Error("a model the provider no longer lists still has a chain")
	}
	if n := l.calls.Load(); n != 2 {
		t.Errorf("listings = %d, want 2", n)
	}
}

func TestCatalogFailedRefreshKeepsList(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := &fakeLister{models: []string{"m1", "m2"}}
	cat := providers.NewCatalog([]providers.Source{source("p", l)}, nil, providers.CatalogOptions{TTL: time.Hour, Retry: time.Minute, Now: clock.Now})
	defer cat.Close()
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := cat.Chain("m1")
	refreshedAt := cat.Sources()[0].RefreshedAt

	l.set(nil, errors.New("connection refused"))
	clock.Add(time.Second)
	err := cat.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "discover models of p: connection refused") {
		t.Fatalf("Refresh = %v, want the provider's error", err)
	}
	if cat.Chain("m1") != before || len(cat.Models()) != 2 {
		t.Error("a failed refresh changed the list")
	}
	st := cat.Sources()[0]
	if st.Error != "connection refused" || st.Models != 2 || !st.RefreshedAt.Equal(refreshedAt) || !st.CheckedAt.After(refreshedAt) {
		t.Errorf("status = %+v", st)
	}

	// After a failure the next listing is due after Retry, not the TTL.
	calls := l.calls.Load()
	clock.Add(59 * time.Second)
	cat.Chain("m1")
	if l.calls.Load() != calls {
		t.Error("listed again before the retry interval")
	}
	l.set([]string{"m3"}, nil)
	clock.Add(2 * time.Second)
	cat.Chain("m1")
	eventually(t, "the retry", func() bool { return cat.Chain("m3") != nil })
	if st := cat.Sources()[0]; st.Error != "" || st.Models != 1 {
		t.Errorf("after a successful retry: %+v", st)
	}
}

func TestCatalogFirstListingFailsThenServesNothing(t *testing.T) {
	l := &fakeLister{err: errors.New("down")}
	cat := providers.NewCatalog([]providers.Source{source("p", l)}, nil, providers.CatalogOptions{})
	defer cat.Close()
	if cat.Chain("m") != nil || len(cat.Models()) != 0 {
		t.Error("a source that never listed serves models")
	}
	if l.calls.Load() != 1 {
		t.Errorf("listings = %d, want 1: a failure is not retried before the retry interval", l.calls.Load())
	}
	if cat.Sources()[0].Error != "down" {
		t.Errorf("status = %+v", cat.Sources()[0])
	}
}

func TestCatalogChainKeptWhileServersUnchanged(t *testing.T) {
	a := &fakeLister{models: []string{"x", "y"}}
	b := &fakeLister{models: []string{"y"}}
	cat := providers.NewCatalog([]providers.Source{source("a", a), source("b", b)}, nil, providers.CatalogOptions{})
	defer cat.Close()
	x, y := cat.Chain("x"), cat.Chain("y")
	b.set([]string{"z"}, nil)
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cat.Chain("x") != x {
		t.Error("the chain of a model whose providers did not change was rebuilt")
	}
	if got := targetNames(cat.Chain("y")); cat.Chain("y") == y || !slices.Equal(got, []string{"a/y"}) {
		t.Errorf("y targets = %q, want a/y in a new chain", got)
	}
}

func TestCatalogCloseCancelsBackgroundListing(t *testing.T) {
	l := &fakeLister{models: []string{"m"}, block: make(chan struct{})}
	cat := providers.NewCatalog([]providers.Source{source("p", l)}, nil, providers.CatalogOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		cat.Chain("m") // waits for the first listing
	}()
	eventually(t, "the listing to start", func() bool { return l.calls.Load() == 1 })
	cat.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a lookup waiting on a listing did not return after Close")
	}
	if cat.Chain("m") != nil || l.calls.Load() != 1 {
		t.Error("a closed catalog listed again")
	}
}

func TestCatalogConcurrent(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a := &fakeLister{models: []string{"m1", "m2"}}
	b := &fakeLister{models: []string{"m2"}}
	reg := providers.NewRegistry()
	cat := providers.NewCatalog([]providers.Source{source("a", a), source("b", b)}, reg, providers.CatalogOptions{TTL: time.Second, Now: clock.Now})
	defer cat.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				switch (i + j) % 5 {
				case 0:
					if ch := cat.Chain("m2"); ch != nil && len(ch.Targets) == 0 {
						t.Error("empty chain")
					}
				case 1:
					cat.Models()
				case 2:
					cat.Sources()
				case 3:
					clock.Add(300 * time.Millisecond)
					b.set([]string{"m2", "m" + string(rune('3'+j%3))}, nil)
				case 4:
					if j%40 == 4 {
						cat.Refresh(t.Context())
					}
					reg.Status(clock.Now())
				}
			}
		})
	}
	wg.Wait()
	if cat.Chain("m1") == nil {
		t.Error("m1 lost")
	}
}

func TestCatalogWarmDoesNotWait(t *testing.T) {
	release := make(chan struct{})
	l := &fakeLister{models: []string{"m"}, block: release}
	cat := providers.NewCatalog([]providers.Source{source("p", l)}, nil, providers.CatalogOptions{})
	defer cat.Close()
	cat.Warm() // returns at once though the listing blocks
	eventually(t, "the listing to start", func() bool { return l.calls.Load() == 1 })
	cat.Warm()
	close(release)
	if cat.Chain("m") == nil { // waits for the listing Warm started, not a second one
		t.Error("no chain after the first listing")
	}
	if n := l.calls.Load(); n != 1 {
		t.Errorf("listings = %d, want 1", n)
	}
}
