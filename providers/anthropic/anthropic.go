// Package anthropic speaks Anthropic's Messages dialect: it decodes client
// requests into the canonical providers.Request (ParseRequest), encodes
// canonical answers, stream chunks and errors for an Anthropic client
// (Message, NewStreamEncoder, NewError), and is a providers.Provider for
// an Anthropic upstream (Client), translating requests of other dialects
// from their OpenAI form.
//
// The canonical form is OpenAI's, so every conversion here goes between
// Anthropic's wire shapes and OpenAI's: content blocks and message parts,
// tool_use blocks and tool_calls, tool_result blocks and "tool" messages,
// stop reasons and finish reasons.
package anthropic

import (
	"encoding/json"
)

// DefaultVersion is the anthropic-version header sent upstream unless
// Client.Version says otherwise.
const DefaultVersion = "2023-06-01"

// DefaultMaxTokens is the max_tokens sent upstream when the request gives
// none: Anthropic requires the field, OpenAI does not.
const DefaultMaxTokens = 4096

// Wire types, only as far as this package reads or writes them; the Raw
// fields of providers.Response and providers.Chunk carry everything else.

// wireMessage is a message object, Anthropic's non-streamed answer and the
// "message" of a message_start event.
type wireMessage struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []wireBlock     `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        wireUsage       `json:"usage"`
	Error        json.RawMessage `json:"error,omitempty"`
}

// wireBlock is one content block of an answer or an event.
type wireBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

// wireUsage counts tokens. Anthropic's input_tokens leave out the tokens
// read from or written to the prompt cache, which OpenAI's prompt_tokens
// include, so the canonical prompt count is their sum.
type wireUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens,omitempty"`
}

func (u wireUsage) prompt() int {
	return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

// wireError is Anthropic's error body, also the data of an "error" event.
type wireError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// OpenAI's shapes, which the canonical form and Request.Translated use.

type oaMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	Name       string          `json:"name,omitempty"`
}

type oaPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text,omitempty"`
	ImageURL *oaURL  `json:"image_url,omitempty"`
}

type oaURL struct {
	URL string `json:"url"`
}

// oaToolCall is one entry of an OpenAI tool_calls array, whole in a
// message or a fragment in a stream delta.
type oaToolCall struct {
	Index    *int           `json:"index,omitempty"`
	ID       string         `json:"id,omitempty"`
	Type     string         `json:"type,omitempty"`
	Function oaFunctionCall `json:"function"`
}

type oaFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// stopReason maps OpenAI's finish_reason to Anthropic's stop_reason.
// content_filter becomes "refusal", Anthropic's own reason for an answer
// its safety filters stopped; anything unknown (or "") is "end_turn".
func stopReason(finish string) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	default:
		return "end_turn"
	}
}

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason.
// pause_turn (a server tool paused a long turn) has no OpenAI equivalent
// and ends the answer like end_turn.
func finishReason(stop string) string {
	switch stop {
	case "":
		return ""
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default:
		return "stop"
	}
}

// mustMarshal encodes values whose types cannot fail to encode (no
// channels, funcs or invalid RawMessages reach it).
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("anthropic: encode: " + err.Error())
	}
	return b
}

// validJSON drops raw JSON that would not encode.
func validJSON(raw json.RawMessage) json.RawMessage {
	if raw == nil || !json.Valid(raw) {
		return nil
	}
	return raw
}
