package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// AnthropicModels are the models a fake Anthropic upstream lists on GET
// /v1/models.
func AnthropicModels() []string {
	return []string{"claude-fake-large", "claude-fake-small"}
}

// Anthropic starts a fake Anthropic Messages upstream; point a client at
// its URL as the base URL (it answers POST …/v1/messages and GET
// …/v1/models). Request n is answered by scripts[n], the last script
// repeating, as with OpenAI. An answer echoes the requested model and
// always reports usage (5 input tokens, one output token per chunk), as
// Anthropic does; it is streamed when the request has "stream": true, as
// Anthropic's named events (message_start, a ping, content_block_start,
// content_block_delta per chunk, content_block_stop, message_delta,
// message_stop), each flushed. A Script's error status gets Anthropic's
// error body, with the type Anthropic uses for it (overloaded_error for
// 529).
func Anthropic(t testing.TB, scripts ...Script) *Upstream {
	t.Helper()
	u := &Upstream{}
	return start(t, u, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := u.record(r, body)
		s := pick(scripts, n)
		models := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v1/models")
		if !models && (r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v1/messages")) {
			anthropicError(w, http.StatusNotFound, "fake upstream: no route "+r.Method+" "+r.URL.Path)
			return
		}
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if !models {
			if err := json.Unmarshal(body, &req); err != nil {
				anthropicError(w, http.StatusBadRequest, "fake upstream: "+err.Error())
				return
			}
		}
		if !u.pause(r.Context(), s.Delay) {
			return
		}
		if s.canned(w, req.Stream, anthropicError) {
			return
		}
		switch {
		case models:
			anthropicModels(w)
		case req.Stream:
			u.anthropicStream(w, r, s, req.Model, n)
		default:
			anthropicMessage(w, s, req.Model, n)
		}
	}))
}

type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type anthropicMsg struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        anthropicUsage   `json:"usage"`
}

func anthropicMessage(w http.ResponseWriter, s Script, model string, n int) {
	w.Header().Set("Content-Type", "application/json")
	if s.Malformed {
		io.WriteString(w, `{"id":"msg_fake","type":"message","content":[{"type":"text",`)
		return
	}
	text, chunks := s.text()
	stop := "end_turn"
	out := anthropicMsg{
		ID:         fmt.Sprintf("msg_fake-%d", n),
		Type:       "message",
		Role:       "assistant",
		Model:      model,
		Content:    []anthropicBlock{},
		StopReason: &stop,
	}
	if s.hasText() {
		out.Content = append(out.Content, anthropicBlock{Type: "text", Text: &text})
	} else {
		chunks = nil
	}
	if s.ToolCall != nil {
		c := s.call("toolu_fake")
		input := json.RawMessage(c.Arguments)
		if !json.Valid(input) {
			input = json.RawMessage("{}")
		}
		out.Content = append(out.Content, anthropicBlock{Type: "tool_use", ID: c.ID, Name: c.Name, Input: input})
		stop = "tool_use"
		chunks = append(chunks, c.ArgChunks...)
	}
	out.Usage = anthropicUsage{InputTokens: 5, OutputTokens: len(chunks)}
	json.NewEncoder(w).Encode(out)
}

func (u *Upstream) anthropicStream(w http.ResponseWriter, r *http.Request, s Script, model string, n int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	if s.Malformed {
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\n\n")
		return
	}
	event := func(name string, v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		flush()
	}
	type start struct {
		Type    string       `json:"type"`
		Message anthropicMsg `json:"message"`
	}
	type blockStart struct {
		Type         string         `json:"type"`
		Index        int            `json:"index"`
		ContentBlock anthropicBlock `json:"content_block"`
	}
	type blockDelta struct {
		Type  string            `json:"type"`
		Index int               `json:"index"`
		Delta map[string]string `json:"delta"`
	}
	type blockStop struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	event("message_start", start{Type: "message_start", Message: anthropicMsg{
		ID: fmt.Sprintf("msg_fake-%d", n), Type: "message", Role: "assistant", Model: model,
		Content: []anthropicBlock{}, Usage: anthropicUsage{InputTokens: 5, OutputTokens: 1},
	}})
	event("ping", map[string]string{"type": "ping"})
	if !u.pause(r.Context(), s.FirstChunkDelay) {
		return
	}
	sent, index := 0, 0
	// block streams one content block; it reports false when the stream
	// was cut (CutAfter) or the client went away.
	block := func(b anthropicBlock, deltaType, key string, parts []string) bool {
		event("content_block_start", blockStart{Type: "content_block_start", Index: index, ContentBlock: b})
		for _, p := range parts {
			if s.CutAfter > 0 && sent == s.CutAfter {
				return false
			}
			if sent > 0 && !u.pause(r.Context(), s.ChunkDelay) {
				return false
			}
			event("content_block_delta", blockDelta{Type: "content_block_delta", Index: index,
				Delta: map[string]string{"type": deltaType, key: p}})
			sent++
		}
		event("content_block_stop", blockStop{Type: "content_block_stop", Index: index})
		index++
		return true
	}
	stop := "end_turn"
	if s.hasText() {
		_, chunks := s.text()
		if !block(anthropicBlock{Type: "text", Text: new(string)}, "text_delta", "text", chunks) {
			return
		}
	}
	if s.ToolCall != nil {
		c := s.call("toolu_fake")
		stop = "tool_use"
		if !block(anthropicBlock{Type: "tool_use", ID: c.ID, Name: c.Name, Input: json.RawMessage("{}")}, "input_json_delta", "partial_json", c.ArgChunks) {
			return
		}
	}
	if s.CutAfter > 0 && s.CutAfter >= sent {
		return
	}
	event("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": sent},
	})
	event("message_stop", map[string]string{"type": "message_stop"})
}

func anthropicModels(w http.ResponseWriter) {
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	ids := AnthropicModels()
	out := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID string  `json:"first_id"`
		LastID  string  `json:"last_id"`
	}{FirstID: ids[0], LastID: ids[len(ids)-1]}
	for _, id := range ids {
		out.Data = append(out.Data, model{Type: "model", ID: id, DisplayName: id, CreatedAt: "2025-01-01T00:00:00Z"})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// anthropicError writes Anthropic's error body with the type Anthropic
// uses for status.
func anthropicError(w http.ResponseWriter, status int, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusForbidden:
		typ = "permission_error"
	case status == http.StatusNotFound:
		typ = "not_found_error"
	case status == http.StatusRequestEntityTooLarge:
		typ = "request_too_large"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status == 529 || status == http.StatusServiceUnavailable:
		typ = "overloaded_error"
	case status >= 500:
		typ = "api_error"
	}
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e.Type = "error"
	e.Error.Type, e.Error.Message = typ, msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}
