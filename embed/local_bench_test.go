package embed

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/embed/kernel"
)

// benchWords are single-token words; benchText(n) joins the first n-2 of
// them (cycling) so that, with [CLS] and [SEP], the text is exactly n tokens.
// bench/embed_reference.py builds the same texts for sentence-transformers.
var benchWords = strings.Fields(`the server sends each request to a model that
fits the task and keeps a record of how well every route works over time so
people can see what happens when they change a condition or add an example
to the list of things it should know about before it makes a choice`)

func benchText(n int) string {
	words := make([]string, n-2)
	for i := range words {
		words[i] = benchWords[i%len(benchWords)]
	}
	return strings.Join(words, " ")
}

// benchModel reads SWITCHYARD_SIMD and SWITCHYARD_PRECISION so that one
// binary measures each path:
// SWITCHYARD_SIMD=avx2 SWITCHYARD_PRECISION=int8 go test -bench . ./embed/
func benchModel(b *testing.B) *Local {
	b.Helper()
	level, err := kernel.ParseLevel(os.Getenv("SWITCHYARD_SIMD"))
	if err != nil {
		b.Fatal(err)
	}
	prec, err := kernel.ParsePrecision(os.Getenv("SWITCHYARD_PRECISION"))
	if err != nil {
		b.Fatal(err)
	}
	return openModel(b, LocalOptions{Level: level, ForceLevel: true, Precision: prec})
}

// BenchmarkEmbedSingle times one sentence per call at several lengths and
// reports the median latency. The model's core budget is GOMAXPROCS when it
// is loaded, so set the environment variable (GOMAXPROCS=1) for one-core
// figures; -test.cpu changes it too late.
func BenchmarkEmbedSingle(b *testing.B) {
	m := benchModel(b)
	for _, n := range []int{8, 16, 32, 64, 128, 256} {
		text := benchText(n)
		if got := len(m.Tokens(text)); got != n {
			b.Fatalf("benchText(%d) has %d tokens", n, got)
		}
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			texts := []string{text}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := m.Embed(b.Context(), texts); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportMedian(b, lat)
		})
	}
}

// BenchmarkEmbedBatch embeds 32 sentences of 16 tokens per call and reports
// sentences per second.
func BenchmarkEmbedBatch(b *testing.B) {
	m := benchModel(b)
	texts := make([]string, 32)
	for i := range texts {
		// Distinct texts of the same length: rotate the word list.
		words := strings.Fields(benchText(16 + len(benchWords)))
		texts[i] = strings.Join(words[i%len(benchWords):i%len(benchWords)+14], " ")
		if got := len(m.Tokens(texts[i])); got != 16 {
			b.Fatalf("batch text %d has %d tokens", i, got)
		}
	}
	b.Run("32x16", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Embed(b.Context(), texts); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "sentences/s")
	})
}

func reportMedian(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkEmbedConcurrent is a server's load: 32 callers at once, each
// embedding one 16-token text per call (Local has no cache, so repeating
// texts costs what new ones do). Reports sentences per second.
func BenchmarkEmbedConcurrent(b *testing.B) {
	m := benchModel(b)
	text := benchText(16)
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		texts := []string{text}
		for pb.Next() {
			if _, err := m.Embed(context.Background(), texts); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sentences/s")
}
