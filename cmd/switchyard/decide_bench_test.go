package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
)

// decideWords are single-token words, so 14 of them plus [CLS] and [SEP]
// make a 16-token message; random picks make every miss a new text.
var decideWords = strings.Fields(`the server sends each request to a model that
fits the task and keeps a record of how well every route works over time so
people can see what happens when they change a condition or add an example
to the list of things it should know about before it makes a choice code
bug error function write poem story translate french summary math proof`)

// BenchmarkDecide times a full routing decision (embed the message, score
// every route of the example config) for a 16-token message: "miss" embeds
// a new text each time, "hit" repeats one so the query cache answers. Set
// GOMAXPROCS to choose the cores, as for the embed benchmarks.
func BenchmarkDecide(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(path, config.Example(), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		b.Fatal(err)
	}
	rt := benchRuntime(b, cfg)
	message := newDecideMessages()
	run := func(b *testing.B, next func() *providers.Request) {
		var lat []time.Duration
		for b.Loop() {
			req := next()
			start := time.Now()
			if _, err := rt.Router.Decide(b.Context(), req); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e6, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e6, "p99-ms")
	}
	b.Run("miss", func(b *testing.B) { run(b, message) })
	b.Run("hit", func(b *testing.B) {
		req := message()
		if _, err := rt.Router.Decide(b.Context(), req); err != nil {
			b.Fatal(err)
		}
		run(b, func() *providers.Request { return req })
	})
}

// newDecideMessages returns a generator of random 16-token user messages,
// seeded, so runs compare.
func newDecideMessages() func() *providers.Request {
	rng := rand.New(rand.NewPCG(1, 2))
	return func() *providers.Request {
		words := make([]string, 14)
		for i := range words {
			words[i] = decideWords[rng.IntN(len(decideWords))]
		}
		return &providers.Request{Messages: []providers.Message{{Role: "user",
			Parts: []providers.Part{{Type: "text", Text: strings.Join(words, " ")}}}}}
	}
}

// reportLatency reports the median and 99th percentile of lat (ms).
func reportLatency(b *testing.B, lat []float64) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
}
