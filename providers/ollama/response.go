package ollama

import (
	"encoding/json"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers"
)

// decoder translates Ollama's chat replies into canonical ones. It does no
// I/O. One decoder serves one call: every chunk of a stream shares the ID
// and creation time, as OpenAI's do, and the finish reason of the last
// chunk depends on whether an earlier one carried tool calls.
type decoder struct {
	id      string        // "chatcmpl-…"
	now     time.Time     // Created when Ollama sends no created_at
	newID   func() string // IDs for tool calls Ollama sent without one
	created int64
	started bool // a chunk was returned, so the role was sent
	calls   int  // tool calls returned so far: the next call's index
}

// response translates a non-streamed reply.
func (d *decoder) response(r api.ChatResponse) (*providers.Response, error) {
	calls, err := d.toolCalls(r.Message.ToolCalls, false)
	if err != nil {
		return nil, err
	}
	msg := providers.Message{Role: "assistant", ToolCalls: calls}
	if r.Message.Content != "" || calls == nil {
		msg.Parts = []providers.Part{{Type: "text", Text: r.Message.Content}}
	}
	return &providers.Response{
		ID:           d.id,
		Model:        r.Model,
		Created:      d.createdAt(r),
		Message:      msg,
		FinishReason: d.finishReason(r.DoneReason),
		Usage:        usage(r),
	}, nil
}

// chunk translates one streamed reply. ok is false when the reply carries
// nothing a client would see (a thinking-only line, say): sending it would
// commit the stream for nothing.
func (d *decoder) chunk(r api.ChatResponse) (ch providers.Chunk, ok bool, err error) {
	calls, err := d.toolCalls(r.Message.ToolCalls, true)
	if err != nil {
		return providers.Chunk{}, false, err
	}
	if r.Message.Content == "" && calls == nil && !r.Done {
		return providers.Chunk{}, false, nil
	}
	ch = providers.Chunk{
		ID:        d.id,
		Model:     r.Model,
		Created:   d.createdAt(r),
		Text:      r.Message.Content,
		ToolCalls: calls,
	}
	if !d.started {
		d.started = true
		ch.Role = "assistant"
	}
	if r.Done {
		ch.FinishReason = d.finishReason(r.DoneReason)
		u := usage(r)
		ch.Usage = &u
	}
	return ch, true, nil
}

// createdAt is the first reply's time, for every chunk of the call.
func (d *decoder) createdAt(r api.ChatResponse) int64 {
	if d.created == 0 {
		t := r.CreatedAt
		if t.IsZero() {
			t = d.now
		}
		d.created = t.Unix()
	}
	return d.created
}

// finishReason maps Ollama's done_reason. A call that produced tool calls
// finishes with "tool_calls" whatever Ollama says (it says "stop"), because
// OpenAI clients look there to run the tools. "load" and "unload" (replies
// to an empty conversation) end like "stop".
func (d *decoder) finishReason(done string) string {
	switch {
	case d.calls > 0:
		return "tool_calls"
	case done == "length":
		return "length"
	}
	return "stop"
}

func usage(r api.ChatResponse) providers.Usage {
	return providers.Usage{
		PromptTokens:     r.PromptEvalCount,
		CompletionTokens: r.EvalCount,
		TotalTokens:      r.PromptEvalCount + r.EvalCount,
	}
}

// toolCalls encodes Ollama's tool calls in OpenAI's shape, with the
// arguments object as a JSON string. Streamed deltas carry an index, which
// OpenAI clients use to assemble calls; Ollama sends each call whole, so
// indexes simply count the calls of the stream.
func (d *decoder) toolCalls(in []api.ToolCall, stream bool) (json.RawMessage, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]openAIToolCall, len(in))
	for i, tc := range in {
		args, err := json.Marshal(tc.Function.Arguments)
		if err != nil {
			return nil, err
		}
		argString, err := json.Marshal(string(args))
		if err != nil {
			return nil, err
		}
		o := &out[i]
		o.ID = tc.ID
		if o.ID == "" {
			o.ID = d.newID()
		}
		o.Type = "function"
		o.Function.Name = tc.Function.Name
		o.Function.Arguments = argString
		if stream {
			index := d.calls
			o.Index = &index
		}
		d.calls++
	}
	return json.Marshal(out)
}
