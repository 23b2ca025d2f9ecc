package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

func request(stream bool) *providers.Request {
	return &providers.Request{
		Model:    "llama3.2",
		Stream:   stream,
		Messages: []providers.Message{{Role: "user", Parts: text("hi")}},
		Fields:   map[string]json.RawMessage{"temperature": json.RawMessage(`0.5`)},
	}
}

func fake(t *testing.T, s providertest.OllamaScript) (*Client, *providertest.OllamaUpstream) {
	t.Helper()
	up := providertest.Ollama(t, s)
	return New("local", up.URL, up.Client()), up
}

// collect streams req and returns the chunks emitted.
func collect(t *testing.T, ctx context.Context, c *Client, req *providers.Request) ([]providers.Chunk, error) {
	t.Helper()
	var got []providers.Chunk
	err := c.Stream(ctx, req, func(ch providers.Chunk) error {
		got = append(got, ch)
		return nil
	})
	return got, err
}

// wantError checks that err is a *providers.Error with status and
// retryability.
func wantError(t *testing.T, err error, status int, retryable bool, msg string) {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *providers.Error", err, err)
	}
	if pe.Provider != "local" || pe.Status != status || pe.Retryable != retryable {
		t.Errorf("err = %+v, want provider local, status %d, retryable %v", pe, status, retryable)
	}
	if !strings.Contains(pe.Err.Error(), msg) {
		t.Errorf("err = %q, want it to contain %q", pe.Err, msg)
	}
}

func TestComplete(t *testing.T) {
	c, up := fake(t, providertest.OllamaScript{Chunks: []string{"Hel", "lo"}, PromptEvalCount: 9, EvalCount: 2})
	c.KeepAlive = -1
	c.NumCtx = 8192
	resp, err := c.Complete(t.Context(), request(true))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Text() != "Hello" || resp.Message.Role != "assistant" || resp.FinishReason != "stop" || resp.Model != "llama3.2" {
		t.Errorf("resp = %+v", resp)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Created == 0 || resp.Raw != nil {
		t.Errorf("ID %q, Created %d, Raw %s", resp.ID, resp.Created, resp.Raw)
	}
	if resp.Usage != (providers.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11}) {
		t.Errorf("usage = %+v", resp.Usage)
	}
	sent := up.LastRequest()
	if sent.Stream == nil || *sent.Stream || sent.Model != "llama3.2" || sent.Messages[0].Content != "hi" {
		t.Errorf("sent %s", up.LastBody())
	}
	if sent.Options["temperature"] != 0.5 || sent.Options["num_ctx"] != float64(8192) {
		t.Errorf("options = %v", sent.Options)
	}
	if sent.KeepAlive == nil || !strings.Contains(string(up.LastBody()), `"keep_alive":-1`) {
		t.Errorf("keep_alive missing from %s", up.LastBody())
	}
}

