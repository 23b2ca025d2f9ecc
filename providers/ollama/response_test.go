package ollama

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers"
)

var (
	created = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now     = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
)

// testDecoder numbers the tool call IDs it makes up.
func testDecoder() *decoder {
	n := 0
	return &decoder{id: "chatcmpl-1", now: now, newID: func() string {
		n++
		return fmt.Sprintf("call_gen%d", n)
	}}
}

func call(id, name, args string) api.ToolCall {
	a := api.NewToolCallFunctionArguments()
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		panic(err)
	}
	return api.ToolCall{ID: id, Function: api.ToolCallFunction{Name: name, Arguments: a}}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name string
		in   api.ChatResponse
		want providers.Response
	}{
		{
			name: "text",
			in: api.ChatResponse{Model: "llama3.2", CreatedAt: created, Done: true, DoneReason: "stop",
				Message: api.Message{Role: "assistant", Content: "Hello", Thinking: "hmm"},
				Metrics: api.Metrics{PromptEvalCount: 10, EvalCount: 2}},
			want: providers.Response{ID: "chatcmpl-1", Model: "llama3.2", Created: created.Unix(),
				Message:      providers.Message{Role: "assistant", Parts: text("Hello")},
				FinishReason: "stop", Usage: providers.Usage{PromptTokens: 10, CompletionTokens: 2, TotalTokens: 12}},
		},
		{
			name: "length, no created_at",
			in:   api.ChatResponse{Model: "m", Done: true, DoneReason: "length", Message: api.Message{Content: "Hel"}},
			want: providers.Response{ID: "chatcmpl-1", Model: "m", Created: now.Unix(),
				Message: providers.Message{Role: "assistant", Parts: text("Hel")}, FinishReason: "length"},
		},
		{
			name: "empty text",
			in:   api.ChatResponse{Model: "m", CreatedAt: created, Done: true, DoneReason: "load"},
			want: providers.Response{ID: "chatcmpl-1", Model: "m", Created: created.Unix(),
				Message: providers.Message{Role: "assistant", Parts: text("")}, FinishReason: "stop"},
		},
		{
			name: "tool calls",
			in: api.ChatResponse{Model: "m", CreatedAt: created, Done: true, DoneReason: "stop",
				Message: api.Message{Role: "assistant", ToolCalls: []api.ToolCall{
					call("call_a", "weather", `{"city":"Paris","days":2}`),
					call("", "now", `{}`),
				}}},
			want: providers.Response{ID: "chatcmpl-1", Model: "m", Created: created.Unix(),
				Message: providers.Message{Role: "assistant", ToolCalls: json.RawMessage(`[` +
					`{"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}},` +
					`{"id":"call_gen1","type":"function","function":{"name":"now","arguments":"{}"}}]`)},
				FinishReason: "tool_calls"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testDecoder().response(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v\ntool calls: %s", *got, tt.want, got.Message.ToolCalls)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	later := created.Add(time.Second)
	tests := []struct {
		name string
		in   []api.ChatResponse
		want []providers.Chunk
	}{
		{
			name: "text",
			in: []api.ChatResponse{
				{Model: "m", CreatedAt: created, Message: api.Message{Role: "assistant", Content: "Hel"}},
				{Model: "m", CreatedAt: later, Message: api.Message{Role: "assistant", Thinking: "hmm"}}, // nothing to send
				{Model: "m", CreatedAt: later, Message: api.Message{Role: "assistant", Content: "lo"}},
				{Model: "m", CreatedAt: later, Done: true, DoneReason: "stop", Metrics: api.Metrics{PromptEvalCount: 5, EvalCount: 2}},
			},
			want: []providers.Chunk{
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), Role: "assistant", Text: "Hel"},
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), Text: "lo"},
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), FinishReason: "stop",
					Usage: &providers.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}},
			},
		},
		{
			name: "done only",
			in:   []api.ChatResponse{{Model: "m", CreatedAt: created, Done: true, DoneReason: "length", Metrics: api.Metrics{EvalCount: 1}}},
			want: []providers.Chunk{
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), Role: "assistant", FinishReason: "length",
					Usage: &providers.Usage{CompletionTokens: 1, TotalTokens: 1}},
			},
		},
		{
			name: "tool calls on separate lines",
			in: []api.ChatResponse{
				{Model: "m", CreatedAt: created, Message: api.Message{ToolCalls: []api.ToolCall{call("", "a", `{"x":1}`)}}},
				{Model: "m", CreatedAt: created, Message: api.Message{ToolCalls: []api.ToolCall{call("call_b", "b", `{}`)}}},
				{Model: "m", CreatedAt: created, Done: true, DoneReason: "stop"},
			},
			want: []providers.Chunk{
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), Role: "assistant",
					ToolCalls: json.RawMessage(`[{"index":0,"id":"call_gen1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}}]`)},
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(),
					ToolCalls: json.RawMessage(`[{"index":1,"id":"call_b","type":"function","function":{"name":"b","arguments":"{}"}}]`)},
				{ID: "chatcmpl-1", Model: "m", Created: created.Unix(), FinishReason: "tool_calls", Usage: &providers.Usage{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDecoder()
			var got []providers.Chunk
			for _, r := range tt.in {
				ch, ok, err := d.chunk(r)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got = append(got, ch)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
				for i := range min(len(got), len(tt.want)) {
					t.Logf("[%d] tool calls %s, want %s", i, got[i].ToolCalls, tt.want[i].ToolCalls)
				}
			}
		})
	}
}
