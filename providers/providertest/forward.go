package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// serveOtherPath answers, for the OpenAI fake, the API paths switchyard
// forwards as they are: POST …/embeddings, …/completions (legacy text
// completions) and …/responses, following s as chat does: Status and
// Body, Delay, Chunks and CutAfter for a stream, Usage (embeddings always
// report it, as OpenAI's do; a completions stream reports it only when
// asked with stream_options.include_usage, and a responses stream in its
// response.completed event). It reports false for any other path.
func (u *Upstream) serveOtherPath(w http.ResponseWriter, r *http.Request, s Script, body []byte, n int) bool {
	var kind string
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		kind = "embeddings"
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		return false
	case strings.HasSuffix(r.URL.Path, "/completions"):
		kind = "completions"
	case strings.HasSuffix(r.URL.Path, "/responses"):
		kind = "responses"
	default:
		return false
	}
	var req struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		openAIError(w, http.StatusBadRequest, "fake upstream: "+err.Error())
		return true
	}
	if !u.pause(r.Context(), s.Delay) {
		return true
	}
	if s.canned(w, req.Stream, openAIError) {
		return true
	}
	switch {
	case kind == "embeddings":
		w.Header().Set("Content-Type", "application/json")
		inputs := 1
		var list []json.RawMessage
		if json.Unmarshal(req.Input, &list) == nil && len(list) > 0 {
			inputs = len(list)
		}
		type embedding struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		}
		out := struct {
			Object string      `json:"object"`
			Data   []embedding `json:"data"`
			Model  string      `json:"model"`
			Usage  fakeUsage   `json:"usage"`
		}{Object: "list", Model: req.Model, Usage: fakeUsage{PromptTokens: 3 * inputs, TotalTokens: 3 * inputs}}
		for i := range inputs {
			out.Data = append(out.Data, embedding{Object: "embedding", Index: i, Embedding: []float64{0.5, float64(n), float64(i)}})
		}
		json.NewEncoder(w).Encode(out)
	case req.Stream:
		u.streamOtherPath(w, r, s, kind, req.Model, req.StreamOptions.IncludeUsage, n)
	case kind == "completions":
		text, chunks := s.text()
		out := map[string]any{
			"id": fmt.Sprintf("cmpl-fake-%d", n), "object": "text_completion", "created": Created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "text": text, "logprobs": nil, "finish_reason": "stop"}},
		}
		if s.Usage {
			out["usage"] = usage(chunks)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	default: // responses
		text, chunks := s.text()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(fakeResponse(n, req.Model, "completed", text, len(chunks), s.Usage))
	}
	return true
}

// fakeResponse is a Responses API response object.
func fakeResponse(n int, model, status, text string, chunks int, withUsage bool) map[string]any {
	out := map[string]any{
		"id": fmt.Sprintf("resp_fake_%d", n), "object": "response", "created_at": Created, "model": model, "status": status,
		"output": []any{map[string]any{"type": "message", "role": "assistant", "content": []any{
			map[string]any{"type": "output_text", "text": text}}}},
	}
	if withUsage {
		out["usage"] = map[string]int{"input_tokens": 5, "output_tokens": chunks, "total_tokens": 5 + chunks}
	}
	return out
}

// streamOtherPath streams a completions answer (text_completion chunks,
// then [DONE]) or a responses answer (named events, no [DONE]).
func (u *Upstream) streamOtherPath(w http.ResponseWriter, r *http.Request, s Script, kind, model string, includeUsage bool, n int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	send := func(name string, v any) {
		b, _ := json.Marshal(v)
		if name != "" {
			fmt.Fprintf(w, "event: %s\n", name)
		}
		fmt.Fprintf(w, "data: %s\n\n", b)
		flush()
	}
	if s.Malformed {
		io.WriteString(w, "data: {\"id\":\n\n")
		return
	}
	text, chunks := s.text()
	id := fmt.Sprintf("cmpl-fake-%d", n)
	if kind == "responses" {
		send("response.created", map[string]any{"type": "response.created", "response": fakeResponse(n, model, "in_progress", "", 0, false)})
	}
	for i, c := range chunks {
		if s.CutAfter > 0 && i == s.CutAfter {
			return
		}
		if i > 0 && !u.pause(r.Context(), s.ChunkDelay) {
			return
		}
		if kind == "responses" {
			send("response.output_text.delta", map[string]any{"type": "response.output_text.delta", "delta": c})
			continue
		}
		send("", map[string]any{"id": id, "object": "text_completion", "created": Created, "model": model,
			"choices": []any{map[string]any{"index": 0, "text": c, "finish_reason": nil}}})
	}
	if kind == "responses" {
		send("response.completed", map[string]any{"type": "response.completed", "response": fakeResponse(n, model, "completed", text, len(chunks), true)})
		return
	}
	send("", map[string]any{"id": id, "object": "text_completion", "created": Created, "model": model,
		"choices": []any{map[string]any{"index": 0, "text": "", "finish_reason": "stop"}}})
	if includeUsage || s.Usage {
		send("", map[string]any{"id": id, "object": "text_completion", "created": Created, "model": model,
			"choices": []any{}, "usage": usage(chunks)})
	}
	io.WriteString(w, "data: [DONE]\n\n")
	flush()
}