func TestCompleteToolCalls(t *testing.T) {
	c, _ := fake(t, providertest.OllamaScript{ToolCalls: []api.ToolCall{call("call_1", "weather", `{"city":"Paris"}`)}})
	resp, err := c.Complete(t.Context(), request(false))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]`
	if string(resp.Message.ToolCalls) != want || resp.FinishReason != "tool_calls" || resp.Message.Parts != nil {
		t.Errorf("resp = %+v, tool calls %s", resp, resp.Message.ToolCalls)
	}
}

func TestStream(t *testing.T) {
	c, up := fake(t, providertest.OllamaScript{Model: "llama3.2:3b", Chunks: []string{"Hel", "lo"}, PromptEvalCount: 4, EvalCount: 2})
	got, err := collect(t, t.Context(), c, request(false))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d chunks, want 3: %+v", len(got), got)
	}
	if got[0].Role != "assistant" || got[0].Text != "Hel" || got[1].Role != "" || got[1].Text != "lo" {
		t.Errorf("content chunks = %+v", got[:2])
	}
	last := got[2]
	if last.FinishReason != "stop" || last.Usage == nil || *last.Usage != (providers.Usage{PromptTokens: 4, CompletionTokens: 2, TotalTokens: 6}) {
		t.Errorf("last chunk = %+v", last)
	}
	for _, ch := range got {
		if ch.ID != got[0].ID || !strings.HasPrefix(ch.ID, "chatcmpl-") || ch.Model != "llama3.2:3b" || ch.Created != got[0].Created || ch.Raw != nil {
			t.Errorf("chunk = %+v", ch)
		}
	}
	if sent := up.LastRequest(); sent.Stream == nil || !*sent.Stream {
		t.Errorf("sent %s, want stream true", up.LastBody())
	}
}

func TestStreamToolCalls(t *testing.T) {
	c, _ := fake(t, providertest.OllamaScript{ToolCalls: []api.ToolCall{
		call("", "weather", `{"city":"Paris"}`),
		call("", "weather", `{"city":"Rome"}`),
	}})
	got, err := collect(t, t.Context(), c, request(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].FinishReason != "tool_calls" {
		t.Fatalf("chunks = %+v", got)
	}
	var calls []struct {
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct{ Name, Arguments string }
	}
	if err := json.Unmarshal(got[0].ToolCalls, &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[1].Index != 1 || !strings.HasPrefix(calls[0].ID, "call_") || calls[0].ID == calls[1].ID ||
		calls[0].Type != "function" || calls[1].Function.Name != "weather" || calls[1].Function.Arguments != `{"city":"Rome"}` {
		t.Errorf("tool calls = %s", got[0].ToolCalls)
	}
}

func TestErrors(t *testing.T) {
	notFound := `model "llama9" not found, try pulling it first`
	tests := []struct {
		name      string
		script    providertest.OllamaScript
		status    int
		retryable bool
		msg       string
	}{
		{"model not found", providertest.OllamaScript{Status: 404, ErrorMessage: notFound}, 404, false, notFound},
		{"bad request", providertest.OllamaScript{Status: 400, ErrorMessage: "invalid options"}, 400, false, "invalid options"},
		{"unauthorized", providertest.OllamaScript{Status: 401, ErrorMessage: "unauthorized"}, 401, false, "Unauthorized"},
		{"rate limited", providertest.OllamaScript{Status: 429}, 429, true, "Too Many Requests"},
		{"server error", providertest.OllamaScript{Status: 500, ErrorMessage: "llama runner process has terminated"}, 500, true, "llama runner process has terminated"},
		{"overloaded", providertest.OllamaScript{Status: 503, ErrorMessage: "server busy"}, 503, true, "server busy"},
		{"reset", providertest.OllamaScript{CutAfter: -1}, 502, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, up := fake(t, tt.script)
			_, err := c.Complete(t.Context(), request(false))
			wantError(t, err, tt.status, tt.retryable, tt.msg)
			_, err = collect(t, t.Context(), c, request(true))
			wantError(t, err, tt.status, tt.retryable, tt.msg)
			if up.Requests() != 2 {
				t.Errorf("requests = %d, want 2", up.Requests())
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	c := New("local", providertest.Refused(t), nil)
	_, err := c.Complete(t.Context(), request(false))
	wantError(t, err, http.StatusBadGateway, true, "refused")
	_, err = collect(t, t.Context(), c, request(true))
	wantError(t, err, http.StatusBadGateway, true, "refused")
}

func TestBadRequestNeverSent(t *testing.T) {
	c, up := fake(t, providertest.OllamaScript{})
	req := request(false)
	req.Messages = []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "image_url", URL: "https://example.com/cat.png"}}}}
	_, err := c.Complete(t.Context(), req)
	wantError(t, err, http.StatusBadRequest, false, "remote image URLs are not supported")
	err = c.Stream(t.Context(), req, func(providers.Chunk) error { t.Error("emit called"); return nil })
	wantError(t, err, http.StatusBadRequest, false, "remote image URLs are not supported")
	if up.Requests() != 0 {
		t.Errorf("requests = %d, want 0", up.Requests())
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, u := range []string{"localhost:11434", "://x", ""} {
		c := New("local", u, nil)
		if _, err := c.Complete(t.Context(), request(false)); err == nil || providers.Retryable(err) {
			t.Errorf("%q: err = %v, want a non-retryable error", u, err)
		}
	}
}

func TestStreamCut(t *testing.T) {
	tests := []struct {
		name       string
		cutAfter   int
		wantChunks int
	}{
		{"after first chunk", 1, 1},
		{"instead of done", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fake(t, providertest.OllamaScript{Chunks: []string{"Hel", "lo"}, CutAfter: tt.cutAfter})
			got, err := collect(t, t.Context(), c, request(true))
			wantError(t, err, http.StatusBadGateway, true, "stream ended without done")
			if len(got) != tt.wantChunks {
				t.Errorf("got %d chunks, want %d", len(got), tt.wantChunks)
			}
		})
	}
	t.Run("complete", func(t *testing.T) {
		c, _ := fake(t, providertest.OllamaScript{Chunks: []string{"Hel", "lo"}, CutAfter: 1})
		_, err := c.Complete(t.Context(), request(false))
		wantError(t, err, http.StatusBadGateway, true, "")
	})
}

func TestStreamEmitErrorStops(t *testing.T) {
	c, up := fake(t, providertest.OllamaScript{Chunks: []string{"a", "b", "c"}})
	stop := errors.New("client went away")
	calls := 0
	err := c.Stream(t.Context(), request(true), func(providers.Chunk) error {
		calls++
		return stop
	})
	if err != stop {
		t.Errorf("err = %v, want emit's error as is", err)
	}
	if calls != 1 {
		t.Errorf("emit called %d times, want 1", calls)
	}
	if up.Requests() != 1 {
		t.Errorf("requests = %d", up.Requests())
	}
}

func TestCancel(t *testing.T) {
	c, _ := fake(t, providertest.OllamaScript{Chunks: []string{"a", "b"}, Delay: time.Minute})
	t.Run("complete", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := c.Complete(ctx, request(false)); err != context.Canceled {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := collect(t, ctx, c, request(true)); err != context.Canceled {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := collect(t, ctx, c, request(true)); err != context.DeadlineExceeded {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestTimeout(t *testing.T) {
	c, _ := fake(t, providertest.OllamaScript{Chunks: []string{"a", "b"}, Delay: time.Minute})
	c.Timeout = 50 * time.Millisecond
	_, err := c.Complete(t.Context(), request(false))
	wantError(t, err, http.StatusGatewayTimeout, true, "no complete answer within 50ms")
	_, err = collect(t, t.Context(), c, request(true))
	wantError(t, err, http.StatusGatewayTimeout, true, "no complete answer within 50ms")
}
