package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// stack is switchyard, built exactly as `serve` builds it, in front of fake
// upstreams, with an openai-go client pointed at it.
type stack struct {
	url       string
	client    openai.Client
	rt        *gateway.Runtime
	code      *providertest.Upstream       // answers the code route, after flaky
	flaky     *providertest.Upstream       // always 503
	creative  *providertest.OllamaUpstream // Ollama, behind a refused target
	strict    *providertest.Upstream       // answers 400
	chat      *providertest.Upstream       // the default route
	directory string
}

const e2eConfig = `
listen: 127.0.0.1:0
providers:
  - {name: flaky, kind: openai, base_url: %s}
  - {name: coder, kind: openai, base_url: %s}
  - {name: down, kind: openai, base_url: %s}
  - {name: home, kind: ollama, base_url: %s}
  - {name: strict, kind: openai, base_url: %s}
  - {name: general, kind: openai, base_url: %s, models: [gpt-general]}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates", "why does my Go program deadlock"]
    threshold: 0.40
    targets: [{provider: flaky, model: gpt-flaky}, {provider: coder, model: gpt-code}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: ["write a haiku about autumn rain", "tell me a bedtime story about a brave turtle"]
    targets: [{provider: down, model: gpt-down}, {provider: home, model: llama3.1}]
  - name: translation
    condition: "translate text from one language to another"
    examples: ["translate this paragraph into French", "how do you say good morning in Japanese"]
    threshold: 0.45
    targets: [{provider: strict, model: gpt-strict}, {provider: general, model: gpt-general}]
  - name: chat
    targets: [{provider: general, model: gpt-general}]
default_route: chat
routing: {threshold: 0.35, max_retries: 1}
server: {max_body_bytes: 65536}
`

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{
		flaky:    providertest.OpenAI(t, providertest.Script{Status: http.StatusServiceUnavailable}),
		code:     providertest.OpenAI(t, providertest.Script{Text: "from the code model", Chunks: []string{"from ", "the ", "code ", "model"}}),
		creative: providertest.Ollama(t, providertest.OllamaScript{Chunks: []string{"Moonlit ", "waves ", "whisper"}}),
		strict:   providertest.OpenAI(t, providertest.Script{Status: http.StatusBadRequest, Body: `{"error":{"message":"unsupported language pair","type":"invalid_request_error"}}`}),
		chat:     providertest.OpenAI(t, providertest.Script{Text: "hello from general"}),
	}
	cfgText := fmt.Sprintf(e2eConfig, s.flaky.URL, s.code.URL, providertest.Refused(t), s.creative.URL, s.strict.URL, s.chat.URL)
	s.directory = t.TempDir()
	path := filepath.Join(s.directory, "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := env{getenv: func(string) string { return "" }}
	root := modelsRootOf(t)
	rt, err := gateway.Build(t.Context(), cfg, e.gateway(), root, providers.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	s.rt = rt
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(srv.Close)
	s.url = srv.URL
	s.client = openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return s
}

func userParams(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

func TestAutoRoutingPicksTheRouteAndFailsOver(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name, model, prompt string
		wantRoute, wantText string
		wantTarget          string
	}{
		// flaky answers 503, then coder answers: failover comes before
		// any retry.
		{"code after a 503", "", "my Go program panics with a nil pointer dereference, how do I fix it", "code", "from the code model", "coder/gpt-code"},
		// down refuses connections, then Ollama answers.
		{"creative after a refused connection", "auto", "write a short poem about the ocean at night", "creative", "Moonlit waves whisper", "home/llama3.1"},
		{"small talk takes the default", "", "hi there, how is your day going?", "chat", "hello from general", "general/gpt-general"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			got, err := s.client.Chat.Completions.New(t.Context(), userParams(tt.model, tt.prompt), option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			if route := resp.Header.Get(proxy.HeaderRoute); route != tt.wantRoute {
				t.Fatalf("routed to %q (decided by %s, score %s), want %q", route,
					resp.Header.Get(proxy.HeaderDecidedBy), resp.Header.Get(proxy.HeaderScore), tt.wantRoute)
			}
			if target := resp.Header.Get(proxy.HeaderModel); target != tt.wantTarget {
				t.Errorf("answered by %q, want %q", target, tt.wantTarget)
			}
			if len(got.Choices) != 1 || got.Choices[0].Message.Content != tt.wantText {
				t.Errorf("answer %+v, want %q", got.Choices, tt.wantText)
			}
		})
	}
	if n := s.flaky.Requests(); n != 1 {
		t.Errorf("flaky upstream got %d requests, want 1 (then failover)", n)
	}
	if n := s.code.Requests(); n != 1 {
		t.Errorf("code upstream got %d requests, want 1", n)
	}
	if n := s.creative.Requests(); n != 1 {
		t.Errorf("ollama upstream got %d requests, want 1", n)
	}
	// The upstream received the target's model, not "auto" or nothing.
	if m := jsonField(t, s.code.LastBody(), "model"); m != "gpt-code" {
		t.Errorf("code upstream was asked for model %q, want gpt-code", m)
	}
}

func TestStreamingThroughTheSDK(t *testing.T) {
	s := newStack(t)
	for _, tt := range []struct {
		name, prompt, want string
	}{
		{"openai upstream", "my Python script crashes with a stack trace, how do I debug it", "from the code model"},
		{"ollama upstream", "tell me a story about a dragon who learns to sing", "Moonlit waves whisper"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			stream := s.client.Chat.Completions.NewStreaming(t.Context(), userParams("", tt.prompt), option.WithResponseInto(&resp))
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type %q, want text/event-stream", ct)
			}
			if chunks < 3 {
				t.Errorf("got %d chunks, want the upstream's chunks relayed one by one", chunks)
			}
			if got := acc.Choices[0].Message.Content; got != tt.want {
				t.Errorf("streamed text %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpstream400IsNotRetried(t *testing.T) {
	s := newStack(t)
	var resp *http.Response
	_, err := s.client.Chat.Completions.New(t.Context(), userParams("", "translate 'good morning, how are you?' into German"), option.WithResponseInto(&resp))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v, want a 400 from the upstream", err)
	}
	if !strings.Contains(apiErr.Message, "unsupported language pair") {
		t.Errorf("message %q does not carry the upstream's", apiErr.Message)
	}
	if got := resp.Header.Get(proxy.HeaderRoute); got != "translation" {
		t.Errorf("routed to %q, want translation", got)
	}
	if n := s.strict.Requests(); n != 1 {
		t.Errorf("strict upstream got %d requests, want exactly 1", n)
	}
	if n := s.chat.Requests(); n != 0 {
		t.Errorf("the next target got %d requests; a 400 must not fail over", n)
	}
}

func TestExplicitModelBypassesRouting(t *testing.T) {
	s := newStack(t)
	cached := s.rt.Embedder.(*embed.Cached)
	hits, misses := cached.Stats()
	var resp *http.Response
	got, err := s.client.Chat.Completions.New(t.Context(), userParams("gpt-general", "my Go program panics with a nil pointer dereference"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != "hello from general" || resp.Header.Get(proxy.HeaderDecidedBy) != "explicit" {
		t.Fatalf("answer %q decided by %q; want the general upstream, explicitly", got.Choices[0].Message.Content, resp.Header.Get(proxy.HeaderDecidedBy))
	}
	if h, m := cached.Stats(); h != hits || m != misses {
		t.Errorf("the embedder was consulted (hits %d→%d, misses %d→%d); an explicit model must not be embedded", hits, h, misses, m)
	}
	// A route's name works as a model too.
	_, err = s.client.Chat.Completions.New(t.Context(), userParams("chat", "anything"), option.WithResponseInto(&resp))
	if err != nil || resp.Header.Get(proxy.HeaderRoute) != "chat" {
		t.Fatalf("route by name: err %v, route %q", err, resp.Header.Get(proxy.HeaderRoute))
	}
}

func TestBadRequestsGetOpenAIErrors(t *testing.T) {
	s := newStack(t)
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 70000) + `"}]}`
	tests := []struct {
		name, body string
		wantStatus int
		wantMsg    string
	}{
		{"malformed json", `{"messages": [`, 400, "invalid JSON"},
		{"no messages", `{"model":"auto"}`, 400, "messages"},
		{"wrong content type", `{"messages":[{"role":"user","content":42}]}`, 400, "content"},
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "gpt-9"},
		{"oversize body", big, 413, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(s.url+"/v1/chat/completions", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body.Error.Message, tt.wantMsg) || body.Error.Type == "" {
				t.Fatalf("status %d, error %+v; want %d with a typed message containing %q", resp.StatusCode, body.Error, tt.wantStatus, tt.wantMsg)
			}
		})
	}
	for _, up := range []interface{ Requests() int }{s.flaky, s.code, s.strict, s.chat, s.creative} {
		if up.Requests() != 0 {
			t.Fatalf("a bad request reached an upstream")
		}
	}
}

func TestModelsListsRoutesAndServedModels(t *testing.T) {
	s := newStack(t)
	page, err := s.client.Models.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	got := strings.Join(ids, ",")
	for _, want := range []string{"auto", "code", "creative", "translation", "chat", "gpt-general", "gpt-code", "llama3.1"} {
		if !strings.Contains(","+got+",", ","+want+",") {
			t.Errorf("models %v lack %q", ids, want)
		}
	}
}

func TestHealthAndUnprefixedPath(t *testing.T) {
	s := newStack(t)
	resp, err := http.Get(s.url + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	body := `{"messages":[{"role":"user","content":"hi there, how is your day going?"}]}`
	resp, err = http.Post(s.url+"/chat/completions", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "hello from general") {
		t.Fatalf("POST /chat/completions: %d %s", resp.StatusCode, b)
	}
}

func jsonField(t *testing.T, body []byte, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("upstream body is not JSON: %v", err)
	}
	s, _ := m[key].(string)
	return s
}
