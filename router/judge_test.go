package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/judge"
)

// stubJudge answers every Choose with a scripted verdict or error, and
// records the candidates it was offered.
type stubJudge struct {
	verdict judge.Verdict
	err     error
	calls   [][]judge.Candidate
}

func (s *stubJudge) Choose(ctx context.Context, text string, cands []judge.Candidate) (judge.Verdict, error) {
	s.calls = append(s.calls, cands)
	return s.verdict, s.err
}

var judgeMathChain = &providers.Chain{}

// threeRoutes is a Match over code, math and chat, code on top.
func threeRoutes(cleared bool, margin float64) classifier.Match {
	return classifier.Match{
		Route: "code", Score: 0.60, Cleared: cleared, Margin: margin,
		Scores: []classifier.Score{
			{Route: "code", Score: 0.60, Threshold: 0.5},
			{Route: "math", Score: 0.60 - margin, Threshold: 0.5},
			{Route: "chat", Score: 0.10, Threshold: 0.5},
		},
	}
}

func judgedRouter(t *testing.T, m classifier.Match, j router.Judge, when router.JudgeWhen) *router.Router {
	t.Helper()
	r, err := router.New(&stubClassifier{match: m}, router.Options{
		Routes: []router.Route{
			{Name: "chat", Chain: chatChain},
			{Name: "code", Chain: codeChain, Condition: "programming", Tasks: []string{"coding", "debugging"}},
			{Name: "math", Chain: judgeMathChain, Condition: "equations"},
		},
		DefaultRoute: "chat",
		Judge:        j,
		JudgeWhen:    when,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJudge(t *testing.T) {
	when := router.JudgeWhen{BelowThreshold: true, Margin: 0.03}
	timeout := errors.New("judge: no answer within 1.5s: context deadline exceeded")
	tests := []struct {
		name      string
		match     classifier.Match
		when      router.JudgeWhen
		verdict   judge.Verdict
		err       error
		wantCall  bool
		wantRoute string
		wantBy    string
		wantChain *providers.Chain
	}{
		{"confident: not asked", threeRoutes(true, 0.2), when, judge.Verdict{Route: "math"}, nil, false, "code", router.ByEmbedding, codeChain},
		{"below threshold: answer used", threeRoutes(false, 0.2), when, judge.Verdict{Route: "math", Answer: "math"}, nil, true, "math", router.ByJudge, judgeMathChain},
		{"small margin: answer used", threeRoutes(true, 0.01), when, judge.Verdict{Route: "math", Answer: "math"}, nil, true, "math", router.ByJudge, judgeMathChain},
		{"none: default route", threeRoutes(false, 0.2), when, judge.Verdict{Answer: "none"}, nil, true, "chat", router.ByJudge, chatChain},
		{"below threshold, rule off", threeRoutes(false, 0.2), router.JudgeWhen{Margin: 0.03}, judge.Verdict{Route: "math"}, nil, false, "chat", router.ByDefault, chatChain},
		{"margin rule off", threeRoutes(true, 0.01), router.JudgeWhen{BelowThreshold: true}, judge.Verdict{Route: "math"}, nil, false, "code", router.ByEmbedding, codeChain},
		{"error: embedding decision (cleared)", threeRoutes(true, 0.01), when, judge.Verdict{}, timeout, true, "code", router.ByEmbedding, codeChain},
		{"error: embedding decision (default)", threeRoutes(false, 0.2), when, judge.Verdict{Answer: "cooking"}, judge.ErrInvalidAnswer, true, "chat", router.ByDefault, chatChain},
		{"not a candidate: embedding decision", threeRoutes(true, 0.01), router.JudgeWhen{Margin: 0.03, Candidates: 2}, judge.Verdict{Route: "chat"}, nil, true, "code", router.ByEmbedding, codeChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &stubJudge{verdict: tt.verdict, err: tt.err}
			r := judgedRouter(t, tt.match, j, tt.when)
			d, err := r.Decide(t.Context(), request("auto"))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if called := len(j.calls) > 0; called != tt.wantCall {
				t.Fatalf("judge called = %v, want %v", called, tt.wantCall)
			}
			if d.Route != tt.wantRoute || d.DecidedBy != tt.wantBy || d.Chain != tt.wantChain {
				t.Errorf("decision = %s by %s, want %s by %s (fallback %q)", d.Route, d.DecidedBy, tt.wantRoute, tt.wantBy, d.Fallback)
			}
			if !tt.wantCall {
				if d.Judge != nil {
					t.Errorf("Judge = %+v, want nil", d.Judge)
				}
				return
			}
			if d.Judge == nil {
				t.Fatal("Judge = nil")
			}
			if used := tt.wantBy == router.ByJudge; d.Judge.Used != used || (d.Judge.Error == "") != (tt.err == nil && tt.wantBy == router.ByJudge) {
				t.Errorf("Judge = %+v", d.Judge)
			}
			if tt.err != nil && tt.wantBy == router.ByDefault && !strings.Contains(d.Fallback, "judge failed") {
				t.Errorf("Fallback = %q, want the judge's failure", d.Fallback)
			}
		})
	}
}

func TestJudgeCandidates(t *testing.T) {
	j := &stubJudge{verdict: judge.Verdict{Route: "code"}}
	r := judgedRouter(t, threeRoutes(false, 0.2), j, router.JudgeWhen{BelowThreshold: true, Candidates: 2})
	d, err := r.Decide(t.Context(), request("auto"))
	if err != nil {
		t.Fatal(err)
	}
	want := []judge.Candidate{{Name: "code", Condition: "programming", Tasks: []string{"coding", "debugging"}}, {Name: "math", Condition: "equations"}}
	if len(j.calls) != 1 || !reflect.DeepEqual(j.calls[0], want) {
		t.Errorf("candidates = %v, want %v", j.calls, want)
	}
	if !slices.Equal(d.Judge.Candidates, []string{"code", "math"}) || d.Score != 0.60 {
		t.Errorf("Judge = %+v, score %v", d.Judge, d.Score)
	}
}

// An explicit model never reaches the judge.
func TestJudgeNotAskedForExplicit(t *testing.T) {
	j := &stubJudge{verdict: judge.Verdict{Route: "math"}}
	r := judgedRouter(t, threeRoutes(false, 0.2), j, router.JudgeWhen{BelowThreshold: true})
	if d, err := r.Decide(t.Context(), request("code")); err != nil || d.DecidedBy != router.ByExplicit || len(j.calls) != 0 {
		t.Errorf("%+v, %v, %d calls", d, err, len(j.calls))
	}
}

// The client's cancellation during the judge call is the request's error,
// not a fallback.
func TestJudgeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	j := &stubJudge{err: context.Canceled}
	r := judgedRouter(t, threeRoutes(false, 0.2), j, router.JudgeWhen{BelowThreshold: true})
	if _, err := r.Decide(ctx, request("auto")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want Canceled", err)
	}
}

// Through a real judge and a fake upstream: a slow upstream costs the
// timeout, no more, and the embedding decision stands; a cached verdict
// makes no call.
func TestJudgeUpstream(t *testing.T) {
	const timeout = 150 * time.Millisecond
	tests := []struct {
		name      string
		script    providertest.Script
		wantRoute string
		wantBy    string
	}{
		{"valid", providertest.Script{ToolCall: &providertest.ToolCall{Name: judge.Tool, Arguments: `{"route":"math"}`}}, "math", router.ByJudge},
		{"unknown route", providertest.Script{ToolCall: &providertest.ToolCall{Name: judge.Tool, Arguments: `{"route":"cooking"}`}}, "code", router.ByEmbedding},
		{"malformed", providertest.Script{Malformed: true}, "code", router.ByEmbedding},
		{"500", providertest.Script{Status: 500}, "code", router.ByEmbedding},
		{"timeout", providertest.Script{Delay: 3 * time.Second}, "code", router.ByEmbedding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.OpenAI(t, tt.script)
			j := judge.New(openai.New("judge", up.URL, "", up.Client()), "small", judge.Options{Timeout: timeout})
			r := judgedRouter(t, threeRoutes(true, 0.01), j, router.JudgeWhen{Margin: 0.03})
			start := time.Now()
			d, err := r.Decide(t.Context(), request("auto"))
			if took := time.Since(start); took > timeout+250*time.Millisecond {
				t.Errorf("Decide took %v with a judge timeout of %v", took, timeout)
			}
			if err != nil || d.Route != tt.wantRoute || d.DecidedBy != tt.wantBy {
				t.Fatalf("decision %s by %s, %v; want %s by %s (judge %+v)", d.Route, d.DecidedBy, err, tt.wantRoute, tt.wantBy, d.Judge)
			}
			if up.Requests() != 1 {
				t.Errorf("upstream requests = %d, want 1", up.Requests())
			}
			if tt.wantBy != router.ByJudge {
				return
			}
			d, err = r.Decide(t.Context(), request("auto"))
			if err != nil || d.Route != tt.wantRoute || !d.Judge.Cached {
				t.Errorf("second decision %s by %s, %v (judge %+v)", d.Route, d.DecidedBy, err, d.Judge)
			}
			if up.Requests() != 1 {
				t.Errorf("a cache hit called upstream: %d requests", up.Requests())
			}
		})
	}
}

