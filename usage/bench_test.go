package usage

import (
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/statedb/statedbtest"
)

// BenchmarkInsert is the writer's cost per row on SQLite, in batches of
// 500 as the Writer sends them: CPU taken from the serving process at
// every request, off the request path.
func BenchmarkInsert(b *testing.B) {
	s, err := Open(b.Context(), statedbtest.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	batch := benchRows(500)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Insert(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/row")
}

// BenchmarkInsertSmallBatches is BenchmarkInsert with the batches a
// writer flushes under load: a few rows to a few dozen, rarely a
// multiple of the largest statement.
func BenchmarkInsertSmallBatches(b *testing.B) {
	s, err := Open(b.Context(), statedbtest.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	sizes := []int{1, 3, 7, 12, 23, 37, 49, 64}
	batch := benchRows(64)
	b.ReportAllocs()
	rows := 0
	for i := 0; b.Loop(); i++ {
		n := sizes[i%len(sizes)]
		if err := s.Insert(b.Context(), batch[:n]); err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// benchRows is n rows of a streamed, routed request.
func benchRows(n int) []Record {
	rows := make([]Record, n)
	for i := range rows {
		rows[i] = Record{Time: time.Now(), RequestID: "01JEXAMPLE0000000000000000", Key: "team-a", Dialect: "openai", Route: "code",
			DecidedBy: "embedding", Score: 0.61, Provider: "up", Model: "gpt-4o-mini", Attempts: 1, Status: 200, Stream: true,
			PromptTokens: 120, CompletionTokens: 300, Latency: 800 * time.Millisecond, TTFT: 90 * time.Millisecond, Cost: 0.0002}
	}
	return rows
}
