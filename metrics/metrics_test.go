package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/usage"
)

type fakeEmbedder struct{ fail bool }

func (f fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if f.fail {
		return nil, errors.New("down")
	}
	return make([][]float32, len(texts)), nil
}
func (fakeEmbedder) ID() string { return "fake" }
func (fakeEmbedder) Dim() int   { return 1 }

// TestEmbedderAndJudgeCounts: the embedder's calls are timed by result;
// judge outcomes are counted as the decision reports them.
func TestEmbedderAndJudgeCounts(t *testing.T) {
	m := New(nil)
	ok, bad := m.Embedder(fakeEmbedder{}), m.Embedder(fakeEmbedder{fail: true})
	ok.Embed(t.Context(), []string{"a"})
	ok.Embed(t.Context(), []string{"b"})
	bad.Embed(t.Context(), []string{"c"})
	if n := testutil.CollectAndCount(m.embedDuration); n != 2 {
		t.Errorf("%d embed series, want ok and error", n)
	}
	m.Decided(router.Decision{DecidedBy: router.ByJudge, Judge: &router.JudgeInfo{Used: true, TookMS: 120}})
	m.Decided(router.Decision{DecidedBy: router.ByEmbedding, Judge: &router.JudgeInfo{Cached: true}})
	m.Decided(router.Decision{DecidedBy: router.ByEmbedding, Judge: &router.JudgeInfo{Error: "timeout", TookMS: 1500}})
	m.Decided(router.Decision{DecidedBy: router.ByEmbedding})
	for outcome, want := range map[string]float64{"used": 1, "cached": 1, "error": 1, "declined": 0} {
		if got := testutil.ToFloat64(m.judge.WithLabelValues(outcome)); got != want {
			t.Errorf("judge %s = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.CollectAndCount(m.judgeDuration); got != 1 {
		t.Errorf("judge duration series %d", got)
	}
	if n := testutil.CollectAndCount(m.decisions); n != 2 {
		t.Errorf("%d decision series, want judge and embedding", n)
	}
}

// TestServedSeriesAddUp: Served resolves each set of series once and
// keeps it; the counts must land on the series their labels name, and a
// series appears only once something was observed on it.
func TestServedSeriesAddUp(t *testing.T) {
	m := New(nil)
	ok := usage.Record{Dialect: "openai", Route: "code", DecidedBy: "embedding", Provider: "up", Model: "m1", Key: "team-a",
		Status: 200, Latency: 100 * time.Millisecond, PromptTokens: 10, CompletionTokens: 5, Cost: 0.5}
	tried := []providers.Attempt{{Target: "down/m0", Status: 503, Err: errors.New("503"), Duration: time.Millisecond}, {Target: "up/m1", Status: 200, Duration: time.Millisecond}}
	for range 3 {
		m.Served(ok, tried)
	}
	failed := ok
	failed.Status, failed.PromptTokens, failed.CompletionTokens, failed.Cost = 502, 0, 0, 0
	m.Served(failed, []providers.Attempt{{Target: "up/m1", Status: 500, Err: errors.New("500")}})

	if got := testutil.ToFloat64(m.requests.WithLabelValues("openai", "code", "embedding", "up", "m1", "200")); got != 3 {
		t.Errorf("requests with status 200 = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("openai", "code", "embedding", "up", "m1", "502")); got != 1 {
		t.Errorf("requests with status 502 = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.tokens.WithLabelValues("m1", "team-a", tokenInput)); got != 30 {
		t.Errorf("input tokens = %v, want 30", got)
	}
	if got := testutil.ToFloat64(m.cost.WithLabelValues("m1", "team-a")); got != 1.5 {
		t.Errorf("cost = %v, want 1.5", got)
	}
	for _, c := range []struct {
		provider, model, outcome string
		want                     float64
	}{{"down", "m0", "5xx", 3}, {"up", "m1", "ok", 3}, {"up", "m1", "5xx", 1}} {
		if got := testutil.ToFloat64(m.attempts.WithLabelValues(c.provider, c.model, c.outcome)); got != c.want {
			t.Errorf("attempts %s/%s %s = %v, want %v", c.provider, c.model, c.outcome, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.serverDuration); n != 2 {
		t.Errorf("%d server duration series, want 2 (ok, and error 502)", n)
	}
	if n := testutil.CollectAndCount(m.ttft); n != 0 {
		t.Errorf("%d time-to-first-token series after whole answers only, want 0", n)
	}
}
