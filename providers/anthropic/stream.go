package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard-router/switchyard/providers"
)

// Event is one server-sent event of an Anthropic stream, written as
// "event: <Name>\ndata: <Data>\n\n".
type Event struct {
	Name string // the event type: message_start, content_block_delta, …
	Data []byte // one JSON object whose "type" is Name
}

// StreamEncoder turns canonical stream chunks into Anthropic's event
// sequence for an Anthropic client: message_start, then for each content
// block content_block_start, its deltas and content_block_stop, then
// message_delta (stop reason and usage) and message_stop. Anthropic's
// sequence is stateful where OpenAI's chunks are not, so the encoder
// remembers which block is open. It does no I/O, and is not safe for
// concurrent use: one encoder serves one stream.
type StreamEncoder struct {
	started  bool // message_start sent
	open     bool // a content block is open
	openTool int  // the OpenAI index of the open tool_use block, -1 for a text block
	openID   string
	lastTool int // the highest OpenAI tool-call index opened, -1 for none
	next     int // the index of the next content block
	finish   string
	usage    *providers.Usage
	delta    bool // message_delta sent
	stopped  bool // message_stop sent
}

// NewStreamEncoder returns an encoder for one stream.
func NewStreamEncoder() *StreamEncoder {
	return &StreamEncoder{openTool: -1, lastTool: -1}
}

// Encode returns the events for one chunk. A chunk from an Anthropic
// upstream (RawDialect anthropic) is its own event, passed through as is;
// any other is translated:
//
//   - the first chunk starts the message (message_start, with the chunk's
//     id as a msg_ id and its model);
//   - text opens a text block if none is open, then is a text_delta;
//   - a tool-call delta that names a call (id or name) opens a tool_use
//     block with input {}, and its argument fragments are
//     input_json_delta events;
//   - a new block closes the open one (content_block_stop);
//   - a finish reason closes the open block, and message_delta (the stop
//     reason and usage) follows once the usage is known: in the same
//     chunk, in a usage-only chunk after it, or at Finish.
//
// OpenAI streams each tool call's fragments one after the other; a
// fragment for a call whose block was already closed cannot be placed in
// Anthropic's sequence and is dropped.
func (e *StreamEncoder) Encode(c providers.Chunk) []Event {
	if c.Raw != nil && c.RawDialect == providers.DialectAnthropic {
		return e.passThrough(c.Raw)
	}
	if e.stopped {
		return nil
	}
	var out []Event
	if !e.started {
		out = append(out, e.start(c.ID, c.Model, c.Usage))
	}
	if c.Text != "" && !e.delta {
		if !e.open || e.openTool >= 0 {
			out = e.closeBlock(out)
			out = e.openBlock(out, -1, wireBlock{Type: "text", Text: new(string)})
		}
		out = append(out, e.blockDelta(textDelta{Type: "text_delta", Text: c.Text}))
	}
	if len(c.ToolCalls) > 0 && !e.delta {
		out = e.toolDeltas(out, c.ToolCalls)
	}
	if c.Usage != nil {
		u := *c.Usage
		e.usage = &u
	}
	if c.FinishReason != "" && e.finish == "" {
		e.finish = c.FinishReason
		out = e.closeBlock(out)
	}
	if e.finish != "" && e.usage != nil && !e.delta {
		out = append(out, e.messageDelta())
	}
	return out
}

// Finish returns the events still missing after the last chunk of a
// stream that ended properly: the start of an empty message if nothing
// came, content_block_stop for an open block, message_delta and
// message_stop. It returns nothing once message_stop was sent.
func (e *StreamEncoder) Finish() []Event {
	if e.stopped {
		return nil
	}
	var out []Event
	if !e.started {
		out = append(out, e.start("", "", nil))
	}
	out = e.closeBlock(out)
	if !e.delta {
		out = append(out, e.messageDelta())
	}
	e.stopped = true
	return append(out, event("message_stop", struct {
		Type string `json:"type"`
	}{"message_stop"}))
}