// With Always, the judge is asked about every classified request, even a
// confident one, and offered every scored route in config order whatever
// Candidates says; its verdict decides, and its failure leaves the
// embedding decision (margin rule included) standing.
func TestJudgeAlways(t *testing.T) {
	always := router.JudgeWhen{Always: true, Candidates: 1}
	tests := []struct {
		name      string
		match     classifier.Match
		verdict   judge.Verdict
		err       error
		wantRoute string
		wantBy    string
		wantChain *providers.Chain
	}{
		{"confident match: verdict used", threeRoutes(true, 0.2), judge.Verdict{Route: "math", Answer: "math"}, nil, "math", router.ByJudge, judgeMathChain},
		{"confident match: judge agrees", threeRoutes(true, 0.2), judge.Verdict{Route: "code", Answer: "code"}, nil, "code", router.ByJudge, codeChain},
		{"a route below its threshold", threeRoutes(false, 0.2), judge.Verdict{Route: "code", Answer: "code"}, nil, "code", router.ByJudge, codeChain},
		{"none: default route", threeRoutes(true, 0.2), judge.Verdict{Answer: "none"}, nil, "chat", router.ByJudge, chatChain},
		{"failure: cleared match stands", threeRoutes(true, 0.2), judge.Verdict{}, errors.New("judge: 500"), "code", router.ByEmbedding, codeChain},
		{"failure: below threshold takes the default", threeRoutes(false, 0.2), judge.Verdict{Answer: "cooking"}, judge.ErrInvalidAnswer, "chat", router.ByDefault, chatChain},
		{"not a route: embedding decision", threeRoutes(true, 0.2), judge.Verdict{Route: "cooking", Answer: "cooking"}, nil, "code", router.ByEmbedding, codeChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &stubJudge{verdict: tt.verdict, err: tt.err}
			r := judgedRouter(t, tt.match, j, always)
			d, err := r.Decide(t.Context(), request("auto"))
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if len(j.calls) != 1 {
				t.Fatalf("judge calls = %d, want 1", len(j.calls))
			}
			want := []judge.Candidate{
				{Name: "chat"},
				{Name: "code", Condition: "programming", Tasks: []string{"coding", "debugging"}},
				{Name: "math", Condition: "equations"},
			}
			if !reflect.DeepEqual(j.calls[0], want) {
				t.Errorf("candidates = %+v, want every route in config order %+v", j.calls[0], want)
			}
			if d.Route != tt.wantRoute || d.DecidedBy != tt.wantBy || d.Chain != tt.wantChain {
				t.Errorf("decision = %s by %s, want %s by %s (fallback %q, judge %+v)", d.Route, d.DecidedBy, tt.wantRoute, tt.wantBy, d.Fallback, d.Judge)
			}
			if d.Judge == nil || !slices.Equal(d.Judge.Candidates, []string{"chat", "code", "math"}) || !strings.Contains(d.Judge.Reason, "always") {
				t.Fatalf("Judge = %+v", d.Judge)
			}
			if used := tt.wantBy == router.ByJudge; d.Judge.Used != used || (d.Judge.Error != "") == used {
				t.Errorf("Judge used %v, error %q; want used %v", d.Judge.Used, d.Judge.Error, used)
			}
		})
	}
}

