package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Created is the "created" time of every fake OpenAI answer, fixed so
// golden files are stable.
const Created = 1700000000

// OpenAI starts a fake OpenAI chat-completions upstream; point a client at
// its URL as the base URL (it answers POST …/chat/completions). Request n
// is answered by scripts[n], the last script repeating, so
// OpenAI(t, Script{Status: 503}, Script{}) fails once and then answers. An
// answer echoes the requested model, and is streamed (text/event-stream,
// one flushed event per chunk, then "data: [DONE]") when the request has
// "stream": true.
func OpenAI(t testing.TB, scripts ...Script) *Upstream {
	t.Helper()
	u := &Upstream{}
	return start(t, u, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := u.record(r, body)
		s := pick(scripts, n)
		if r.Method == http.MethodPost && u.serveOtherPath(w, r, s, body, n) {
			return // /embeddings, /completions, /responses: see forward.go
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			openAIError(w, http.StatusNotFound, "fake upstream: no route "+r.Method+" "+r.URL.Path)
			return
		}
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			openAIError(w, http.StatusBadRequest, "fake upstream: "+err.Error())
			return
		}
		if !u.pause(r.Context(), s.Delay) {
			return
		}
		if s.canned(w, req.Stream, openAIError) {
			return
		}
		switch {
		case req.Stream:
			u.openAIStream(w, r, s, req.Model, n)
		default:
			openAICompletion(w, s, req.Model, n)
		}
	}))
}

type openAIToolCall struct {
	Index    *int           `json:"index,omitempty"`
	ID       string         `json:"id,omitempty"`
	Type     string         `json:"type,omitempty"`
	Function openAIFunction `json:"function"`
}

type openAIFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type fakeUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usage(chunks []string) *fakeUsage {
	return &fakeUsage{PromptTokens: 5, CompletionTokens: len(chunks), TotalTokens: 5 + len(chunks)}
}

func openAICompletion(w http.ResponseWriter, s Script, model string, n int) {
	w.Header().Set("Content-Type", "application/json")
	if s.Malformed {
		io.WriteString(w, `{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,`)
		return
	}
	text, chunks := s.text()
	type message struct {
		Role      string `json:"role"`
		Content   any    `json:"content"`
		ToolCalls any    `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int             `json:"index"`
		Message      message         `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	}
	out := struct {
		ID      string     `json:"id"`
		Object  string     `json:"object"`
		Created int64      `json:"created"`
		Model   string     `json:"model"`
		Choices []choice   `json:"choices"`
		Usage   *fakeUsage `json:"usage,omitempty"`
	}{
		ID:      fmt.Sprintf("chatcmpl-fake-%d", n),
		Object:  "chat.completion",
		Created: Created,
		Model:   model,
		Choices: []choice{{Message: message{Role: "assistant", Content: text}, Logprobs: json.RawMessage("null"), FinishReason: "stop"}},
	}
	if s.ToolCall != nil {
		c := s.call("call_fake")
		ch := &out.Choices[0]
		if !s.hasText() {
			ch.Message.Content = nil
		}
		ch.Message.ToolCalls = []openAIToolCall{{ID: c.ID, Type: "function", Function: openAIFunction{Name: c.Name, Arguments: c.Arguments}}}
		ch.FinishReason = "tool_calls"
		chunks = c.ArgChunks
	}
	if s.Usage {
		out.Usage = usage(chunks)
	}
	json.NewEncoder(w).Encode(out)
}

func (u *Upstream) openAIStream(w http.ResponseWriter, r *http.Request, s Script, model string, n int) {
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
		io.WriteString(w, "data: {\"id\":\"chatcmpl-fake\",\"choices\":[\n\n")
		return
	}
	id := fmt.Sprintf("chatcmpl-fake-%d", n)
	event := func(delta, finish, usage any, choices bool) {
		type choice struct {
			Index        int `json:"index"`
			Delta        any `json:"delta"`
			FinishReason any `json:"finish_reason"`
		}
		out := struct {
			ID      string   `json:"id"`
			Object  string   `json:"object"`
			Created int64    `json:"created"`
			Model   string   `json:"model"`
			Choices []choice `json:"choices"`
			Usage   any      `json:"usage,omitempty"`
		}{ID: id, Object: "chat.completion.chunk", Created: Created, Model: model, Choices: []choice{}, Usage: usage}
		if choices {
			out.Choices = append(out.Choices, choice{Delta: delta, FinishReason: finish})
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(w, "data: %s\n\n", b)
		flush()
	}
	_, chunks := s.text()
	if !s.hasText() {
		chunks = nil
	}
	var call ToolCall
	if s.ToolCall != nil {
		call = s.call("call_fake")
	}
	if s.FirstChunkDelay > 0 {
		event(map[string]string{"role": "assistant", "content": ""}, nil, nil, true)
		if !u.pause(r.Context(), s.FirstChunkDelay) {
			return
		}
	}
	sent := 0 // content chunks sent
	for i, c := range chunks {
		if s.CutAfter > 0 && sent == s.CutAfter {
			return
		}
		if i > 0 && !u.pause(r.Context(), s.ChunkDelay) {
			return
		}
		delta := map[string]string{"content": c}
		if i == 0 {
			delta["role"] = "assistant"
		}
		event(delta, nil, nil, true)
		sent++
	}
	finish := "stop"
	if s.ToolCall != nil {
		finish = "tool_calls"
		for i, a := range call.ArgChunks {
			if s.CutAfter > 0 && sent == s.CutAfter {
				return
			}
			if sent > 0 && !u.pause(r.Context(), s.ChunkDelay) {
				return
			}
			tc := openAIToolCall{Index: new(int), Function: openAIFunction{Arguments: a}}
			delta := map[string]any{"tool_calls": []openAIToolCall{tc}}
			if i == 0 {
				tc.ID, tc.Type, tc.Function.Name = call.ID, "function", call.Name
				delta["tool_calls"] = []openAIToolCall{tc}
				if sent == 0 {
					delta["role"] = "assistant"
					delta["content"] = nil
				}
			}
			event(delta, nil, nil, true)
			sent++
		}
		chunks = call.ArgChunks
	}
	if s.CutAfter > 0 && s.CutAfter >= sent {
		return
	}
	event(struct{}{}, finish, nil, true)
	if s.Usage {
		event(nil, nil, usage(chunks), false)
	}
	io.WriteString(w, "data: [DONE]\n\n")
	flush()
}

func openAIError(w http.ResponseWriter, status int, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status >= 500:
		typ = "server_error"
	}
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	e.Error.Message, e.Error.Type = msg, typ
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}
