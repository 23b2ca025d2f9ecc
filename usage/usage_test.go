package usage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/statedb"
	"github.com/switchyard-router/switchyard/statedb/statedbtest"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// eachStore runs f on a fresh store of each dialect.
func eachStore(t *testing.T, f func(t *testing.T, s *Store, db *statedb.DB)) {
	statedbtest.Each(t, func(t *testing.T, db *statedb.DB) {
		s, err := Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		f(t, s, db)
	})
}

func TestSummaryMatchesTheRows(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store, db *statedb.DB) {
		rows := []Record{
			{Time: t0, Key: "alice", Model: "gpt-4o", Route: "code", Status: 200, PromptTokens: 10, CompletionTokens: 5, Cost: 0.5, Latency: 100 * time.Millisecond},
			{Time: t0.Add(time.Minute), Key: "alice", Model: "gpt-4o", Route: "code", Status: 502, Latency: 300 * time.Millisecond, Stream: true},
			{Time: t0.Add(2 * time.Minute), Key: "bob", Model: "claude", Route: "chat", Status: 200, PromptTokens: 7, CompletionTokens: 3, CachedTokens: 2, Cost: 0.25},
			{Time: t0.Add(-48 * time.Hour), Key: "bob", Model: "old", Status: 200, PromptTokens: 1000}, // before the range
		}
		if err := s.Insert(t.Context(), rows); err != nil {
			t.Fatal(err)
		}
		got, err := s.Summary(t.Context(), t0.Add(-time.Hour), "key")
		if err != nil {
			t.Fatal(err)
		}
		want := []Group{
			{Name: "alice", Requests: 2, Errors: 1, PromptTokens: 10, CompletionTokens: 5, Cost: 0.5, MeanLatencyMS: 200},
			{Name: "bob", Requests: 1, PromptTokens: 7, CompletionTokens: 3, CachedTokens: 2, Cost: 0.25},
		}
		if len(got) != len(want) {
			t.Fatalf("summary %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("group %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		days, err := s.Summary(t.Context(), time.Time{}, "day")
		if err != nil || len(days) != 2 || days[0].Name != "2026-12-06" || days[0].Requests != 3 || days[1].Name != "2026-12-04" {
			t.Errorf("by day: %+v (%v), want 3 rows on 2026-12-06 and 1 on 2026-12-04", days, err)
		}
		if _, err := s.Summary(t.Context(), t0, "nope"); !errors.Is(err, ErrGroupBy) {
			t.Errorf("unknown group-by: %v", err)
		}
		hm, err := s.Heatmap(t.Context(), t0.Add(-time.Hour), time.UTC)
		if err != nil || hm[time.Sunday][12] != 3 {
			t.Errorf("heatmap Sunday 12:00 = %d (%v), want 3", hm[time.Sunday][12], err)
		}
		series, err := s.Series(t.Context(), time.Time{}, "key")
		if err != nil || len(series) != 3 || series[0].Day != "2026-12-04" || series[0].Name != "bob" || series[0].PromptTokens != 1000 ||
			series[1].Day != "2026-12-06" || series[1].Name != "alice" || series[1].Requests != 2 || series[2].Name != "bob" {
			t.Errorf("series %+v (%v)", series, err)
		}
		alice, err := s.Rows(t.Context(), t0.Add(-time.Hour), "key", "alice", 10)
		if err != nil || len(alice) != 2 || alice[0].Status != 502 || !alice[0].Stream || alice[1].PromptTokens != 10 || alice[1].Latency != 100*time.Millisecond {
			t.Errorf("alice's rows %+v (%v)", alice, err)
		}
		if rows, err := s.Rows(t.Context(), time.Time{}, "day", "2026-12-04", 10); err != nil || len(rows) != 1 || rows[0].Model != "old" {
			t.Errorf("the 4th's rows %+v (%v)", rows, err)
		}
		spend, err := s.SpendByKey(t.Context(), t0.Add(-time.Hour))
		if err != nil || len(spend) != 2 || spend["alice"] != 0.5 || spend["bob"] != 0.25 {
			t.Errorf("spend %v (%v)", spend, err)
		}
		// Opening again applies no migration twice and keeps the rows.
		s2, err := Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s2.Count(t.Context(), time.Time{}); err != nil || n != 4 {
			t.Errorf("after reopening: %d rows (%v), want 4", n, err)
		}
		if n, err := s2.Prune(t.Context(), t0.Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("prune removed %d (%v), want the 1 old row", n, err)
		}
	})
}

