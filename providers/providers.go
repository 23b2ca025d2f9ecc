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
	// "model", "messages" and "stream" included, byte for byte, in the
	// client's dialect. An adapter of the same dialect forwards them
	// untouched but for "model" (and "stream_options" when it asks for
	// usage), so fields this package does not know still reach the
	// upstream.
	Fields map[string]json.RawMessage
	// Dialect is the wire format of Fields: DialectOpenAI (also "") or
	// DialectAnthropic.
	Dialect string
	// Translated is the request in OpenAI's chat-completions fields when
	// the client spoke another dialect: the parser of that dialect fills
	// it, and adapters of other dialects start from it (see OpenAI). Nil
	// for an OpenAI request.
	Translated map[string]json.RawMessage
	// Session is the client's X-Switchyard-Session header, naming the
	// conversation for sticky routing; "" when absent. It is routing
	// metadata, never sent upstream.
	Session string
}

// Wire dialects of requests, responses and chunks.
const (
	DialectOpenAI    = "openai"
	DialectAnthropic = "anthropic"
)

// OpenAI returns the request's top-level fields in OpenAI's dialect: Fields
// for an OpenAI request, Translated for one of another dialect. Callers
// must not modify the map.
func (r *Request) OpenAI() map[string]json.RawMessage {
	if r.Dialect == "" || r.Dialect == DialectOpenAI {
		return r.Fields
	}
	return r.Translated
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
	// CachedTokens are prompt tokens read from the upstream's prompt cache
	// (OpenAI's prompt_tokens_details.cached_tokens, Anthropic's
	// cache_read_input_tokens); ReasoningTokens are completion tokens
	// spent reasoning (OpenAI's completion_tokens_details.reasoning_tokens).
	// 0 when not reported; not encoded (a raw answer carries them).
	CachedTokens    int `json:"-"`
	ReasoningTokens int `json:"-"`
}

// UnmarshalJSON reads OpenAI's usage object, its details included.
func (u *Usage) UnmarshalJSON(b []byte) error {
	type plain Usage // the fields, without this method
	var w struct {
		plain
		PromptDetails *struct {
			Cached int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
		CompletionDetails *struct {
			Reasoning int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = Usage(w.plain)
	if w.PromptDetails != nil {
		u.CachedTokens = w.PromptDetails.Cached
	}
	if w.CompletionDetails != nil {
		u.ReasoningTokens = w.CompletionDetails.Reasoning
	}
	return nil
}

// Response is a complete (non-streamed) answer.
type Response struct {
	// Raw is the upstream's own answer body, in RawDialect; the proxy
	// forwards it as is to a client of the same dialect, keeping fields
	// this package does not model, and encodes the parsed fields for a
	// client of another. Nil when the adapter keeps no raw answer.
	Raw json.RawMessage
	// RawDialect is Raw's dialect: DialectOpenAI (also "") or
	// DialectAnthropic.
	RawDialect string
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
	// Raw is the upstream's own event data, in RawDialect (an OpenAI
	// chat.completion.chunk object; an Anthropic event, whose "type" names
	// it); forwarded as is to a client of the same dialect. Nil when the
	// adapter keeps none.
	Raw json.RawMessage
	// RawDialect is Raw's dialect: DialectOpenAI (also "") or
	// DialectAnthropic.
	RawDialect string
	// The parsed delta, always set.
	ID      string
	Model   string
	Created int64
	Role    string // set on the first chunk
	Text    string // content delta
	// Reasoning is a reasoning delta some upstreams stream before the
	// answer (OpenAI-compatible reasoning_content or reasoning). It counts
	// as content (it ends the wait for the first chunk) and reaches
	// clients of the upstream's dialect in Raw; it is not translated.
	Reasoning    string `json:",omitempty"`
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

// WithModel returns a shallow copy of r that asks for model. Fields (and
// Translated) are copied too, so the copy can be changed without touching
// r, unless they already ask for model (an explicit model served under
// its own name): then they are shared, as nobody changes them.
func (r *Request) WithModel(model string) *Request {
	c := *r
	c.Model = model
	if r.Model == model && (r.Fields == nil || names(r.Fields["model"], model)) &&
		(r.Translated == nil || names(r.Translated["model"], model)) {
		return &c
	}
	b, _ := json.Marshal(model)
	c.Fields = withField(r.Fields, "model", b)
	if r.Translated != nil {
		c.Translated = withField(r.Translated, "model", b)
	}
	return &c
}

func withField(m map[string]json.RawMessage, key string, v json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m)+1)
	for k, x := range m {
		out[k] = x
	}
	out[key] = v
	return out
}

// names reports whether raw is the JSON string of model, unescaped.
func names(raw json.RawMessage, model string) bool {
	return len(raw) == len(model)+2 && raw[0] == '"' && raw[len(raw)-1] == '"' && string(raw[1:len(raw)-1]) == model
}

// SameDialect reports whether a raw answer in dialect a may be forwarded
// to a client speaking b ("" counts as DialectOpenAI).
func SameDialect(a, b string) bool {
	if a == "" {
		a = DialectOpenAI
	}
	if b == "" {
		b = DialectOpenAI
	}
	return a == b
}

// Lister is implemented by providers that can list the models they serve
// (OpenAI's GET /models, Ollama's /api/tags): health checks and model
// discovery use it.
type Lister interface {
	ListModels(ctx context.Context) ([]string, error)
}