// passThrough forwards an Anthropic event, noting what it starts or ends
// so that Finish adds only what is missing. Data holding line breaks
// (JSON may, between tokens) is compacted, as each event must be one
// "data:" line.
func (e *StreamEncoder) passThrough(raw []byte) []Event {
	var head struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	json.Unmarshal(raw, &head)
	switch head.Type {
	case "message_start":
		e.started = true
	case "content_block_start":
		e.started, e.open, e.next = true, true, head.Index
	case "content_block_stop":
		e.open, e.next = false, head.Index+1
	case "message_delta":
		e.open, e.delta = false, true
	case "message_stop":
		e.stopped = true
	}
	if bytes.ContainsAny(raw, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			raw = b.Bytes()
		}
	}
	return []Event{{Name: head.Type, Data: raw}}
}

func (e *StreamEncoder) start(id, model string, u *providers.Usage) Event {
	e.started = true
	m := wireMessage{
		ID:      messageID(id),
		Type:    "message",
		Role:    "assistant",
		Model:   model,
		Content: []wireBlock{},
	}
	if u != nil {
		m.Usage.InputTokens = u.PromptTokens
	}
	return event("message_start", struct {
		Type    string      `json:"type"`
		Message wireMessage `json:"message"`
	}{"message_start", m})
}

// openBlock starts content block b; tool is the OpenAI index of a tool
// call, -1 for text.
func (e *StreamEncoder) openBlock(out []Event, tool int, b wireBlock) []Event {
	e.open, e.openTool = true, tool
	return append(out, event("content_block_start", struct {
		Type         string    `json:"type"`
		Index        int       `json:"index"`
		ContentBlock wireBlock `json:"content_block"`
	}{"content_block_start", e.next, b}))
}

func (e *StreamEncoder) closeBlock(out []Event) []Event {
	if !e.open {
		return out
	}
	out = append(out, event("content_block_stop", struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{"content_block_stop", e.next}))
	e.open, e.openTool = false, -1
	e.next++
	return out
}

func (e *StreamEncoder) blockDelta(delta any) Event {
	return event("content_block_delta", struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Delta any    `json:"delta"`
	}{"content_block_delta", e.next, delta})
}

// toolDeltas encodes OpenAI tool-call deltas.
func (e *StreamEncoder) toolDeltas(out []Event, raw json.RawMessage) []Event {
	var calls []oaToolCall
	if json.Unmarshal(raw, &calls) != nil {
		return out
	}
	for i, c := range calls {
		idx := i
		if c.Index != nil && *c.Index >= 0 {
			idx = *c.Index
		}
		same := e.open && e.openTool == idx && (c.ID == "" || c.ID == e.openID)
		if !same {
			if c.ID == "" && idx <= e.lastTool {
				continue // a fragment of a closed call; see Encode
			}
			id := c.ID
			if id == "" {
				id = "toolu_" + strconv.Itoa(idx)
			}
			out = e.closeBlock(out)
			out = e.openBlock(out, idx, wireBlock{Type: "tool_use", ID: id, Name: c.Function.Name, Input: json.RawMessage("{}")})
			e.openID, e.lastTool = id, max(e.lastTool, idx)
		}
		if c.Function.Arguments != "" {
			out = append(out, e.blockDelta(jsonDelta{Type: "input_json_delta", PartialJSON: c.Function.Arguments}))
		}
	}
	return out
}

// messageDelta ends the message: its stop reason and usage. Anthropic's
// message_start carries the input tokens, but OpenAI reports usage only at
// the end, so the input tokens ride here too, as Anthropic's own
// message_delta usage has them in recent API versions.
func (e *StreamEncoder) messageDelta() Event {
	e.delta = true
	var u struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	}
	if e.usage != nil {
		u.InputTokens, u.OutputTokens = e.usage.PromptTokens, e.usage.CompletionTokens
	}
	type delta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	return event("message_delta", struct {
		Type  string `json:"type"`
		Delta delta  `json:"delta"`
		Usage any    `json:"usage"`
	}{"message_delta", delta{StopReason: stopReason(e.finish)}, u})
}

type textDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type jsonDelta struct {
	Type        string `json:"type"`
	PartialJSON string `json:"partial_json"`
}

func event(name string, v any) Event {
	return Event{Name: name, Data: mustMarshal(v)}
}
