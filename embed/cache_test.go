package embed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// countingEmbedder returns rawVec for each text and records every call.
type countingEmbedder struct {
	id    string
	fail  error
	mu    sync.Mutex
	calls [][]string
}

func (c *countingEmbedder) ID() string { return c.id }
func (c *countingEmbedder) Dim() int   { return 4 }

func (c *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.calls = append(c.calls, slices.Clone(texts))
	c.mu.Unlock()
	if c.fail != nil {
		return nil, c.fail
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = rawVec(t)
	}
	return out, nil
}

func (c *countingEmbedder) called() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func wantRaw(t *testing.T, got [][]float32, texts []string) {
	t.Helper()
	if len(got) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		if !slices.Equal(got[i], rawVec(text)) {
			t.Fatalf("vector %d (%q) = %v, want %v", i, text, got[i], rawVec(text))
		}
	}
}

func wantStats(t *testing.T, c *Cached, hits, misses uint64) {
	t.Helper()
	if h, m := c.Stats(); h != hits || m != misses {
		t.Errorf("Stats = %d hits, %d misses; want %d, %d", h, m, hits, misses)
	}
}

func TestCachedEmbedsOnlyMissesInOneCall(t *testing.T) {
	inner := &countingEmbedder{id: "test:model"}
	c := NewCached(inner, 16)
	if c.ID() != "test:model" || c.Dim() != 4 {
		t.Errorf("ID, Dim = %q, %d; want the wrapped embedder's", c.ID(), c.Dim())
	}
	first := []string{"a", "b"}
	got, err := c.Embed(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw(t, got, first)
	wantStats(t, c, 0, 2)

	second := []string{"c", "a", "d", "b", "e"}
	got, err = c.Embed(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw(t, got, second)
	wantStats(t, c, 2, 5)
	want := [][]string{{"a", "b"}, {"c", "d", "e"}}
	if calls := inner.called(); !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("calls %q, want %q", calls, want)
	}

	got, err = c.Embed(t.Context(), []string{"e", "a"})
	if err != nil {
		t.Fatal(err)
	}
	wantRaw(t, got, []string{"e", "a"})
	wantStats(t, c, 4, 5)
	if n := len(inner.called()); n != 2 {
		t.Errorf("%d calls after all hits, want still 2", n)
	}
}

func TestCachedDedupesWithinACall(t *testing.T) {
	inner := &countingEmbedder{id: "test:model"}
	c := NewCached(inner, 16)
	in := []string{"x", "y", "x", "x", "z", "y"}
	got, err := c.Embed(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw(t, got, in)
	if calls := inner.called(); len(calls) != 1 || !slices.Equal(calls[0], []string{"x", "y", "z"}) {
		t.Errorf("calls %q, want one of [x y z]", calls)
	}
	wantStats(t, c, 3, 3)
}

func TestCachedEvictsLeastRecentlyUsed(t *testing.T) {
	inner := &countingEmbedder{id: "test:model"}
	c := NewCached(inner, 2)
	for _, in := range [][]string{{"a", "b"}, {"a"}, {"c"}, {"a"}, {"b"}} {
		if _, err := c.Embed(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	// The second call made b the least recently used, so c evicted it, and
	// only b had to be embedded again.
	want := [][]string{{"a", "b"}, {"c"}, {"b"}}
	if calls := inner.called(); !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	wantStats(t, c, 2, 4)
}

func TestCachedVectorsAreTheCallersOwn(t *testing.T) {
	c := NewCached(&countingEmbedder{id: "test:model"}, 16)
	got, err := c.Embed(t.Context(), []string{"a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	got[0][0] = 99 // must reach neither the cache nor the other copy
	if got[1][0] == 99 {
		t.Error("repeated texts share a vector")
	}
	again, err := c.Embed(t.Context(), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	again[0][1] = 99
	third, err := c.Embed(t.Context(), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	wantRaw(t, third, []string{"a"})
}

func TestCachedKeepsNothingOnError(t *testing.T) {
	boom := errors.New("embed with test: boom")
	inner := &countingEmbedder{id: "test:model", fail: boom}
	c := NewCached(inner, 16)
	if _, err := c.Embed(t.Context(), []string{"a"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the wrapped embedder's", err)
	}
	inner.fail = nil
	if _, err := c.Embed(t.Context(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if n := len(inner.called()); n != 2 {
		t.Errorf("%d calls, want 2: a failure must not be cached", n)
	}
}

func TestCachedEmptyInput(t *testing.T) {
	inner := &countingEmbedder{id: "test:model"}
	got, err := NewCached(inner, 0).Embed(t.Context(), nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Embed(nil) = %v, %v; want an empty slice", got, err)
	}
	if n := len(inner.called()); n != 0 {
		t.Errorf("%d calls, want 0", n)
	}
}

// shortEmbedder returns one vector too few.
type shortEmbedder struct{ countingEmbedder }

func (s *shortEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, err := s.countingEmbedder.Embed(ctx, texts)
	return v[1:], err
}

func TestCachedChecksTheCount(t *testing.T) {
	c := NewCached(&shortEmbedder{countingEmbedder{id: "test:model"}}, 16)
	if _, err := c.Embed(t.Context(), []string{"a", "b"}); err == nil {
		t.Error("no error for a missing vector")
	}
}

func TestCachedConcurrentUse(t *testing.T) {
	inner := &countingEmbedder{id: "test:model"}
	c := NewCached(inner, 8) // smaller than the texts, so eviction races too
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				in := []string{fmt.Sprint((g + i) % 12), fmt.Sprint(i % 5), fmt.Sprint((g * i) % 12)}
				got, err := c.Embed(t.Context(), in)
				if err != nil {
					t.Error(err)
					return
				}
				for k, text := range in {
					if !slices.Equal(got[k], rawVec(text)) {
						t.Errorf("vector for %q = %v, want %v", text, got[k], rawVec(text))
						return
					}
				}
				got[0][0] = -1 // a caller scribbling on its result
			}
		})
	}
	wg.Wait()
	if h, m := c.Stats(); h+m != 8*50*3 {
		t.Errorf("hits + misses = %d, want %d", h+m, 8*50*3)
	}
}
