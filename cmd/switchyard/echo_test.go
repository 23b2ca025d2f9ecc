package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/proxy"
)

const echoConfig = `
providers:
  - {name: demo, kind: echo}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: [write a function that parses dates, fix this stack trace]
    targets: [{provider: demo, model: echo-code}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: [write a haiku about autumn rain]
    targets: [{provider: demo, model: echo-creative}]
  - name: chat
    targets: [{provider: demo, model: echo-chat}]
default_route: chat
`

// echoServer serves echoConfig through the real gateway and proxy, with
// the in-process embedding model.
func echoServer(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(echoConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := gateway.Build(t.Context(), cfg, env{getenv: func(string) string { return "" }}.gateway(), modelsRootOf(t), providers.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// echoReport is the JSON block of an echo answer.
type echoReport struct {
	Routing struct {
		Route     string  `json:"route"`
		DecidedBy string  `json:"decided_by"`
		Score     float64 `json:"score"`
		Scores    []struct {
			Route string  `json:"route"`
			Score float64 `json:"score"`
		} `json:"scores"`
	} `json:"routing"`
	Request map[string]json.RawMessage `json:"request"`
}

// parseEcho checks an echo answer's text: a line naming the route, then a
// JSON block with the decision and the request sent as the target's model.
func parseEcho(t *testing.T, text, route string) echoReport {
	t.Helper()
	if !strings.HasPrefix(text, "switchyard routed this request to route `"+route+"` (embedding, score ") {
		t.Errorf("answer does not open with the decision:\n%s", text)
	}
	_, block, ok := strings.Cut(text, "```json\n")
	block, _, ok2 := strings.Cut(block, "\n```")
	if !ok || !ok2 {
		t.Fatalf("no JSON block in:\n%s", text)
	}
	var r echoReport
	if err := json.Unmarshal([]byte(block), &r); err != nil {
		t.Fatalf("JSON block: %v\n%s", err, block)
	}
	if r.Routing.Route != route || r.Routing.DecidedBy != "embedding" || len(r.Routing.Scores) == 0 ||
		r.Routing.Scores[0].Route != route || r.Routing.Scores[0].Score != r.Routing.Score {
		t.Errorf("routing %+v", r.Routing)
	}
	var model string
	if err := json.Unmarshal(r.Request["model"], &model); err != nil || model != "echo-"+route {
		t.Errorf("request model %s, want the target's model echo-%s", r.Request["model"], route)
	}
	if !strings.Contains(string(r.Request["messages"]), "reverse a linked list") {
		t.Errorf("request messages %s", r.Request["messages"])
	}
	return r
}

const echoPrompt = "write a Go function to reverse a linked list"

func TestEchoProviderOpenAISDK(t *testing.T) {
	url := echoServer(t)
	c := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "whole", true: "stream"}[stream], func(t *testing.T) {
			params := userParams("", echoPrompt)
			params.Temperature = openai.Float(0.2)
			got := interopOpenAIComplete(t, c, stream, params)
			r := parseEcho(t, got.Choices[0].Message.Content, "code")
			if string(r.Request["temperature"]) != "0.2" {
				t.Errorf("the echoed request lost the client's field: temperature %s", r.Request["temperature"])
			}
			if got.Choices[0].FinishReason != "stop" || got.Usage.PromptTokens < 10 || got.Usage.CompletionTokens < 50 ||
				got.Usage.TotalTokens != got.Usage.PromptTokens+got.Usage.CompletionTokens {
				t.Errorf("finish %q, usage %+v", got.Choices[0].FinishReason, got.Usage)
			}
		})
	}
}

func TestEchoProviderAnthropicSDK(t *testing.T) {
	url := echoServer(t)
	c := anthropic.NewClient(anthropicoption.WithBaseURL(url+"/"), anthropicoption.WithAPIKey("unused"), anthropicoption.WithMaxRetries(0))
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "whole", true: "stream"}[stream], func(t *testing.T) {
			msg := interopAnthropicMessage(t, c, stream, anthropic.MessageNewParams{
				MaxTokens: 300,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(echoPrompt))},
			})
			if len(msg.Content) != 1 || msg.Content[0].Type != "text" {
				t.Fatalf("content %+v, want one text block", msg.Content)
			}
			r := parseEcho(t, msg.Content[0].Text, "code")
			// The request is shown as an OpenAI upstream would get it.
			if string(r.Request["max_tokens"]) != "300" {
				t.Errorf("echoed request's max_tokens %s, want 300", r.Request["max_tokens"])
			}
			if msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens < 10 || msg.Usage.OutputTokens < 50 {
				t.Errorf("stop %q, usage %+v", msg.StopReason, msg.Usage)
			}
		})
	}
}
