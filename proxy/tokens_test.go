package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// The expected counts are cl100k_base's, checked against OpenAI's Python
// tiktoken 0.14 (whose check of the ranks file's SHA-256 passed on the
// copy tiktoken-go-loader embeds):
//
//	"Hello, world!"                        4
//	"You are a helpful assistant."         6
//	"What is the weather in Paris?"        7
//	"get_weather"                          2
//	"Get the current weather for a city"   7
//	`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`  18
//	`{"city":"Paris"}`                     5
//	"Sunny, 22°C"                          6
//	"<|endoftext|>" as plain text          7
//
// plus 3 per message, 3 per tool and 3 for the reply.
func TestCountTokens(t *testing.T) {
	const schema = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`
	const conversation = `"system":"You are a helpful assistant.","messages":[
		{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Sunny, 22°C"}]}]`
	tests := []struct {
		name string
		body string
		want int
	}{
		{"one message", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, world!"}]}`, 3 + 3 + 4},
		{"text blocks", `{"messages":[{"role":"user","content":[{"type":"text","text":"Hello, world!"}]}]}`, 3 + 3 + 4},
		{"special tokens are text", `{"messages":[{"role":"user","content":"<|endoftext|>"}]}`, 3 + 3 + 7},
		{"system, tool use and result, tools", `{"model":"auto",` + conversation + `,
			"tools":[{"name":"get_weather","description":"Get the current weather for a city","input_schema":` + schema + `}]}`,
			3 + (3 + 6) + (3 + 7) + (3 + 2 + 5) + (3 + 6) + (3 + 2 + 7 + 18)},
		{"pretty-printed schema counts as compact", `{"model":"auto",` + conversation + `,
			"tools":[{"name":"get_weather","description":"Get the current weather for a city","input_schema":{
				"type": "object",
				"properties": {"city": {"type": "string"}},
				"required": ["city"]
			}}]}`,
			3 + (3 + 6) + (3 + 7) + (3 + 2 + 5) + (3 + 6) + (3 + 2 + 7 + 18)},
	}
	up := providertest.OpenAI(t)
	stub := &stubRouter{dec: routed(target("up", up))}
	ts, _ := serve(t, &proxy.Runtime{Router: stub})
	for _, tt := range tests {
		for _, path := range []string{"/v1/messages/count_tokens", "/anthropic/v1/messages/count_tokens"} {
			t.Run(tt.name+path, func(t *testing.T) {
				res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, tt.body,
					"x-api-key", "anything", "anthropic-version", "2023-06-01")

				if res.status != http.StatusOK {
					t.Fatalf("status = %d, body %s", res.status, res.body)
				}
				if got := res.header.Get(proxy.HeaderTokenEstimate); got != "cl100k_base" {
					t.Errorf("%s = %q, want cl100k_base", proxy.HeaderTokenEstimate, got)
				}
				if ct := res.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var got map[string]int
				if err := json.Unmarshal(res.body, &got); err != nil || len(got) != 1 {
					t.Fatalf("body %s, want {\"input_tokens\": N} (%v)", res.body, err)
				}
				if got["input_tokens"] != tt.want {
					t.Errorf("input_tokens = %d, want %d", got["input_tokens"], tt.want)
				}
			})
		}
	}
	if n := stub.calls.Load(); n != 0 {
		t.Errorf("router called %d times: counting tokens routes nothing", n)
	}
	if n := up.Requests(); n != 0 {
		t.Errorf("upstream called %d times: counting tokens calls no upstream", n)
	}
}

// TestCountTokensGrows: more text, more tokens, and a long text costs
// about what its size says (cl100k_base averages 3–5 bytes a token on
// English).
func TestCountTokensGrows(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	count := func(text string) int {
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": text}}})
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/count_tokens", string(body))
		var got struct {
			InputTokens int `json:"input_tokens"`
		}
		if res.status != http.StatusOK || json.Unmarshal(res.body, &got) != nil {
			t.Fatalf("status %d, body %s", res.status, res.body)
		}
		return got.InputTokens
	}
	sentence := "The quick brown fox jumps over the lazy dog. "
	one, ten := count(sentence), count(strings.Repeat(sentence, 10))
	if one <= 6 || ten <= one {
		t.Errorf("counts %d for one sentence, %d for ten: want growth", one, ten)
	}
	if n := len(strings.Repeat(sentence, 10)); ten < n/5 || ten > n/3 {
		t.Errorf("%d tokens for %d bytes of English, want between a fifth and a third", ten, n)
	}
}

func TestCountTokensBadRequest(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	for body, field := range map[string]string{
		`{"model":"auto"}`: "messages",
		`{"messages":[{"role":"robot","content":"hi"}]}`: "messages[0].role",
		`{"messages":`: "invalid JSON",
	} {
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/count_tokens", body)
		e := wantAnthropicError(t, res, http.StatusBadRequest)
		if e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, field) {
			t.Errorf("%s: error = %+v, want invalid_request_error naming %s", body, e.Error, field)
		}
	}
}
