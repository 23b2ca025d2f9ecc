package anthropic_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
)

func TestParseRequest(t *testing.T) {
	body := `{"model":"auto","max_tokens":64,"stream":true,"top_k":5,"system":"Be brief.","messages":[` +
		`{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lG"}}]},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"a": 1}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}]}`
	req, err := anthropic.ParseRequest(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if req.Model != "auto" || !req.Stream || req.Dialect != providers.DialectAnthropic || string(req.Fields["top_k"]) != "5" {
		t.Errorf("request = %+v", req)
	}
	want := []providers.Message{
		{Role: "system", Parts: []providers.Part{{Type: "text", Text: "Be brief."}}},
		{Role: "user", Parts: []providers.Part{{Type: "text", Text: "Hi"}, {Type: "image_url", URL: "data:image/gif;base64,R0lG"}}},
		{Role: "assistant", Parts: []providers.Part{}, ToolCalls: json.RawMessage(`[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]`)},
		{Role: "tool", ToolCallID: "toolu_1", Parts: []providers.Part{{Type: "text", Text: "ok"}}},
	}
	if got, _ := json.Marshal(req.Messages); string(got) != string(mustJSON(t, want)) {
		t.Errorf("messages\n got %s\nwant %s", got, mustJSON(t, want))
	}
	if _, ok := req.Translated["top_k"]; ok || string(req.Translated["stream_options"]) != `{"include_usage":true}` {
		t.Errorf("translated = %s", mustJSON(t, req.Translated))
	}
	if req.OpenAI()["messages"] == nil {
		t.Error("OpenAI() has no messages")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRequestInvalid(t *testing.T) {
	tests := []struct{ body, want string }{
		{``, "request body: empty"},
		{`[]`, "request body: must be a JSON object"},
		{`{"messages":[]`, "request body: invalid JSON"},
		{`{"messages":[{"role":"user","content":"x"}]} {}`, "request body: invalid JSON"},
		{`{}`, "messages: required"},
		{`{"messages":[]}`, "messages: must not be empty"},
		{`{"messages":{}}`, "messages: must be an array"},
		{`{"model":5,"messages":[{"role":"user","content":"x"}]}`, "model: must be a string"},
		{`{"stream":"yes","messages":[{"role":"user","content":"x"}]}`, "stream: must be a boolean"},
		{`{"max_tokens":"10","messages":[{"role":"user","content":"x"}]}`, "max_tokens: must be a number"},
		{`{"system":5,"messages":[{"role":"user","content":"x"}]}`, "system: must be a string or an array of text blocks"},
		{`{"system":[{"type":"image"}],"messages":[{"role":"user","content":"x"}]}`, `system[0].type: must be "text"`},
		{`{"messages":[1]}`, "messages[0]: must be an object"},
		{`{"messages":[{"content":"x"}]}`, "messages[0].role: required"},
		{`{"messages":[{"role":"system","content":"x"}]}`, `messages[0].role: must be "user" or "assistant"`},
		{`{"messages":[{"role":"user"}]}`, "messages[0].content: required"},
		{`{"messages":[{"role":"user","content":5}]}`, "messages[0].content: must be a string or an array of content blocks"},
		{`{"messages":[{"role":"user","content":"x"},{"role":"user","content":[{"text":"x"}]}]}`, "messages[1].content[0].type: required"},
		{`{"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text: required"},
		{`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source.type: must be"},
		{`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"x"}}]}]}`, "messages[0].content[0].source.media_type: required"},
		{`{"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"b","input":{}}]}]}`, "messages[0].content[0].type: tool_use blocks belong to assistant messages"},
		{`{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"b","input":[]}]}]}`, "messages[0].content[0].input: must be an object"},
		{`{"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"a"}]}]}`, "messages[0].content[0].type: tool_result blocks belong to user messages"},
		{`{"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages[0].content[0].tool_use_id: required"},
		{`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":1}]}]}]}`, "messages[0].content[0].content[0].text: must be a string"},
		{`{"stop_sequences":"x","messages":[{"role":"user","content":"x"}]}`, "stop_sequences: must be an array of strings"},
		{`{"metadata":{"user_id":1},"messages":[{"role":"user","content":"x"}]}`, "metadata.user_id: must be a string"},
		{`{"tools":[{"name":"f"}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].input_schema: required"},
		{`{"tools":{},"messages":[{"role":"user","content":"x"}]}`, "tools: must be an array"},
		{`{"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]}`, "tool_choice.type: must be"},
		{`{"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"x"}]}`, "tool_choice.name: required"},
	}
	for _, tt := range tests {
		_, err := anthropic.ParseRequest(strings.NewReader(tt.body))
		if !errors.Is(err, anthropic.ErrInvalidRequest) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q wrapping ErrInvalidRequest", tt.body, err, tt.want)
		}
	}
}

func TestParseRequestTooLarge(t *testing.T) {
	w := httptest.NewRecorder()
	r := http.MaxBytesReader(w, readCloser{strings.NewReader(`{"messages":[{"role":"user","content":"x"}]}`)}, 10)
	_, err := anthropic.ParseRequest(r)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || errors.Is(err, anthropic.ErrInvalidRequest) {
		t.Errorf("err = %v, want the reader's *http.MaxBytesError", err)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func FuzzParseRequest(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/anthropic/to_openai/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"x"}]}`, `{`, `[]`, `{"messages":[]}`,
		`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":null}]}]}`,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := anthropic.ParseRequest(bytes.NewReader(body))
		if err != nil {
			if !errors.Is(err, anthropic.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if len(req.Messages) == 0 || req.Fields["messages"] == nil || req.Translated["messages"] == nil {
			t.Fatalf("accepted a request without messages: %q", body)
		}
		for _, m := range req.Messages {
			if m.Role == "" {
				t.Fatalf("accepted a message without a role: %q", body)
			}
			if m.ToolCalls != nil && !json.Valid(m.ToolCalls) {
				t.Fatalf("invalid tool calls %s", m.ToolCalls)
			}
		}
		// What was accepted must encode for an upstream of either dialect.
		if _, err := json.Marshal(req.Fields); err != nil {
			t.Fatalf("fields do not re-encode: %v", err)
		}
		if _, err := json.Marshal(req.Translated); err != nil {
			t.Fatalf("translated fields do not encode: %v", err)
		}
	})
}

func TestUntranslated(t *testing.T) {
	req, err := anthropic.ParseRequest(strings.NewReader(`{"model":"auto","max_tokens":10,"top_k":5,"thinking":{"type":"enabled","budget_tokens":1024},
		"messages":[{"role":"user","content":"hi"}],"system":"be brief","service_tier":"auto"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := anthropic.Untranslated(req); !slices.Equal(got, []string{"service_tier", "thinking", "top_k"}) {
		t.Errorf("Untranslated = %q", got)
	}
	for _, k := range []string{"top_k", "thinking", "service_tier"} {
		if _, ok := req.Translated[k]; ok {
			t.Errorf("%s reached the OpenAI form", k)
		}
	}
	if anthropic.Untranslated(&providers.Request{Fields: req.Fields}) != nil {
		t.Error("an OpenAI request has untranslated fields")
	}
}
