package providertest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// postChat sends body to the fake's /api/chat and returns the response,
// closed when the test ends.
func postChat(t *testing.T, ctx context.Context, up *providertest.OllamaUpstream, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.URL+"/api/chat", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := up.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readLines decodes an NDJSON body; err is the read error that ended it,
// nil at a clean end.
func readLines(t *testing.T, r io.Reader) (lines []api.ChatResponse, err error) {
	t.Helper()
	br := bufio.NewReader(r)
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			var line api.ChatResponse
			if err := json.Unmarshal(b, &line); err != nil {
				t.Fatalf("line %q: %v", b, err)
			}
			lines = append(lines, line)
		}
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
	}
}

func TestOllamaStream(t *testing.T) {
	args := api.NewToolCallFunctionArguments()
	args.Set("city", "Paris")
	up := providertest.Ollama(t, providertest.OllamaScript{
		Chunks:          []string{"Hel", "lo"},
		ToolCalls:       []api.ToolCall{{Function: api.ToolCallFunction{Name: "weather", Arguments: args}}},
		PromptEvalCount: 7,
		EvalCount:       3,
	})
	resp := postChat(t, t.Context(), up, `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	lines, err := readLines(t, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4: %+v", len(lines), lines)
	}
	if lines[0].Message.Content != "Hel" || lines[1].Message.Content != "lo" || lines[0].Done {
		t.Errorf("content lines = %+v", lines[:2])
	}
	if tc := lines[2].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "weather" || tc[0].Function.Arguments.String() != `{"city":"Paris"}` {
		t.Errorf("tool call line = %+v", lines[2].Message)
	}
	last := lines[3]
	if !last.Done || last.DoneReason != "stop" || last.PromptEvalCount != 7 || last.EvalCount != 3 || last.Model != "llama3.2" {
		t.Errorf("done line = %+v", last)
	}
	if up.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", up.Requests())
	}
	if got := up.LastRequest(); got.Model != "llama3.2" || len(got.Messages) != 1 || got.Messages[0].Content != "hi" {
		t.Errorf("LastRequest() = %+v", got)
	}
}

func TestOllamaNoStream(t *testing.T) {
	up := providertest.Ollama(t, providertest.OllamaScript{
		Model:      "qwen3",
		Chunks:     []string{"Hel", "lo"},
		DoneReason: "length",
		EvalCount:  2,
	})
	resp := postChat(t, t.Context(), up, `{"model":"m","stream":false,"messages":[]}`)
	var got api.ChatResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Message.Content != "Hello" || !got.Done || got.DoneReason != "length" || got.EvalCount != 2 || got.Model != "qwen3" {
		t.Errorf("reply = %+v", got)
	}
}

func TestOllamaError(t *testing.T) {
	tests := []struct {
		name     string
		script   providertest.OllamaScript
		body     string
		wantCode int
		wantMsg  string
	}{
		{"scripted", providertest.OllamaScript{Status: 404, ErrorMessage: `model "x" not found, try pulling it first`}, `{"model":"x"}`, 404, `model "x" not found, try pulling it first`},
		{"status text", providertest.OllamaScript{Status: 503}, `{"model":"x"}`, 503, "Service Unavailable"},
		{"no model", providertest.OllamaScript{}, `{"messages":[]}`, 400, "model is required"},
		{"bad json", providertest.OllamaScript{}, `{`, 400, "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.Ollama(t, tt.script)
			resp := postChat(t, t.Context(), up, tt.body)
			var body struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantCode || body.Error != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body.Error, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestOllamaCut(t *testing.T) {
	tests := []struct {
		name      string
		cutAfter  int
		wantLines int
	}{
		{"before anything", -1, 0},
		{"after one line", 1, 1},
		{"instead of done", 5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.Ollama(t, providertest.OllamaScript{Chunks: []string{"a", "b"}, CutAfter: tt.cutAfter})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, up.URL+"/api/chat", bytes.NewBufferString(`{"model":"m"}`))
			resp, err := up.Client().Do(req)
			if tt.cutAfter < 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatal("want a failed request")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			lines, err := readLines(t, resp.Body)
			if err == nil {
				t.Error("body ended cleanly, want a cut")
			}
			if len(lines) != tt.wantLines {
				t.Errorf("got %d lines, want %d", len(lines), tt.wantLines)
			}
			for _, l := range lines {
				if l.Done {
					t.Error("got a done line")
				}
			}
		})
	}
}

func TestOllamaDelayEndsWithClient(t *testing.T) {
	up := providertest.Ollama(t, providertest.OllamaScript{Chunks: []string{"a"}, Delay: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, up.URL+"/api/chat", bytes.NewBufferString(`{"model":"m"}`))
	start := time.Now()
	resp, err := up.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestOllamaUnknownPath(t *testing.T) {
	up := providertest.Ollama(t, providertest.OllamaScript{})
	resp, err := up.Client().Get(up.URL + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
}
