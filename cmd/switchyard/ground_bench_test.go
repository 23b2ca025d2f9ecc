package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
)

// conditionsConfig is a conditions-only route set like the llm_tasks one of
// docs/EVALUATION.md: 12 task routes and a fallback, every routing setting
// at its default (threshold auto, aggregation auto → lda, the task library,
// instruction segments) unless routing overrides some.
func conditionsConfig(tb testing.TB, routing string) *config.Config {
	tb.Helper()
	conds := map[string]string{
		"chit_chat": "casual conversation, small talk, greetings", "closed_qa": "answering a question about a provided passage or document",
		"code_explanation": "explaining what a piece of code does", "coding": "writing code, programming tasks",
		"debugging": "fixing bugs and errors in code", "information_extraction": "extracting specific information from a text",
		"math": "math problems", "open_qa": "general knowledge and factual questions", "sql": "SQL and database queries",
		"stem": "science and engineering problems, physics, chemistry", "summarization": "summarizing a text",
		"translation": "translating text between languages",
	}
	var b strings.Builder
	b.WriteString("providers: [{name: up, kind: openai, base_url: http://127.0.0.1:9/v1}]\nroutes:\n")
	for name, c := range conds {
		fmt.Fprintf(&b, "  - {name: %s, condition: %q, targets: [{provider: up, model: %s}]}\n", name, c, name)
	}
	b.WriteString("  - {name: fallback, targets: [{provider: up, model: fallback}]}\ndefault_route: fallback\n")
	if routing != "" {
		b.WriteString("routing: " + routing + "\n")
	}
	path := filepath.Join(tb.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// BenchmarkDecideGrounded times a routing decision for a 16-token message
// that misses the query cache, with the library and segments on (the
// defaults) and, side by side, with both off.
func BenchmarkDecideGrounded(b *testing.B) {
	for _, v := range []struct{ name, routing string }{
		{"library+segments", ""},
		{"conditions-only", "{ground: false, segments: false, threshold: 0.35}"},
	} {
		b.Run(v.name, func(b *testing.B) {
			rt := benchRuntime(b, conditionsConfig(b, v.routing))
			benchDecide(b, rt)
		})
	}
}

func benchDecide(b *testing.B, rt *gateway.Runtime) {
	// The same random 16-token messages as BenchmarkDecide's "miss".
	rngMessages := newDecideMessages()
	var lat []float64
	for b.Loop() {
		req := rngMessages()
		d, err := rt.Router.Decide(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, float64(d.Took.Microseconds())/1000)
	}
	reportLatency(b, lat)
}

// BenchmarkStartup times building the serving runtime of a conditions-only
// config once the model is loaded: grounding in the shipped library,
// calibration and the index, against the same routes without the library.
// It reports the heap the built runtime keeps.
func BenchmarkStartup(b *testing.B) {
	for _, v := range []struct{ name, routing string }{
		{"library", ""},
		{"no-library", "{ground: false, threshold: 0.35}"},
	} {
		b.Run(v.name, func(b *testing.B) {
			cfg := conditionsConfig(b, v.routing)
			e := env{getenv: func(string) string { return "" }}
			hc := &http.Client{}
			emb, closeEmb, err := gateway.BuildEmbedder(b.Context(), cfg, e.gateway(), hc, modelsRootOf(b))
			if err != nil {
				b.Fatal(err)
			}
			defer closeEmb()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var keep *gateway.Runtime
			for b.Loop() {
				rt, err := gateway.BuildRouting(b.Context(), cfg, e.gateway(), hc, emb, providers.NewRegistry())
				if err != nil {
					b.Fatal(err)
				}
				if keep != nil {
					keep.Close()
				}
				keep = rt
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "kept-MiB")
			keep.Close()
		})
	}
}

// benchRuntime builds the serving runtime of cfg with the real model, as
// serve does, and stops it when b ends.
func benchRuntime(b *testing.B, cfg *config.Config) *gateway.Runtime {
	b.Helper()
	e := env{getenv: func(string) string { return "" }}
	hc := &http.Client{}
	emb, closeEmb, err := gateway.BuildEmbedder(b.Context(), cfg, e.gateway(), hc, modelsRootOf(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeEmb() })
	rt, err := gateway.BuildRouting(b.Context(), cfg, e.gateway(), hc, emb, providers.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	return rt
}
