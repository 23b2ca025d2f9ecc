package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed/kernel"
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
// with its own ID, and auto is int8 on a CPU with AVX2 or AVX-512.
func TestEmbedderPrecision(t *testing.T) {
	e := env{getenv: func(string) string { return "" }}
	auto := "local:all-MiniLM-L6-v2"
	if kernel.AutoPrecision(kernel.Best()) == kernel.Int8 {
		auto += "+int8"
	}
	for prec, want := range map[string]string{
		config.PrecisionAuto: auto,
		config.PrecisionFP32: "local:all-MiniLM-L6-v2",
		config.PrecisionInt8: "local:all-MiniLM-L6-v2+int8", // or +int8-w63 without VNNI
	} {
		cfg := config.Default()
		cfg.Embedder.Precision = prec
		emb, closeEmb, err := gateway.BuildEmbedder(t.Context(), cfg, e.gateway(), &http.Client{}, modelsRootOf(t))
		if err != nil {
			t.Fatal(err)
		}
		if id := emb.ID(); id != want && !(strings.HasSuffix(want, "+int8") && strings.HasPrefix(id, want)) {
			t.Errorf("precision %s: embedder ID %q, want %q", prec, emb.ID(), want)
		}
		closeEmb()
	}
}
