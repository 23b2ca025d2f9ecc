package openai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

func TestCompletionRoundTrip(t *testing.T) {
	tests := []providers.Response{
		{
			ID: "chatcmpl-1", Model: "llama3", Created: 1700000000, FinishReason: "stop",
			Message: providers.Message{Role: "assistant", Parts: []providers.Part{{Type: "text", Text: "Hello \"there\"\n"}}},
			Usage:   providers.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5},
		},
		{
			ID: "chatcmpl-2", Model: "m", FinishReason: "tool_calls",
			Message: providers.Message{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]`)},
		},
	}
	for _, resp := range tests {
		b := Completion(&resp)
		got, err := parseCompletion(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if string(got.Raw) != string(b) {
			t.Errorf("Raw = %s, want the body", got.Raw)
		}
		got.Raw = nil
		if !reflect.DeepEqual(*got, resp) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, *got, resp)
		}
	}
	// Raw is forwarded as is.
	raw := json.RawMessage(`{"id":"x","choices":[],"system_fingerprint":"fp"}`)
	if got := Completion(&providers.Response{Raw: raw, ID: "other"}); string(got) != string(raw) {
		t.Errorf("Completion with Raw = %s", got)
	}
}

func TestCompletionShape(t *testing.T) {
	got := string(Completion(&providers.Response{ID: "c", Model: "m", Created: 1,
		Message: providers.Message{Parts: []providers.Part{{Type: "text", Text: "hi"}}}, FinishReason: "stop"}))
	want := `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStreamChunkRoundTrip(t *testing.T) {
	tests := []struct {
		chunk providers.Chunk
		want  string
	}{
		{
			providers.Chunk{ID: "c", Model: "m", Created: 1, Role: "assistant", Text: "Hel"},
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
		},
		{
			providers.Chunk{ID: "c", Model: "m", Created: 1, Text: "lo"},
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`,
		},
		{
			providers.Chunk{ID: "c", Model: "m", Created: 1, FinishReason: "stop"},
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		},
		{
			providers.Chunk{ID: "c", Model: "m", Created: 1, ToolCalls: json.RawMessage(`[{"index":0,"id":"t","function":{"name":"f"}}]`)},
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f"}}]},"finish_reason":null}]}`,
		},
		{
			providers.Chunk{ID: "c", Model: "m", Created: 1, Usage: &providers.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
		},
	}
	for _, tt := range tests {
		b := StreamChunk(tt.chunk)
		if string(b) != tt.want {
			t.Errorf("StreamChunk(%+v)\n got %s\nwant %s", tt.chunk, b, tt.want)
		}
		got, err := parseChunk(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		got.Raw = nil
		if !reflect.DeepEqual(got, tt.chunk) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, got, tt.chunk)
		}
	}
	raw := json.RawMessage(`{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}`)
	if got := StreamChunk(providers.Chunk{Raw: raw, Text: "other"}); string(got) != string(raw) {
		t.Errorf("StreamChunk with Raw = %s", got)
	}
	// Broken tool calls from an adapter cost the tool calls, not a panic.
	if got := StreamChunk(providers.Chunk{Text: "a", ToolCalls: json.RawMessage(`[`)}); !json.Valid(got) || strings.Contains(string(got), "tool_calls") {
		t.Errorf("StreamChunk with broken tool calls = %s", got)
	}
}

func TestNewError(t *testing.T) {
	tests := []struct {
		status int
		typ    string
		want   string
		code   string // the JSON of "code"
	}{
		{400, "", "invalid_request_error", "null"},
		{404, "", "invalid_request_error", "null"},
		{413, "", "invalid_request_error", "null"},
		{401, "", "invalid_request_error", `"invalid_api_key"`},
		{403, "", "permission_error", "null"},
		{429, "", "rate_limit_error", `"rate_limit_exceeded"`},
		{500, "", "server_error", "null"},
		{502, "", "api_error", "null"},
		{503, "", "api_error", "null"},
		{504, "", "api_error", "null"},
		{429, "tokens", "tokens", `"rate_limit_exceeded"`},
	}
	for _, tt := range tests {
		got := string(NewError(tt.status, `bad "thing"`, tt.typ))
		want := `{"error":{"message":"bad \"thing\"","type":"` + tt.want + `","param":null,"code":` + tt.code + `}}`
		if got != want {
			t.Errorf("NewError(%d, %q)\n got %s\nwant %s", tt.status, tt.typ, got, want)
		}
	}
	got := string(NewErrorCode(404, "no such model", "", "model_not_found"))
	if want := `{"error":{"message":"no such model","type":"invalid_request_error","param":null,"code":"model_not_found"}}`; got != want {
		t.Errorf("NewErrorCode\n got %s\nwant %s", got, want)
	}
}

// A request from another dialect, with no Fields, is encoded from its
// messages, and decodes back to them.
func TestRequestBodyFromMessages(t *testing.T) {
	msgs := []providers.Message{
		{Role: "system", Parts: []providers.Part{{Type: "text", Text: "Be brief."}}},
		{Role: "user", Parts: []providers.Part{{Type: "text", Text: "What?"}, {Type: "image_url", URL: "http://x/y.png"}}},
		{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]`)},
		{Role: "tool", ToolCallID: "1", Name: "f", Parts: []providers.Part{{Type: "text", Text: "42"}}},
	}
	for _, stream := range []bool{false, true} {
		b, err := requestBody(&providers.Request{Model: "m", Messages: msgs}, stream, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseRequest(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if req.Model != "m" || req.Stream != stream || !reflect.DeepEqual(req.Messages, msgs) {
			t.Errorf("round trip of %s:\n got %q %v %+v\nwant %+v", b, req.Model, req.Stream, req.Messages, msgs)
		}
	}
}

func TestRequestBodyFields(t *testing.T) {
	in, err := ParseRequest(strings.NewReader(`{"model":"auto","stream":true,"stream_options":{"include_usage":true},"temperature":0.25,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := in.WithModel("gpt-4o")
	complete, _ := requestBody(r, false, nil)
	if want := `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","temperature":0.25}`; string(complete) != want {
		t.Errorf("Complete body\n got %s\nwant %s", complete, want)
	}
	stream, _ := requestBody(r, true, nil)
	if want := `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"temperature":0.25}`; string(stream) != want {
		t.Errorf("Stream body\n got %s\nwant %s", stream, want)
	}
	if string(in.Fields["model"]) != `"auto"` || len(in.Fields) != 5 {
		t.Errorf("inbound fields changed: %s", in.Fields)
	}
}
