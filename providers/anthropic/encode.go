package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
)

// Message encodes resp as an Anthropic message object: resp.Raw as is when
// it is one (an Anthropic upstream's; the caller must not modify the
// result then), else one built from the parsed fields: the text as one
// text block, then a tool_use block per tool call, the finish reason as a
// stop_reason (content_filter as "refusal"), and the usage.
func Message(resp *providers.Response) []byte {
	if resp.Raw != nil && resp.RawDialect == providers.DialectAnthropic {
		return resp.Raw
	}
	content := make([]wireBlock, 0, 2)
	if t := resp.Message.Text(); t != "" {
		content = append(content, wireBlock{Type: "text", Text: &t})
	}
	content = append(content, toolBlocks(resp.Message.ToolCalls)...)
	stop := stopReason(resp.FinishReason)
	return mustMarshal(wireMessage{
		ID:         messageID(resp.ID),
		Type:       "message",
		Role:       "assistant",
		Model:      resp.Model,
		Content:    content,
		StopReason: &stop,
		Usage:      wireUsage{InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens},
	})
}

// toolBlocks turns OpenAI tool calls into tool_use blocks.
func toolBlocks(raw json.RawMessage) []wireBlock {
	var out []wireBlock
	for _, b := range toolUses(raw) {
		out = append(out, wireBlock{Type: "tool_use", ID: b.ID, Name: b.Name, Input: b.Input})
	}
	return out
}

// messageID returns id when it is an Anthropic message id, else one made
// from it, so clients that check the prefix accept it.
func messageID(id string) string {
	switch {
	case strings.HasPrefix(id, "msg_"):
		return id
	case id == "":
		return "msg_switchyard"
	default:
		return "msg_" + id
	}
}

// NewError encodes an error body the way Anthropic does:
// {"type":"error","error":{"type":…,"message":…}}. An empty typ is chosen
// from status: invalid_request_error (400, 413, 422 and other 4xx),
// authentication_error (401), permission_error (403), not_found_error
// (404), rate_limit_error (429), overloaded_error (503, 529) and
// api_error (other 5xx).
func NewError(status int, message, typ string) []byte {
	if typ == "" {
		typ = errorType(status)
	}
	var e wireError
	e.Type = "error"
	e.Error.Type = typ
	e.Error.Message = message
	return mustMarshal(e)
}

func errorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusPaymentRequired:
		return "billing_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusServiceUnavailable || status == statusOverloaded:
		return "overloaded_error"
	case status == http.StatusGatewayTimeout:
		return "timeout_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

// statusOverloaded is Anthropic's own status for an overloaded API.
const statusOverloaded = 529

// errorStatus is errorType's inverse, for error events, which carry no
// status: 502 for a type it does not know.
func errorStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "api_error":
		return http.StatusInternalServerError
	case "overloaded_error":
		return statusOverloaded
	case "timeout_error":
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

// ErrorEvent returns the "error" event Anthropic sends when a stream fails
// after it started, with NewError's body.
func ErrorEvent(status int, message string) Event {
	return Event{Name: "error", Data: NewError(status, message, "")}
}
