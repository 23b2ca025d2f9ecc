package ollama

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

func text(s string) []providers.Part { return []providers.Part{{Type: "text", Text: s}} }

// fields builds Request.Fields from a JSON object.
func fields(t testing.TB, obj string) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &f); err != nil {
		t.Fatalf("fields %s: %v", obj, err)
	}
	return f
}

// jsonEqual reports whether a and b encode the same JSON value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestChatRequest(t *testing.T) {
	user := []providers.Message{{Role: "user", Parts: text("hi")}}
	userJSON := `[{"role":"user","content":"hi"}]`
	tests := []struct {
		name     string
		messages []providers.Message
		fields   string // JSON object
		stream   bool
		want     string // the api.ChatRequest as JSON
	}{
		{
			name:     "minimal",
			messages: user,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null}`,
		},
		{
			name:     "stream flag",
			messages: user,
			fields:   `{"stream":false}`, // the method called decides, not the client's flag
			stream:   true,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":true,"options":null}`,
		},
		{
			name: "roles",
			messages: []providers.Message{
				{Role: "system", Parts: text("be brief")},
				{Role: "developer", Parts: text("no emoji")},
				{Role: "user", Parts: text("hi")},
				{Role: "assistant", Parts: []providers.Part{{Type: "text", Text: "hello"}, {Type: "refusal"}}},
			},
			want: `{"model":"m","stream":false,"options":null,"messages":[
				{"role":"system","content":"be brief"},
				{"role":"system","content":"no emoji"},
				{"role":"user","content":"hi"},
				{"role":"assistant","content":"hello"}]}`,
		},
		{
			name: "text parts joined, image decoded",
			messages: []providers.Message{{Role: "user", Parts: []providers.Part{
				{Type: "text", Text: "what is"},
				{Type: "image_url", URL: "data:image/png;base64,iVBORw0KGgo="},
				{Type: "text", Text: "this?"},
				{Type: "image_url", URL: "data:;base64,AAEC"},          // no media type
				{Type: "image_url", URL: "data:image/jpeg;base64,AAE"}, // padding stripped
			}}},
			want: `{"model":"m","stream":false,"options":null,"messages":[
				{"role":"user","content":"what is\nthis?","images":["iVBORw0KGgo=","AAEC","AAE="]}]}`,
		},
		{
			name: "tool calls and results",
			messages: []providers.Message{
				{Role: "user", Parts: text("weather in Paris and Rome?")},
				{Role: "assistant", ToolCalls: json.RawMessage(`[
					{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\",\"unit\":\"c\"}"}},
					{"id":"call_2","type":"function","function":{"name":"weather","arguments":{"city":"Rome"}}},
					{"id":"call_3","type":"function","function":{"name":"now","arguments":""}}]`)},
				{Role: "tool", ToolCallID: "call_1", Parts: text("18C")},
				{Role: "tool", ToolCallID: "call_2", Name: "weather_v2", Parts: text("25C")},
				{Role: "tool", ToolCallID: "call_9", Parts: text("?")},
			},
			want: `{"model":"m","stream":false,"options":null,"messages":[
				{"role":"user","content":"weather in Paris and Rome?"},
				{"role":"assistant","content":"","tool_calls":[
					{"id":"call_1","function":{"index":0,"name":"weather","arguments":{"city":"Paris","unit":"c"}}},
					{"id":"call_2","function":{"index":1,"name":"weather","arguments":{"city":"Rome"}}},
					{"id":"call_3","function":{"index":2,"name":"now","arguments":{}}}]},
				{"role":"tool","content":"18C","tool_name":"weather","tool_call_id":"call_1"},
				{"role":"tool","content":"25C","tool_name":"weather_v2","tool_call_id":"call_2"},
				{"role":"tool","content":"?","tool_call_id":"call_9"}]}`,
		},
		{
			name:     "options",
			messages: user,
			fields: `{"temperature":0.2,"top_p":0.9,"seed":42,"stop":["\n\n","END"],"max_tokens":10,
				"max_completion_tokens":100,"presence_penalty":0.5,"frequency_penalty":-0.5,
				"n":1,"user":"u1","logit_bias":{},"stream_options":{"include_usage":true}}`,
			want: `{"model":"m","messages":` + userJSON + `,"stream":false,"options":{
				"temperature":0.2,"top_p":0.9,"seed":42,"stop":["\n\n","END"],"num_predict":100,
				"presence_penalty":0.5,"frequency_penalty":-0.5}}`,
		},
		{
			name:     "stop string, max_tokens, nulls ignored",
			messages: user,
			fields:   `{"stop":"END","max_tokens":10,"temperature":null,"response_format":null,"tools":null}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":{"stop":["END"],"num_predict":10}}`,
		},
		{
			name:     "json_object",
			messages: user,
			fields:   `{"response_format":{"type":"json_object"}}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null,"format":"json"}`,
		},
		{
			name:     "json_schema",
			messages: user,
			fields:   `{"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null,"format":{"type":"object","properties":{"a":{"type":"integer"}}}}`,
		},
		{
			name:     "text format",
			messages: user,
			fields:   `{"response_format":{"type":"text"}}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null}`,
		},
		{
			name:     "tools",
			messages: user,
			fields: `{"tool_choice":"auto","parallel_tool_calls":true,"tools":[{"type":"function","function":{"name":"weather","description":"Weather now","strict":true,
				"parameters":{"type":"object","additionalProperties":false,"required":["city"],"properties":{
					"city":{"type":"string","description":"City name"},
					"unit":{"type":["string","null"],"enum":["c","f"]}}}}}]}`,
			want: `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null,"tools":[
				{"type":"function","function":{"name":"weather","description":"Weather now","parameters":{"type":"object","required":["city"],"properties":{
					"city":{"type":"string","description":"City name"},
					"unit":{"type":["string","null"],"enum":["c","f"]}}}}}]}`,
		},
		{
			name:     "tool_choice none withholds tools",
			messages: user,
			fields:   `{"tool_choice":"none","tools":[{"type":"function","function":{"name":"weather"}}]}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null}`,
		},
		{
			name:     "reasoning effort",
			messages: user,
			fields:   `{"reasoning_effort":"low"}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null,"think":"low"}`,
		},
		{
			name:     "reasoning off",
			messages: user,
			fields:   `{"reasoning_effort":"none"}`,
			want:     `{"model":"m","messages":` + userJSON + `,"stream":false,"options":null,"think":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &providers.Request{Model: "m", Messages: tt.messages}
			if tt.fields != "" {
				req.Fields = fields(t, tt.fields)
			}
			got, err := chatRequest(req, tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, b, []byte(tt.want)) {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestChatRequestErrors(t *testing.T) {
	user := []providers.Message{{Role: "user", Parts: text("hi")}}
	tests := []struct {
		name     string
		messages []providers.Message
		fields   string
		want     string // in the error text
	}{
		{"remote image", []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "https://example.com/cat.png"}}}}, "", "remote image URLs are not supported"},
		{"not a data URI", []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "cat.png"}}}}, "", "data: URI"},
		{"data URI not base64", []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "data:image/png,abc"}}}}, "", "base64"},
		{"bad base64", []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "data:image/png;base64,!!"}}}}, "", "messages[0]: content[0]"},
		{"audio part", []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "input_audio"}}}}, "", `unsupported content part type "input_audio"`},
		{"unknown role", []providers.Message{{Role: "narrator", Parts: text("x")}}, "", `unsupported role "narrator"`},
		{"arguments not an object", []providers.Message{{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]`)}}, "", "arguments must be a JSON object"},
		{"tool_calls not an array", []providers.Message{{Role: "assistant", ToolCalls: json.RawMessage(`{}`)}}, "", "tool_calls"},
		{"custom tool call", []providers.Message{{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"c","type":"custom"}]`)}}, "", `unsupported tool call type "custom"`},
		{"temperature type", user, `{"temperature":"hot"}`, `invalid "temperature"`},
		{"seed type", user, `{"seed":1.5}`, `invalid "seed"`},
		{"stop type", user, `{"stop":[1]}`, `"stop" must be`},
		{"response_format type", user, `{"response_format":{"type":"xml"}}`, `unsupported response_format type "xml"`},
		{"custom tool", user, `{"tools":[{"type":"custom","custom":{}}]}`, `unsupported tool type "custom"`},
		{"tool without name", user, `{"tools":[{"type":"function","function":{}}]}`, "function name is required"},
		{"reasoning effort", user, `{"reasoning_effort":"max"}`, `unsupported reasoning_effort "max"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &providers.Request{Model: "m", Messages: tt.messages}
			if tt.fields != "" {
				req.Fields = fields(t, tt.fields)
			}
			_, err := chatRequest(req, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzChatRequest feeds client-controlled bytes (the body's fields, an
// assistant's tool calls, an image URI) to the translation: it must return
// a request or an error, never panic, and what it returns must encode.
func FuzzChatRequest(f *testing.F) {
	f.Add(`{"temperature":0.2,"stop":"x","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`,
		`[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]`, "data:image/png;base64,AAEC")
	f.Add(`{"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}`, `null`, "https://x/y.png")
	f.Add(`{"stop":[],"max_tokens":-1,"reasoning_effort":"low"}`, `[{"function":{"arguments":{}}}]`, "data:,")
	f.Fuzz(func(t *testing.T, body, calls, uri string) {
		var fs map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fs) != nil {
			return
		}
		req := &providers.Request{Model: "m", Fields: fs, Messages: []providers.Message{
			{Role: "user", Parts: []providers.Part{{Type: "text", Text: "hi"}, {Type: "image_url", URL: uri}}},
			{Role: "assistant", ToolCalls: json.RawMessage(calls)},
			{Role: "tool", ToolCallID: "c", Parts: text("ok")},
		}}
		got, err := chatRequest(req, true)
		if err != nil {
			return
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("encode %+v: %v", got, err)
		}
	})
}
