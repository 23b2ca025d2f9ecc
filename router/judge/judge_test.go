package judge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/router/judge"
)

var candidates = []judge.Candidate{
	{Name: "code", Condition: "programming, debugging"},
	{Name: "math", Condition: "equations, proofs"},
}

func call(route string) *providertest.ToolCall {
	return &providertest.ToolCall{Name: judge.Tool, Arguments: `{"route":"` + route + `"}`}
}

func newJudge(t *testing.T, opts judge.Options, scripts ...providertest.Script) (*judge.Judge, *providertest.Upstream) {
	t.Helper()
	up := providertest.OpenAI(t, scripts...)
	return judge.New(openai.New("fake", up.URL, "k", up.Client()), "judge-model", opts), up
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name      string
		script    providertest.Script
		wantRoute string
		wantErr   error // nil = success
	}{
		{"tool call", providertest.Script{ToolCall: call("math")}, "math", nil},
		{"tool call none", providertest.Script{ToolCall: call("none")}, "", nil},
		{"tool call case", providertest.Script{ToolCall: call("Code")}, "code", nil},
		{"json in text", providertest.Script{Text: "Sure! ```json\n{\"route\": \"math\"}\n```"}, "math", nil},
		{"bare name", providertest.Script{Text: " \"code\".\n"}, "code", nil},
		{"name in prose", providertest.Script{Text: "This belongs to the math route."}, "math", nil},
		{"unknown route", providertest.Script{ToolCall: call("cooking")}, "", judge.ErrInvalidAnswer},
		{"ambiguous prose", providertest.Script{Text: "either code or math"}, "", judge.ErrInvalidAnswer},
		{"garbage", providertest.Script{Text: "I cannot help with that"}, "", judge.ErrInvalidAnswer},
		{"malformed body", providertest.Script{Malformed: true}, "", errAny},
		{"500", providertest.Script{Status: 500}, "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, up := newJudge(t, judge.Options{}, tt.script)
			v, err := j.Choose(t.Context(), "some text", candidates)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Choose: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Choose error = %v, want %v", err, tt.wantErr)
			}
			if v.Route != tt.wantRoute {
				t.Errorf("Route = %q, want %q", v.Route, tt.wantRoute)
			}
			if up.Requests() != 1 {
				t.Errorf("upstream requests = %d, want 1 (a judge call is never retried)", up.Requests())
			}
			if st := j.Stats(); st.Calls != 1 || (err != nil) != (st.Errors == 1) {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

var errAny = errors.New("any error")

// The request offers the candidates and none as an enum, forces the tool
// and keeps the answer short and deterministic.
func TestRequestShape(t *testing.T) {
	j, up := newJudge(t, judge.Options{MaxTokens: 16}, providertest.Script{ToolCall: call("code")})
	if _, err := j.Choose(t.Context(), "fix my segfault", candidates); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Model       string  `json:"model"`
		MaxTokens   int     `json:"max_tokens"`
		Temperature float64 `json:"temperature"`
		Messages    []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		Tools []struct {
			Function struct {
				Name       string `json:"name"`
				Parameters struct {
					Properties struct {
						Route struct {
							Enum []string `json:"enum"`
						} `json:"route"`
					} `json:"properties"`
				} `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
		ToolChoice struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_choice"`
	}
	if err := json.Unmarshal(up.LastBody(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "judge-model" || body.MaxTokens != 16 || body.Temperature != 0 {
		t.Errorf("model %q, max_tokens %d, temperature %v", body.Model, body.MaxTokens, body.Temperature)
	}
	if len(body.Tools) != 1 || body.ToolChoice.Function.Name != judge.Tool {
		t.Fatalf("tools %+v, tool_choice %+v", body.Tools, body.ToolChoice)
	}
	if got := body.Tools[0].Function.Parameters.Properties.Route.Enum; len(got) != 3 || got[0] != "code" || got[1] != "math" || got[2] != "none" {
		t.Errorf("enum = %v, want [code math none]", got)
	}
	user := body.Messages[len(body.Messages)-1].Content
	for _, want := range []string{"- code: programming, debugging", "- math: equations, proofs", "- none:", "fix my segfault"} {
		if !contains(user, want) {
			t.Errorf("prompt lacks %q:\n%s", want, user)
		}
	}
}

// Each candidate's line shows its condition on one line and its task
// types as typical requests, underscores as spaces, at most 6 of them;
// tasks alone describe a route with no condition.
func TestPromptDescribesCandidates(t *testing.T) {
	many := []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}
	tests := []struct {
		name string
		c    judge.Candidate
		want string // the candidate's whole line
	}{
		{"condition only", judge.Candidate{Name: "math", Condition: "equations,\n\tproofs"}, "- math: equations, proofs\n"},
		{"condition and tasks", judge.Candidate{Name: "code", Condition: "programming, code examples, debugging", Tasks: []string{"coding", "debugging", "code_explanation"}},
			"- code: programming, code examples, debugging (typical requests: coding, debugging, code explanation)\n"},
		{"tasks only", judge.Candidate{Name: "chat", Tasks: []string{"casual_chat", "", "advice"}}, "- chat: casual chat, advice\n"},
		{"neither", judge.Candidate{Name: "misc"}, "- misc: (no description)\n"},
		{"tasks capped", judge.Candidate{Name: "all", Condition: "c", Tasks: many}, "- all: c (typical requests: t1, t2, t3, t4, t5, t6)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, up := newJudge(t, judge.Options{}, providertest.Script{ToolCall: call(judge.None)})
			if _, err := j.Choose(t.Context(), "hello", []judge.Candidate{tt.c}); err != nil {
				t.Fatal(err)
			}
			var body struct {
				Messages []struct{ Content string } `json:"messages"`
			}
			if err := json.Unmarshal(up.LastBody(), &body); err != nil || len(body.Messages) != 2 {
				t.Fatalf("body %s: %v", up.LastBody(), err)
			}
			if !contains(body.Messages[1].Content, "Routes:\n"+tt.want+"- none:") {
				t.Errorf("prompt lacks %q:\n%s", tt.want, body.Messages[1].Content)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	j, up := newJudge(t, judge.Options{Timeout: timeout}, providertest.Script{Delay: 2 * time.Second, ToolCall: call("code")})
	start := time.Now()
	_, err := j.Choose(t.Context(), "text", candidates)
	if took := time.Since(start); took > timeout+200*time.Millisecond {
		t.Errorf("Choose took %v, want about %v", took, timeout)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if up.Requests() != 1 {
		t.Errorf("requests = %d", up.Requests())
	}
}

func TestCache(t *testing.T) {
	j, up := newJudge(t, judge.Options{}, providertest.Script{ToolCall: call("math")})
	ctx := t.Context()
	if v, err := j.Choose(ctx, "integrate x", candidates); err != nil || v.Cached || v.Route != "math" {
		t.Fatalf("first: %+v, %v", v, err)
	}
	v, err := j.Choose(ctx, "integrate x", candidates)
	if err != nil || !v.Cached || v.Route != "math" {
		t.Fatalf("second: %+v, %v", v, err)
	}
	if up.Requests() != 1 {
		t.Errorf("a cache hit called upstream: %d requests", up.Requests())
	}
	// Another text, or the same text with another candidate set, asks again.
	j.Choose(ctx, "integrate y", candidates)
	j.Choose(ctx, "integrate x", candidates[:1])
	j.Choose(ctx, "integrate x", []judge.Candidate{{Name: "code", Condition: "other"}, candidates[1]})
	// Tasks are part of the prompt, so of the key too.
	j.Choose(ctx, "integrate x", []judge.Candidate{{Name: "code", Condition: "programming, debugging", Tasks: []string{"coding"}}, candidates[1]})
	if up.Requests() != 5 {
		t.Errorf("requests = %d, want 5", up.Requests())
	}
	if st := j.Stats(); st.Calls != 5 || st.CacheHits != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// Failures are not cached: the next request asks again.
func TestErrorsAreNotCached(t *testing.T) {
	j, up := newJudge(t, judge.Options{}, providertest.Script{Status: 500}, providertest.Script{ToolCall: call("code")})
	if _, err := j.Choose(t.Context(), "t", candidates); err == nil {
		t.Fatal("want an error")
	}
	if v, err := j.Choose(t.Context(), "t", candidates); err != nil || v.Cached || v.Route != "code" {
		t.Fatalf("%+v, %v", v, err)
	}
	if up.Requests() != 2 {
		t.Errorf("requests = %d", up.Requests())
	}
}

func TestNoCache(t *testing.T) {
	j, up := newJudge(t, judge.Options{CacheSize: -1}, providertest.Script{ToolCall: call("code")})
	j.Choose(t.Context(), "t", candidates)
	j.Choose(t.Context(), "t", candidates)
	if up.Requests() != 2 {
		t.Errorf("requests = %d, want 2", up.Requests())
	}
}

// The same request shape works with an Anthropic upstream: the adapter
// translates the forced tool, and the answer's tool_use comes back as a
// tool call.
func TestAnthropic(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{ToolCall: call("math")})
	j := judge.New(anthropic.New("fake", up.URL, "k", up.Client()), "claude-haiku", judge.Options{})
	v, err := j.Choose(t.Context(), "prove it", candidates)
	if err != nil || v.Route != "math" {
		t.Fatalf("%+v, %v", v, err)
	}
	var body struct {
		Tools      []struct{ Name string }     `json:"tools"`
		ToolChoice struct{ Type, Name string } `json:"tool_choice"`
	}
	json.Unmarshal(up.LastBody(), &body)
	if len(body.Tools) != 1 || body.ToolChoice.Name != judge.Tool {
		t.Errorf("anthropic body: %s", up.LastBody())
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		msg     providers.Message
		want    string
		wantErr bool
	}{
		{"object arguments", providers.Message{ToolCalls: json.RawMessage(`[{"function":{"name":"choose_route","arguments":{"route":"math"}}}]`)}, "math", false},
		{"string arguments", providers.Message{ToolCalls: json.RawMessage(`[{"function":{"name":"choose_route","arguments":"{\"route\":\"NONE\"}"}}]`)}, "none", false},
		{"broken arguments then text", providers.Message{ToolCalls: json.RawMessage(`[{"function":{"arguments":"{\"rou"}}]`), Parts: text("code")}, "code", false},
		{"json with a wrong route", providers.Message{Parts: text(`{"route":"bogus"}`)}, "bogus", true},
		{"second json object", providers.Message{Parts: text(`{"x":1} then {"route":"code"}`)}, "code", false},
		{"empty", providers.Message{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := judge.Parse(tt.msg, candidates)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Parse = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func text(s string) []providers.Part { return []providers.Part{{Type: "text", Text: s}} }

func FuzzParse(f *testing.F) {
	f.Add(`{"route":"code"}`, `[{"function":{"arguments":"{}"}}]`)
	f.Add("math.", "")
	f.Fuzz(func(t *testing.T, text, calls string) {
		msg := providers.Message{Parts: []providers.Part{{Type: "text", Text: text}}}
		if json.Valid([]byte(calls)) {
			msg.ToolCalls = json.RawMessage(calls)
		}
		got, err := judge.Parse(msg, candidates)
		if err == nil && got != "code" && got != "math" && got != judge.None {
			t.Fatalf("Parse accepted %q", got)
		}
	})
}