// TestInsertBatchSizes: batches below, at and above one statement's rows
// all land whole, in order of their fields.
func TestInsertBatchSizes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store, _ *statedb.DB) {
		total, prompt := 0, int64(0)
		big := insertSizes[0]
		// Every statement size, alone and mixed: 37 = 16 + 16 + 4 + 1.
		for _, n := range []int{1, 3, 4, 5, 16, 37, big - 1, big, big + 1, 3*big + 7} {
			rows := make([]Record, n)
			for i := range rows {
				rows[i] = Record{Time: t0, Key: "k", Status: 200, PromptTokens: i, CompletionTokens: 1}
				prompt += int64(i)
			}
			if err := s.Insert(t.Context(), rows); err != nil {
				t.Fatalf("%d rows: %v", n, err)
			}
			total += n
			g, err := s.Summary(t.Context(), time.Time{}, "")
			if err != nil || len(g) != 1 || g[0].Requests != int64(total) || g[0].PromptTokens != prompt || g[0].CompletionTokens != int64(total) {
				t.Fatalf("after %d rows: %+v (%v), want %d requests, %d prompt tokens", n, g, err, total, prompt)
			}
		}
	})
}

// TestLegacySQLiteVersion: a usage file from before schema_versions (its
// version in user_version) is adopted, not migrated again, and brought
// up to date from there.
func TestLegacySQLiteVersion(t *testing.T) {
	db := statedbtest.SQLite(t)
	if _, err := db.ExecContext(t.Context(), migrations[0].SQLite+"; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), db); err != nil {
		t.Fatalf("a legacy file at version 1: %v", err)
	}
	var v int
	if err := db.QueryRowContext(t.Context(), "SELECT version FROM schema_versions WHERE component = 'usage'").Scan(&v); err != nil || v != len(migrations) {
		t.Errorf("recorded version %d (%v), want %d", v, err, len(migrations))
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'requests_key_ts'").Scan(&n); err != nil || n != 0 {
		t.Errorf("migration 2 did not run: %d (%v)", n, err)
	}
}

// TestConcurrentMigrations: replicas that open one PostgreSQL database at
// once apply each migration once.
func TestConcurrentMigrations(t *testing.T) {
	url := statedbtest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			db, err := statedb.OpenPostgres(t.Context(), url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			_, err = Open(t.Context(), db)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestWriterBatchesAndFlushesOnClose(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store, _ *statedb.DB) {
		w := NewWriter(s, WriterOptions{Batch: 100, Every: time.Hour})
		for i := range 250 {
			w.Add(Record{Time: t0.Add(time.Duration(i) * time.Second), Status: 200})
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Count(t.Context(), time.Time{}); n != 250 {
			t.Errorf("%d rows after Close, want 250", n)
		}
		if written, dropped, failed := w.Stats(); written != 250 || dropped != 0 || failed != 0 {
			t.Errorf("stats %d/%d/%d, want 250/0/0", written, dropped, failed)
		}
	})
}

// blocked is a store that holds every insert until released.
type blocked struct {
	release chan struct{}
	mu      sync.Mutex
	rows    int
}

func (b *blocked) Insert(ctx context.Context, rows []Record) error {
	<-b.release
	b.mu.Lock()
	b.rows += len(rows)
	b.mu.Unlock()
	return nil
}

// TestWriterDropsWhenFull: a store that cannot keep up costs rows, counted,
// never a blocked request.
func TestWriterDropsWhenFull(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	w := NewWriter(b, WriterOptions{Queue: 10, Batch: 1, Every: time.Hour})
	done := make(chan struct{})
	go func() {
		for range 100 {
			w.Add(Record{})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Add blocked on a full queue")
	}
	close(b.release)
	w.Close(t.Context())
	written, dropped, _ := w.Stats()
	if dropped == 0 || written+dropped != 100 {
		t.Errorf("written %d, dropped %d; want some dropped and every row accounted for", written, dropped)
	}
}

func TestCost(t *testing.T) {
	p := Prices{"gpt-4o": {Input: 2.5, Output: 10, CachedInput: 1.25}, "plain": {Input: 1, Output: 2}}
	tests := []struct {
		model                      string
		prompt, completion, cached int
		want                       float64
	}{
		{"gpt-4o", 1_000_000, 0, 0, 2.5},
		{"gpt-4o", 1_000_000, 1_000_000, 400_000, 0.6*2.5 + 0.4*1.25 + 10},
		{"openai/gpt-4o-2024-08-06", 0, 1_000_000, 0, 10},
		{"plain", 1_000_000, 0, 1_000_000, 1},
		{"unknown", 1_000_000, 1_000_000, 0, 0},
	}
	for _, tt := range tests {
		if got := p.Cost(tt.model, tt.prompt, tt.completion, tt.cached); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("Cost(%s, %d, %d, %d) = %v, want %v", tt.model, tt.prompt, tt.completion, tt.cached, got, tt.want)
		}
	}
}
