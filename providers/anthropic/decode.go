package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard-router/switchyard/providers"
)

// parseAnswer decodes a message object, Anthropic's non-streamed answer,
// into the canonical form: its text blocks joined (Anthropic splits text
// around citations, so they join with nothing between), its tool_use
// blocks as OpenAI tool calls, the stop reason as a finish reason. Raw is
// body; Created is left for the caller.
func parseAnswer(body []byte) (*providers.Response, error) {
	if kind(body) != '{' {
		return nil, errors.New("not a JSON object")
	}
	var w wireMessage
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Type == "error" {
		return nil, &upstreamError{body: body}
	}
	if w.Type != "message" {
		return nil, fmt.Errorf("type %q, want \"message\"", w.Type)
	}
	out := &providers.Response{
		Raw:        body,
		RawDialect: providers.DialectAnthropic,
		ID:         w.ID,
		Model:      w.Model,
		Message:    providers.Message{Role: "assistant"},
		Usage: providers.Usage{
			PromptTokens:     w.Usage.prompt(),
			CompletionTokens: w.Usage.OutputTokens,
			TotalTokens:      w.Usage.prompt() + w.Usage.OutputTokens,
			CachedTokens:     w.Usage.CacheReadInputTokens,
		},
	}
	if w.StopReason != nil {
		out.FinishReason = finishReason(*w.StopReason)
	}
	var text []byte
	hasText := false
	var calls []oaToolCall
	for _, b := range w.Content {
		switch b.Type {
		case "text":
			if b.Text != nil {
				text = append(text, *b.Text...)
				hasText = true
			}
		case "tool_use":
			calls = append(calls, oaToolCall{ID: b.ID, Type: "function", Function: oaFunctionCall{Name: b.Name, Arguments: arguments(b.Input)}})
		}
	}
	if hasText {
		out.Message.Parts = []providers.Part{{Type: "text", Text: string(text)}}
	}
	if calls != nil {
		out.Message.ToolCalls = mustMarshal(calls)
	}
	return out, nil
}

// arguments encodes a tool_use input as OpenAI's arguments string.
func arguments(input json.RawMessage) string {
	if len(input) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, input) != nil {
		return "{}"
	}
	return b.String()
}

// upstreamError is an Anthropic error object found where an answer was
// expected: a 2xx body or an "error" event.
type upstreamError struct {
	body []byte
}

func (e *upstreamError) Error() string { return "upstream error object" }

// streamDecoder turns the events of one Anthropic stream into canonical
// chunks. It counts tool_use blocks, since OpenAI's tool-call deltas are
// indexed among tool calls while Anthropic's blocks are indexed among all
// content blocks, and it carries the message's id, model and input tokens
// to later chunks.
type streamDecoder struct {
	created int64 // stamped on every chunk (Anthropic's stream has no time)
	id      string
	model   string
	prompt  int
	cached  int         // of prompt, read from Anthropic's cache
	tools   map[int]int // content block index → tool-call index
}

// decode returns the chunk for one event's data and whether it was
// message_stop. An "error" event is an *upstreamError; data that is not a
// JSON object of a known shape is an error.
func (d *streamDecoder) decode(data []byte) (providers.Chunk, bool, error) {
	if kind(data) != '{' {
		return providers.Chunk{}, false, errors.New("not a JSON object")
	}
	var ev struct {
		Type         string          `json:"type"`
		Index        int             `json:"index"`
		Message      *wireMessage    `json:"message"`
		ContentBlock *wireBlock      `json:"content_block"`
		Delta        json.RawMessage `json:"delta"`
		Usage        *wireUsage      `json:"usage"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return providers.Chunk{}, false, err
	}
	if ev.Type == "" {
		return providers.Chunk{}, false, errors.New("event without a type")
	}
	ch := providers.Chunk{Raw: json.RawMessage(bytes.Clone(data)), RawDialect: providers.DialectAnthropic, Created: d.created}
	switch ev.Type {
	case "error":
		return providers.Chunk{}, false, &upstreamError{body: ch.Raw}
	case "message_start":
		if ev.Message == nil {
			return providers.Chunk{}, false, errors.New("message_start without a message")
		}
		d.id, d.model, d.prompt = ev.Message.ID, ev.Message.Model, ev.Message.Usage.prompt()
		d.cached = ev.Message.Usage.CacheReadInputTokens
		ch.Role = "assistant"
	case "content_block_start":
		if ev.ContentBlock == nil {
			return providers.Chunk{}, false, errors.New("content_block_start without a content_block")
		}
		switch ev.ContentBlock.Type {
		case "text":
			if ev.ContentBlock.Text != nil {
				ch.Text = *ev.ContentBlock.Text
			}
		case "tool_use":
			if d.tools == nil {
				d.tools = map[int]int{}
			}
			i := len(d.tools)
			d.tools[ev.Index] = i
			ch.ToolCalls = mustMarshal([]oaToolCall{{Index: &i, ID: ev.ContentBlock.ID, Type: "function",
				Function: oaFunctionCall{Name: ev.ContentBlock.Name}}})
		}
	case "content_block_delta":
		var delta struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			Thinking    string `json:"thinking"`
			PartialJSON string `json:"partial_json"`
		}
		if kind(ev.Delta) != '{' || json.Unmarshal(ev.Delta, &delta) != nil {
			return providers.Chunk{}, false, errors.New("content_block_delta without a delta object")
		}
		switch delta.Type {
		case "text_delta":
			ch.Text = delta.Text
		case "thinking_delta":
			ch.Reasoning = delta.Thinking // content: it ends the wait for the first chunk
		case "input_json_delta":
			if i, ok := d.tools[ev.Index]; ok && delta.PartialJSON != "" {
				ch.ToolCalls = mustMarshal([]oaToolCall{{Index: &i, Function: oaFunctionCall{Arguments: delta.PartialJSON}}})
			}
		}
	case "message_delta":
		var delta struct {
			StopReason *string `json:"stop_reason"`
		}
		if kind(ev.Delta) != '{' || json.Unmarshal(ev.Delta, &delta) != nil {
			return providers.Chunk{}, false, errors.New("message_delta without a delta object")
		}
		if delta.StopReason != nil {
			ch.FinishReason = finishReason(*delta.StopReason)
		}
		if ev.Usage != nil {
			// message_delta's usage is cumulative; input tokens, when it
			// has them, replace message_start's.
			prompt, cached := d.prompt, d.cached
			if p := ev.Usage.prompt(); p > 0 {
				prompt, cached = p, ev.Usage.CacheReadInputTokens
			}
			ch.Usage = &providers.Usage{PromptTokens: prompt, CompletionTokens: ev.Usage.OutputTokens,
				TotalTokens: prompt + ev.Usage.OutputTokens, CachedTokens: cached}
		}
	case "message_stop":
		ch.ID, ch.Model = d.id, d.model
		return ch, true, nil
	}
	// ping, content_block_stop and event types added later carry nothing
	// canonical; Raw keeps them for an Anthropic client.
	ch.ID, ch.Model = d.id, d.model
	return ch, false, nil
}
