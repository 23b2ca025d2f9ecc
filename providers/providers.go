// Package providers owns the canonical form of a chat request and its
// answer, the Provider contract every upstream dialect implements, the one
// error type upstream failures are reported with, and Chain, which runs a
// request over an ordered list of targets with retries and failover.
//
// The canonical form is OpenAI's chat-completions model, the lingua franca
// of the field: a Request keeps every field of the client's body, so an
// OpenAI-compatible upstream receives what the client sent (with the model
// replaced), and adapters for other dialects translate from the parsed
// fields.
package providers

import (
	"context"
	"encoding/json"
)

// Request is one chat request, parsed once at the edge and never mutated
// afterwards: adapters copy what they change.
type Request struct {
	// Model is the model the client asked for ("" or "auto" to route).
	Model string
	// Stream is the client's "stream" flag.
	Stream bool
	// Messages are the conversation, in order.
	Messages []Message
	// Fields holds every top-level field of the client's JSON body,
	// "model", "messages" and "stream" included, byte for byte. Adapters for
	// OpenAI-compatible upstreams forward them untouched but for "model"
	// (and "stream_options" when they ask for usage).
	Fields map[string]json.RawMessage
}

// Message is one turn of the conversation.
type Message struct {
	Role string // "system", "developer", "user", "assistant" or "tool"
	// Parts are the content: one text part for string content, or the
	// parts of a content array in order.
	Parts []Part
	// ToolCalls are an assistant's tool calls, as sent (OpenAI shape).
	ToolCalls json.RawMessage
	// ToolCallID links a "tool" message to the call it answers.
	ToolCallID string
	// Name is the optional participant name.
	Name string
}

// Part is one piece of message content.
type Part struct {
	Type string // "text", "image_url", or another type passed through as is
	Text string // for "text"
	// URL is an image's URL or data: URI, for "image_url".
	URL string
}

// Text joins the message's text parts with newlines; other parts are
// skipped.
func (m Message) Text() string {
	switch len(m.Parts) {
	case 0:
		return ""
	case 1:
		if m.Parts[0].Type == "text" {
			return m.Parts[0].Text
		}
		return ""
	}
	var n int
	for _, p := range m.Parts {
		n += len(p.Text) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range m.Parts {
		if p.Type != "text" || p.Text == "" {
			continue
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, p.Text...)
	}
	return string(b)
}

// Usage counts tokens as the upstream reported them; zero when unknown.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Response is a complete (non-streamed) answer.
type Response struct {
	// Raw is the upstream's chat.completion object when the upstream speaks
	// OpenAI's dialect; the proxy forwards it as is, keeping fields this
	// package does not model. Adapters of other dialects leave it nil.
	Raw json.RawMessage
	// The parsed answer, always set.
	ID           string
	Model        string // the upstream model that answered
	Created      int64  // Unix seconds
	Message      Message
	FinishReason string // "stop", "length", "tool_calls", "content_filter"
	Usage        Usage
}

// Chunk is one streamed event.
type Chunk struct {
	// Raw is the upstream's chat.completion.chunk object when the upstream
	// speaks OpenAI's dialect; forwarded as is. Nil for other dialects.
	Raw json.RawMessage
	// The parsed delta, always set.
	ID           string
	Model        string
	Created      int64
	Role         string // set on the first chunk
	Text         string // content delta
	ToolCalls    json.RawMessage
	FinishReason string
	Usage        *Usage // on the final chunk when the upstream reports it
}

// Provider is one upstream dialect's client. Implementations are safe for
// concurrent use.
type Provider interface {
	// Complete sends req (whose Model is already the upstream model name)
	// and returns the whole answer.
	Complete(ctx context.Context, req *Request) (*Response, error)
	// Stream sends req and calls emit for each chunk, sequentially, never
	// after returning. It stops, returning emit's error, as soon as emit
	// fails. It returns nil only after the upstream ended the stream
	// properly; a stream cut short is an error.
	Stream(ctx context.Context, req *Request, emit func(Chunk) error) error
}

// WithModel returns a shallow copy of r that asks for model. Fields is
// copied too, so the copy can be changed without touching r.
func (r *Request) WithModel(model string) *Request {
	c := *r
	c.Model = model
	c.Fields = make(map[string]json.RawMessage, len(r.Fields)+1)
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	b, _ := json.Marshal(model)
	c.Fields["model"] = b
	return &c
}

// Lister is implemented by providers that can list the models they serve
// (OpenAI's GET /models, Ollama's /api/tags): health checks and model
// discovery use it.
type Lister interface {
	ListModels(ctx context.Context) ([]string, error)
}
