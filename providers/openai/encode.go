package openai

import (
	"encoding/json"
	"net/http"

	"github.com/switchyard-router/switchyard/providers"
)

var jsonNull = json.RawMessage("null")

// Completion encodes resp as a chat.completion object: resp.Raw as is when
// it is one (an OpenAI upstream's; the caller must not modify the result
// then), else one built from the parsed fields.
func Completion(resp *providers.Response) []byte {
	if resp.Raw != nil && providers.SameDialect(resp.RawDialect, providers.DialectOpenAI) {
		return resp.Raw
	}
	msg := encodeMessage(resp.Message)
	if msg.Role == "" {
		msg.Role = "assistant"
	}
	if msg.Content == nil {
		msg.Content = jsonNull // OpenAI sends content: null beside tool calls
	}
	usage := resp.Usage
	return mustMarshal(wireCompletion{
		ID:      resp.ID,
		Object:  "chat.completion",
		Created: resp.Created,
		Model:   resp.Model,
		Choices: []wireChoice{{Message: &msg, FinishReason: optional(resp.FinishReason)}},
		Usage:   &usage,
	})
}

// StreamChunk encodes c as a chat.completion.chunk object: c.Raw as is when
// it is one (an OpenAI upstream's; the caller must not modify the result
// then), else one built from the parsed fields. A chunk that carries only
// usage gets an empty choices array, as OpenAI's final usage chunk has.
func StreamChunk(c providers.Chunk) []byte {
	if c.Raw != nil && providers.SameDialect(c.RawDialect, providers.DialectOpenAI) {
		return c.Raw
	}
	w := wireCompletion{
		ID:      c.ID,
		Object:  "chat.completion.chunk",
		Created: c.Created,
		Model:   c.Model,
		Choices: []wireChoice{},
		Usage:   c.Usage,
	}
	if c.Usage == nil || c.Role != "" || c.Text != "" || c.ToolCalls != nil || c.FinishReason != "" {
		delta := wireMessage{Role: c.Role, ToolCalls: valid(c.ToolCalls)}
		if c.Text != "" || c.Role != "" {
			delta.Content = mustMarshal(c.Text)
		}
		w.Choices = append(w.Choices, wireChoice{Delta: &delta, FinishReason: optional(c.FinishReason)})
	}
	return mustMarshal(w)
}

// NewError encodes an error body the way OpenAI does:
// {"error":{"message":…,"type":…,"param":null,"code":…}}. An empty typ is
// chosen from status: invalid_request_error for most 4xx (a refused key
// included, as OpenAI sends it), permission_error (403), rate_limit_error
// (429), server_error (500, the gateway's own failure) and api_error
// (other 5xx: the upstream failed). The code is OpenAI's for the status
// where it has one (invalid_api_key for 401, rate_limit_exceeded for 429),
// else null; NewErrorCode sets another.
func NewError(status int, message, typ string) []byte {
	return NewErrorCode(status, message, typ, statusCode(status))
}

// NewErrorCode is NewError with the error's code, one of OpenAI's
// (model_not_found, invalid_api_key, rate_limit_exceeded,
// context_length_exceeded, …); "" encodes null.
func NewErrorCode(status int, message, typ, code string) []byte {
	if typ == "" {
		typ = errorType(status)
	}
	var e wireError
	e.Error.Message = message
	e.Error.Type = typ
	e.Error.Param = jsonNull
	e.Error.Code = jsonNull
	if code != "" {
		e.Error.Code = mustMarshal(code)
	}
	return mustMarshal(e)
}

// statusCode is OpenAI's error code for a status, "" when it sends null.
func statusCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "invalid_api_key"
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	}
	return ""
}

func errorType(status int) string {
	switch {
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusInternalServerError:
		return "server_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

// encodeMessage turns a canonical message into its wire form: one text
// part becomes string content, anything else an array of parts.
func encodeMessage(m providers.Message) wireMessage {
	w := wireMessage{Role: m.Role, ToolCalls: valid(m.ToolCalls), ToolCallID: m.ToolCallID, Name: m.Name}
	switch {
	case len(m.Parts) == 0:
	case len(m.Parts) == 1 && m.Parts[0].Type == "text":
		w.Content = mustMarshal(m.Parts[0].Text)
	default:
		parts := make([]wirePart, len(m.Parts))
		for i, p := range m.Parts {
			parts[i].Type = p.Type
			switch p.Type {
			case "text":
				parts[i].Text = &p.Text
			case "image_url":
				parts[i].ImageURL = &wireURL{URL: p.URL}
			}
		}
		w.Content = mustMarshal(parts)
	}
	return w
}

// valid drops raw JSON that would not encode, so that a broken adapter's
// tool calls cost the client its tool calls and not the whole answer.
func valid(raw json.RawMessage) json.RawMessage {
	if raw == nil || !json.Valid(raw) {
		return nil
	}
	return raw
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// mustMarshal encodes values whose types cannot fail to encode (no
// channels, funcs or invalid RawMessages reach it).
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("openai: encode: " + err.Error())
	}
	return b
}