// Always asks only about classified requests: an explicit model, and a
// request with no text, never reach the judge.
func TestJudgeAlwaysNotAsked(t *testing.T) {
	j := &stubJudge{verdict: judge.Verdict{Route: "math"}}
	r := judgedRouter(t, threeRoutes(true, 0.2), j, router.JudgeWhen{Always: true})
	if d, err := r.Decide(t.Context(), request("code")); err != nil || d.DecidedBy != router.ByExplicit {
		t.Errorf("explicit: %+v, %v", d, err)
	}
	empty := request("auto", providers.Message{Role: "user", Parts: []providers.Part{{Type: "text", Text: " "}}})
	if d, err := r.Decide(t.Context(), empty); err != nil || d.DecidedBy != router.ByDefault {
		t.Errorf("no text: %+v, %v", d, err)
	}
	if len(j.calls) != 0 {
		t.Errorf("judge calls = %d, want 0", len(j.calls))
	}
}

// Through a real judge and a fake upstream: with Always, the prompt lists
// every route with its condition and task types (the tasks alone for a
// route with no condition), the enum offers them all and none, and the
// verdict decides a request the embedding was sure about. A 500 from the
// judge leaves that decision standing.
func TestJudgeAlwaysUpstream(t *testing.T) {
	up := providertest.OpenAI(t,
		providertest.Script{ToolCall: &providertest.ToolCall{Name: judge.Tool, Arguments: `{"route":"math"}`}},
		providertest.Script{Status: 500},
	)
	j := judge.New(openai.New("judge", up.URL, "", up.Client()), "small", judge.Options{CacheSize: -1})
	r, err := router.New(&stubClassifier{match: threeRoutes(true, 0.2)}, router.Options{
		Routes: []router.Route{
			{Name: "chat", Chain: chatChain, Tasks: []string{"casual_chat", "advice"}},
			{Name: "code", Chain: codeChain, Condition: "programming,\n code examples", Tasks: []string{"coding", "code_explanation"}},
			{Name: "math", Chain: judgeMathChain, Condition: "equations"},
		},
		DefaultRoute: "chat",
		Judge:        j,
		JudgeWhen:    router.JudgeWhen{Always: true, Candidates: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Decide(t.Context(), request("auto"))
	if err != nil || d.Route != "math" || d.DecidedBy != router.ByJudge {
		t.Fatalf("decision %s by %s, %v (judge %+v)", d.Route, d.DecidedBy, err, d.Judge)
	}
	var body struct {
		Messages []struct{ Content string } `json:"messages"`
		Tools    []struct {
			Function struct {
				Parameters struct {
					Properties struct {
						Route struct{ Enum []string } `json:"route"`
					} `json:"properties"`
				} `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(up.LastBody(), &body); err != nil || len(body.Messages) != 2 || len(body.Tools) != 1 {
		t.Fatalf("judge request %s: %v", up.LastBody(), err)
	}
	if enum := body.Tools[0].Function.Parameters.Properties.Route.Enum; !slices.Equal(enum, []string{"chat", "code", "math", "none"}) {
		t.Errorf("enum = %v, want every route and none", enum)
	}
	prompt := body.Messages[1].Content
	for _, want := range []string{
		"- chat: casual chat, advice\n",
		"- code: programming, code examples (typical requests: coding, code explanation)\n",
		"- math: equations\n",
		"- none:",
		"write a quicksort in go",
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	d, err = r.Decide(t.Context(), request("auto"))
	if err != nil || d.Route != "code" || d.DecidedBy != router.ByEmbedding || d.Judge == nil || d.Judge.Error == "" {
		t.Errorf("after a judge 500: %s by %s, %v (judge %+v)", d.Route, d.DecidedBy, err, d.Judge)
	}
	if up.Requests() != 2 {
		t.Errorf("judge requests = %d, want 2", up.Requests())
	}
}

// A scored name that is no route (the index's own "none of them") is never
// offered to the judge: "none" already stands for it.
func TestJudgeSkipsScoredNamesThatAreNoRoutes(t *testing.T) {
	m := threeRoutes(false, 0.2)
	m.Scores = append([]classifier.Score{m.Scores[0], {Route: "(none)", Score: 0.59, Threshold: 1e6}}, m.Scores[1:]...)
	j := &stubJudge{verdict: judge.Verdict{Route: "math"}}
	r := judgedRouter(t, m, j, router.JudgeWhen{BelowThreshold: true, Candidates: 2})
	d, err := r.Decide(t.Context(), request("auto"))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.calls) != 1 || len(j.calls[0]) != 2 || j.calls[0][0].Name != "code" || j.calls[0][1].Name != "math" {
		t.Fatalf("offered %v, want code and math", j.calls)
	}
	if d.Route != "math" || d.DecidedBy != router.ByJudge {
		t.Errorf("decision %s by %s", d.Route, d.DecidedBy)
	}
}

// A best-scoring name that is no route (the index's none route) takes the
// default route, and the decision says why in those words.
func TestTopNameThatIsNoRouteFallsBack(t *testing.T) {
	m := classifier.Match{Route: "(none)", Score: 0.7, Margin: 0.3, Scores: []classifier.Score{
		{Route: "(none)", Score: 0.7, Threshold: 1e6}, {Route: "code", Score: 0.4, Threshold: 0.5},
	}}
	r := judgedRouter(t, m, nil, router.JudgeWhen{})
	d, err := r.Decide(t.Context(), request("auto"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Route != "chat" || d.DecidedBy != router.ByDefault || !strings.Contains(d.Fallback, "none of the routes") {
		t.Errorf("decision %s by %s: %q", d.Route, d.DecidedBy, d.Fallback)
	}
}
