package main

import (
	"net/http"
	"testing"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
)

// embedder.cache_size: 0 turns the query cache off, as documented; any
// other size caches.
func TestEmbedderCacheSizeZeroDisablesTheCache(t *testing.T) {
	e := env{getenv: func(string) string { return "" }}
	for _, tt := range []struct {
		size   int
		cached bool
	}{{0, false}, {16, true}} {
		cfg := config.Default()
		cfg.Embedder.CacheSize = tt.size
		emb, closeEmb, err := gateway.BuildEmbedder(t.Context(), cfg, e.gateway(), &http.Client{}, modelsRootOf(t))
		if err != nil {
			t.Fatal(err)
		}
		_, cached := emb.(interface{ Stats() (hits, misses uint64) })
		if cached != tt.cached {
			t.Errorf("cache_size %d: cached %v, want %v", tt.size, cached, tt.cached)
		}
		closeEmb()
	}
}
