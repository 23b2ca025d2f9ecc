package echo

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

func request(text string) *providers.Request {
	msgs, _ := json.Marshal([]map[string]string{{"role": "user", "content": text}})
	return &providers.Request{
		Model:    "m",
		Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: text}}}},
		Fields:   map[string]json.RawMessage{"model": json.RawMessage(`"m"`), "messages": msgs},
	}
}

func TestStreamIsCompleteCutInChunks(t *testing.T) {
	ctx := providers.WithRouting(t.Context(), &providers.Routing{Route: "code", DecidedBy: "embedding", Score: 0.61234,
		Scores: []providers.RouteScore{{Route: "code", Score: 0.61234}, {Route: "math", Score: 0.2}}})
	c := New("demo")
	req := request("hello there")
	whole, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var chunks []providers.Chunk
	if err := c.Stream(ctx, req, func(ch providers.Chunk) error {
		chunks = append(chunks, ch)
		text.WriteString(ch.Text)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := text.String(), whole.Message.Text(); got != want {
		t.Fatalf("streamed text differs from the whole answer:\n%s\n---\n%s", got, want)
	}
	n := len(chunks)
	if n < 4 || chunks[0].Role != "assistant" || chunks[n-2].FinishReason != "stop" || chunks[n-1].Usage == nil || chunks[n-1].Text != "" {
		t.Fatalf("chunks %+v", chunks)
	}
	if *chunks[n-1].Usage != whole.Usage || whole.Usage.PromptTokens == 0 {
		t.Errorf("stream usage %+v, whole %+v", *chunks[n-1].Usage, whole.Usage)
	}
	if !strings.HasPrefix(whole.Message.Text(), "switchyard routed this request to route `code` (embedding, score 0.612).\nBest routes: code 0.612, math 0.200.") {
		t.Errorf("headline:\n%s", whole.Message.Text())
	}
}

func TestNoRoutingAndExplicitModels(t *testing.T) {
	c := New("demo")
	resp, err := c.Complete(t.Context(), request("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Message.Text(), "No routing decision reached the echo provider") {
		t.Errorf("without a decision:\n%s", resp.Message.Text())
	}
	ctx := providers.WithRouting(t.Context(), &providers.Routing{Model: "gpt-4o", DecidedBy: "explicit"})
	resp, _ = c.Complete(ctx, request("hi"))
	if !strings.HasPrefix(resp.Message.Text(), "switchyard served the model `gpt-4o` that the request named (explicit).") {
		t.Errorf("explicit:\n%s", resp.Message.Text())
	}
	ctx = providers.WithRouting(t.Context(), &providers.Routing{Route: "chat", DecidedBy: "default", Fallback: "no text to route on"})
	resp, _ = c.Complete(ctx, request("hi"))
	if !strings.HasPrefix(resp.Message.Text(), "switchyard routed this request to route `chat` (default). Why: no text to route on.") {
		t.Errorf("default:\n%s", resp.Message.Text())
	}
}

func TestLongRequestIsCut(t *testing.T) {
	c := New("demo")
	c.MaxEcho = 100
	resp, err := c.Complete(t.Context(), request(strings.Repeat("é", 500)))
	if err != nil {
		t.Fatal(err)
	}
	text := resp.Message.Text()
	_, block, _ := strings.Cut(text, "```json\n")
	block, _, _ = strings.Cut(block, "\n```")
	var r struct {
		Request    json.RawMessage `json:"request"`
		RequestCut string          `json:"request_cut"`
		Bytes      int             `json:"request_bytes"`
	}
	if err := json.Unmarshal([]byte(block), &r); err != nil {
		t.Fatalf("%v\n%s", err, block)
	}
	if r.Request != nil || len(r.RequestCut) > 100 || len(r.RequestCut) < 90 || r.Bytes < 1000 {
		t.Errorf("cut request: %d bytes shown of %d; request %s", len(r.RequestCut), r.Bytes, r.Request)
	}
}

func TestStreamStops(t *testing.T) {
	c := New("demo")
	boom := errors.New("client gone")
	calls := 0
	err := c.Stream(t.Context(), request(strings.Repeat("line\n", 200)), func(providers.Chunk) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("emit failing: err %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Complete(ctx, request("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Complete: %v", err)
	}
	if err := c.Stream(ctx, request("x"), func(providers.Chunk) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Stream: %v", err)
	}
}
