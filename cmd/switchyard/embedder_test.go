package main

import (
	"net/http"
	"strings"
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

// embedder.precision reaches the local model: int8 is another embedder,
// with its own ID, and auto is fp32 for now.
func TestEmbedderPrecision(t *testing.T) {
	e := env{getenv: func(string) string { return "" }}
	for prec, want := range map[string]string{
		config.PrecisionAuto: "local:all-MiniLM-L6-v2",
		config.PrecisionFP32: "local:all-MiniLM-L6-v2",
		config.PrecisionInt8: "local:all-MiniLM-L6-v2+int8", // or +int8-w63 without VNNI
	} {
		cfg := config.Default()
		cfg.Embedder.Precision = prec
		emb, closeEmb, err := gateway.BuildEmbedder(t.Context(), cfg, e.gateway(), &http.Client{}, modelsRootOf(t))
		if err != nil {
			t.Fatal(err)
		}
		if id := emb.ID(); id != want && !(prec == config.PrecisionInt8 && strings.HasPrefix(id, want)) {
			t.Errorf("precision %s: embedder ID %q, want %q", prec, emb.ID(), want)
		}
		closeEmb()
	}
}
