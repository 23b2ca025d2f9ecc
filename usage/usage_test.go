package usage

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "usage.db")
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestSummaryMatchesTheRows(t *testing.T) {
	s, path := open(t)
	rows := []Record{
		{Time: t0, Key: "alice", Model: "gpt-4o", Route: "code", Status: 200, PromptTokens: 10, CompletionTokens: 5, Cost: 0.5, Latency: 100 * time.Millisecond},
		{Time: t0.Add(time.Minute), Key: "alice", Model: "gpt-4o", Route: "code", Status: 502, Latency: 300 * time.Millisecond},
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
	if _, err := s.Summary(t.Context(), t0, "nope"); !errors.Is(err, ErrGroupBy) {
		t.Errorf("unknown group-by: %v", err)
	}
	hm, err := s.Heatmap(t.Context(), t0.Add(-time.Hour), time.UTC)
	if err != nil || hm[time.Sunday][12] != 3 {
		t.Errorf("heatmap Sunday 12:00 = %d (%v), want 3", hm[time.Sunday][12], err)
	}
	// Reopening keeps the rows and applies no migration twice.
	s.Close()
	s2, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n, err := s2.Count(t.Context(), time.Time{}); err != nil || n != 4 {
		t.Errorf("after reopening: %d rows (%v), want 4", n, err)
	}
	if n, err := s2.Prune(t.Context(), t0.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("prune removed %d (%v), want the 1 old row", n, err)
	}
}

func TestWriterBatchesAndFlushesOnClose(t *testing.T) {
	s, _ := open(t)
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
