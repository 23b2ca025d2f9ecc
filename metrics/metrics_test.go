package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-router/switchyard/router"
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
