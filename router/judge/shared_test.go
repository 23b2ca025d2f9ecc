package judge_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/router/judge"
	"github.com/switchyard-router/switchyard/shared"
	"github.com/switchyard-router/switchyard/shared/sharedtest"
)

// TestSharedVerdicts: with a shared store (a real Redis), a verdict one
// replica's judge paid for is served to another's from the store, with
// no call; a failed call stores nothing.
func TestSharedVerdicts(t *testing.T) {
	url := sharedtest.URL(t)
	store := func() judge.SharedStore {
		s, err := shared.Open(shared.Options{URL: url, Prefix: "test-judge-" + time.Now().Format("150405.000000") + ":", Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	st := store()
	a, upA := newJudge(t, judge.Options{Shared: st}, providertest.Script{ToolCall: call("math")})
	b, upB := newJudge(t, judge.Options{Shared: st}, providertest.Script{Status: 500}, providertest.Script{ToolCall: call("code")})
	ctx := context.Background()
	if _, err := b.Choose(ctx, "sort a list", candidates); err == nil {
		t.Fatal("b's failing upstream answered")
	}
	if v, err := a.Choose(ctx, "integrate x", candidates); err != nil || v.Cached || v.Route != "math" {
		t.Fatalf("a: %+v %v", v, err)
	}
	v, err := b.Choose(ctx, "integrate x", candidates)
	if err != nil || !v.Cached || v.Route != "math" || upB.Requests() != 1 {
		t.Errorf("b on a's text: %+v %v after %d calls; want a's verdict from the store, no call", v, err, upB.Requests())
	}
	if v, err := a.Choose(ctx, "sort a list", candidates); err != nil || v.Cached || upA.Requests() != 2 {
		t.Errorf("a on the text b failed on: %+v %v; want a call (the failure stored nothing)", v, err)
	}
}
