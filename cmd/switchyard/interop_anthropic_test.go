package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	openaissestream "github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// The interop matrix: each official Go SDK (openai-go, anthropic-sdk-go)
// talks to switchyard in its own dialect, in front of a fake upstream of
// the same dialect and of the other, streamed and not. scripts/interop
// runs the same matrix with the Python SDKs against the built binary.

// interopConfig serves one alias per upstream dialect, so no route needs
// the embedding model.
const interopConfig = `
listen: 127.0.0.1:0
providers:
  - {name: oup, kind: openai, base_url: %s}
  - {name: aup, kind: anthropic, base_url: %s}
aliases:
  oa: [{provider: oup, model: gpt-up}]
  an: [{provider: aup, model: claude-up}]
`

// interopStack is switchyard in front of one fake upstream of each dialect.
type interopStack struct {
	url       string
	openai    *providertest.Upstream
	anthropic *providertest.Upstream
}

// upstream returns the fake of a dialect and the alias that reaches it.
func (s *interopStack) upstream(dialect string) (*providertest.Upstream, string) {
	if dialect == providers.DialectAnthropic {
		return s.anthropic, "an"
	}
	return s.openai, "oa"
}

// newInteropStack starts both fakes, each answering with scripts in
// order, and switchyard in front of them, built as serve builds it.
func newInteropStack(t *testing.T, scripts ...providertest.Script) *interopStack {
	t.Helper()
	s := &interopStack{
		openai:    providertest.OpenAI(t, scripts...),
		anthropic: providertest.Anthropic(t, scripts...),
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, interopConfig, s.openai.URL, s.anthropic.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := gateway.Build(t.Context(), cfg, gateway.Env{}, t.TempDir(), providers.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *interopStack) openAIClient() openai.Client {
	return openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey("sk-client"), option.WithMaxRetries(0))
}

func (s *interopStack) anthropicClient() anthropic.Client {
	return anthropic.NewClient(anthropicoption.WithBaseURL(s.url+"/"), anthropicoption.WithAPIKey("sk-client"), anthropicoption.WithMaxRetries(0))
}

// The conversation every fake scripts.
const (
	interopQuestion = "What is the weather in Paris right now?"
	interopText     = "Hello from the fake upstream."
	interopFinal    = "It is 18 degrees and sunny in Paris."
	interopResult   = `{"temperature":18,"unit":"celsius","sky":"sunny"}`
	interopCallID   = "call_weather_1"
	interopToolName = "get_weather"
	// interopPreamble is what the model says before its call, as Claude
	// (and sometimes GPT) does.
	interopPreamble = "Let me check the weather."
)

// interopArgFragments are the tool call's arguments as the fakes stream
// them, cut where no JSON tokenizer would cut.
func interopArgFragments() []string {
	return []string{`{"city"`, `: "Par`, `is", "unit": "cel`, `sius"}`}
}

func interopArgs() string { return strings.Join(interopArgFragments(), "") }

func interopSchema() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"city": map[string]any{"type": "string", "description": "City name"},
			"unit": map[string]any{"type": "string", "enum": []string{"celsius", "fahrenheit"}},
		},
		"required": []string{"city"},
	}
}

// interopTextScript answers text, streamed in three chunks.
func interopTextScript(text string) providertest.Script {
	words := strings.SplitAfterN(text, " ", 3)
	return providertest.Script{Text: text, Chunks: words}
}

// interopToolScript answers with a few words and then a call of
// get_weather, its arguments streamed in fragments.
func interopToolScript() providertest.Script {
	return providertest.Script{Text: interopPreamble, ToolCall: &providertest.ToolCall{
		ID: interopCallID, Name: interopToolName, ArgChunks: interopArgFragments(),
	}}
}

var (
	interopClients   = []string{"openai-go", "anthropic-sdk-go"}
	interopUpstreams = []string{providers.DialectOpenAI, providers.DialectAnthropic}
)

// forEachInteropCombination runs f for every client × upstream × stream.
func forEachInteropCombination(t *testing.T, f func(t *testing.T, client, upstream string, stream bool)) {
	for _, client := range interopClients {
		for _, upstream := range interopUpstreams {
			for _, stream := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s-upstream/%s", client, upstream, map[bool]string{false: "complete", true: "stream"}[stream])
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					f(t, client, upstream, stream)
				})
			}
		}
	}
}

func TestInteropText(t *testing.T) {
	forEachInteropCombination(t, func(t *testing.T, client, upstream string, stream bool) {
		s := newInteropStack(t, interopTextScript(interopText))
		fake, model := s.upstream(upstream)
		var got string
		switch client {
		case "openai-go":
			c := interopOpenAIComplete(t, s.openAIClient(), stream, openai.ChatCompletionNewParams{
				Model:    model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello.")},
			})
			if f := c.Choices[0].FinishReason; f != "stop" {
				t.Errorf("finish_reason %q, want stop", f)
			}
			got = c.Choices[0].Message.Content
		default:
			m := interopAnthropicMessage(t, s.anthropicClient(), stream, anthropic.MessageNewParams{
				Model:     anthropic.Model(model),
				MaxTokens: 256,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello."))},
			})
			if m.StopReason != anthropic.StopReasonEndTurn {
				t.Errorf("stop_reason %q, want end_turn", m.StopReason)
			}
			got = interopAnthropicText(m)
		}
		if got != interopText {
			t.Errorf("answer %q, want %q", got, interopText)
		}
		if n := fake.Requests(); n != 1 {
			t.Errorf("the %s upstream got %d requests, want 1", upstream, n)
		}
	})
}

func TestInteropToolRoundTrip(t *testing.T) {
	forEachInteropCombination(t, func(t *testing.T, client, upstream string, stream bool) {
		s := newInteropStack(t, interopToolScript(), interopTextScript(interopFinal))
		fake, model := s.upstream(upstream)
		switch client {
		case "openai-go":
			openAIToolRoundTrip(t, s.openAIClient(), model, stream)
		default:
			anthropicToolRoundTrip(t, s.anthropicClient(), model, stream)
		}
		if n := fake.Requests(); n != 2 {
			t.Fatalf("the %s upstream got %d requests, want 2", upstream, n)
		}
		checkInteropUpstreamResult(t, upstream, fake.LastBody())
	})
}

func openAIToolRoundTrip(t *testing.T, c openai.Client, model string, stream bool) {
	t.Helper()
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(interopQuestion)},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        interopToolName,
			Description: openai.String("Current weather in a city"),
			Parameters:  shared.FunctionParameters(interopSchema()),
		})},
	}
	first := interopOpenAIComplete(t, c, stream, params)
	choice := first.Choices[0]
	if choice.FinishReason != "tool_calls" {
		t.Errorf("finish_reason %q, want tool_calls", choice.FinishReason)
	}
	calls := choice.Message.ToolCalls
	if len(calls) != 1 {
		t.Fatalf("tool calls %+v, want 1", calls)
	}
	call := calls[0]
	if call.ID != interopCallID || call.Type != "function" || call.Function.Name != interopToolName {
		t.Errorf("tool call id %q type %q name %q, want %q function %q", call.ID, call.Type, call.Function.Name, interopCallID, interopToolName)
	}
	interopJSONEqual(t, "arguments", call.Function.Arguments, interopArgs())
	if choice.Message.Content != interopPreamble {
		t.Errorf("content before the call %q, want %q", choice.Message.Content, interopPreamble)
	}

	params.Messages = append(params.Messages, choice.Message.ToParam(), openai.ToolMessage(interopResult, call.ID))
	final := interopOpenAIComplete(t, c, stream, params)
	if got := final.Choices[0].Message.Content; got != interopFinal {
		t.Errorf("final answer %q, want %q", got, interopFinal)
	}
	if f := final.Choices[0].FinishReason; f != "stop" {
		t.Errorf("final finish_reason %q, want stop", f)
	}
}

func anthropicToolRoundTrip(t *testing.T, c anthropic.Client, model string, stream bool) {
	t.Helper()
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(interopQuestion))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        interopToolName,
			Description: anthropic.String("Current weather in a city"),
			InputSchema: anthropic.ToolInputSchemaParam{
				Properties: interopSchema()["properties"],
				Required:   []string{"city"},
			},
		}}},
	}
	first := interopAnthropicMessage(t, c, stream, params)
	if first.StopReason != anthropic.StopReasonToolUse {
		t.Errorf("stop_reason %q, want tool_use", first.StopReason)
	}
	var uses []anthropic.ToolUseBlock
	for _, b := range first.Content {
		if u, ok := b.AsAny().(anthropic.ToolUseBlock); ok {
			uses = append(uses, u)
		}
	}
	if len(uses) != 1 {
		t.Fatalf("content %+v, want one tool_use block", first.Content)
	}
	use := uses[0]
	if use.ID != interopCallID || use.Name != interopToolName {
		t.Errorf("tool_use id %q name %q, want %q %q", use.ID, use.Name, interopCallID, interopToolName)
	}
	interopJSONEqual(t, "input", string(use.Input), interopArgs())
	if got := interopAnthropicText(first); got != interopPreamble {
		t.Errorf("text before the call %q, want %q", got, interopPreamble)
	}

	params.Messages = append(params.Messages, first.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, interopResult, false)))
	final := interopAnthropicMessage(t, c, stream, params)
	if got := interopAnthropicText(final); got != interopFinal {
		t.Errorf("final answer %q, want %q", got, interopFinal)
	}
	if final.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("final stop_reason %q, want end_turn", final.StopReason)
	}
}

// checkInteropUpstreamResult checks that the upstream received the call and
// its result in its own dialect, under the call's id.
func checkInteropUpstreamResult(t *testing.T, upstream string, body []byte) {
	t.Helper()
	var req struct {
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("upstream body %s: %v", body, err)
	}
	n := len(req.Messages)
	if n < 3 {
		t.Fatalf("upstream got %d messages, want question, call and result: %s", n, body)
	}
	call, result := req.Messages[n-2], req.Messages[n-1]
	if upstream == providers.DialectOpenAI {
		if result.Role != "tool" || result.ToolCallID != interopCallID || interopContentText(t, result.Content) != interopResult {
			t.Errorf("upstream's last message is %+v (content %s), want the tool result for %s", result, result.Content, interopCallID)
		}
		if call.Role != "assistant" || len(call.ToolCalls) != 1 || call.ToolCalls[0].ID != interopCallID ||
			call.ToolCalls[0].Type != "function" || call.ToolCalls[0].Function.Name != interopToolName {
			t.Fatalf("upstream's call message is %+v, want the assistant's call %s", call, interopCallID)
		}
		interopJSONEqual(t, "upstream arguments", call.ToolCalls[0].Function.Arguments, interopArgs())
		if got := interopContentText(t, call.Content); got != interopPreamble {
			t.Errorf("upstream's call message says %q, want %q", got, interopPreamble)
		}
		return
	}
	type block struct {
		Type      string          `json:"type"`
		Text      string          `json:"text"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
		ToolUseID string          `json:"tool_use_id"`
		Content   json.RawMessage `json:"content"`
	}
	var results, uses []block
	if err := json.Unmarshal(result.Content, &results); err != nil || result.Role != "user" {
		t.Fatalf("upstream's last message is %s %s, want a user turn of blocks", result.Role, result.Content)
	}
	if err := json.Unmarshal(call.Content, &uses); err != nil || call.Role != "assistant" {
		t.Fatalf("upstream's call message is %s %s, want an assistant turn of blocks", call.Role, call.Content)
	}
	texts := interopBlocks(uses, "text", func(b block) string { return b.Type })
	if len(texts) != 1 || texts[0].Text != interopPreamble {
		t.Errorf("upstream's call message has text blocks %+v, want one saying %q", texts, interopPreamble)
	}
	results = interopBlocks(results, "tool_result", func(b block) string { return b.Type })
	uses = interopBlocks(uses, "tool_use", func(b block) string { return b.Type })
	if len(results) != 1 || results[0].ToolUseID != interopCallID || interopContentText(t, results[0].Content) != interopResult {
		t.Errorf("upstream's tool results %+v, want one for %s with %s", results, interopCallID, interopResult)
	}
	if len(uses) != 1 || uses[0].ID != interopCallID || uses[0].Name != interopToolName {
		t.Fatalf("upstream's tool uses %+v, want one %s of %s", uses, interopCallID, interopToolName)
	}
	interopJSONEqual(t, "upstream input", string(uses[0].Input), interopArgs())
}

func interopBlocks[B any](bs []B, typ string, typeOf func(B) string) []B {
	var out []B
	for _, b := range bs {
		if typeOf(b) == typ {
			out = append(out, b)
		}
	}
	return out
}

// interopContentText reads message content that is a string or an array of text
// parts (either dialect).
func interopContentText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type, Text string
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		t.Errorf("content %s is neither a string nor parts", raw)
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

func TestInteropUnknownModel(t *testing.T) {
	s := newInteropStack(t)
	t.Run("openai-go", func(t *testing.T) {
		c := s.openAIClient()
		_, err := c.Chat.Completions.New(t.Context(), userParams("no-such-model", "hi"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("err = %v, want the SDK's *openai.Error with 404", err)
		}
	})
	t.Run("anthropic-sdk-go", func(t *testing.T) {
		c := s.anthropicClient()
		_, err := c.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:     "no-such-model",
			MaxTokens: 16,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("err = %v, want the SDK's *anthropic.Error with 404", err)
		}
		if typ := apiErr.Type(); typ != "not_found_error" {
			t.Errorf("error type %q, want not_found_error (body %s)", typ, apiErr.RawJSON())
		}
	})
	t.Run("anthropic-sdk-go/stream", func(t *testing.T) {
		c := s.anthropicClient()
		stream := c.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{
			Model:     "no-such-model",
			MaxTokens: 16,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		for stream.Next() {
			t.Errorf("unexpected event %s", stream.Current().Type)
		}
		var apiErr *anthropic.Error
		if err := stream.Err(); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("err = %v, want the SDK's *anthropic.Error with 404", err)
		}
	})
}

// TestInteropUpstreamError: an upstream's refusal reaches each client as
// its SDK's typed error, with the upstream's status, whatever the
// upstream's dialect.
func TestInteropUpstreamError(t *testing.T) {
	for _, upstream := range interopUpstreams {
		t.Run(upstream+"-upstream", func(t *testing.T) {
			s := newInteropStack(t, providertest.Script{Status: http.StatusBadRequest})
			_, model := s.upstream(upstream)
			oc, ac := s.openAIClient(), s.anthropicClient()
			_, err := oc.Chat.Completions.New(t.Context(), userParams(model, "hi"))
			var oaErr *openai.Error
			if !errors.As(err, &oaErr) || oaErr.StatusCode != http.StatusBadRequest {
				t.Errorf("openai-go: err = %v, want *openai.Error with 400", err)
			}
			_, err = ac.Messages.New(t.Context(), anthropic.MessageNewParams{
				Model:     anthropic.Model(model),
				MaxTokens: 16,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			var anErr *anthropic.Error
			if !errors.As(err, &anErr) || anErr.StatusCode != http.StatusBadRequest {
				t.Errorf("anthropic-sdk-go: err = %v, want *anthropic.Error with 400", err)
			} else if typ := anErr.Type(); typ != "invalid_request_error" {
				t.Errorf("anthropic-sdk-go: error type %q, want invalid_request_error (body %s)", typ, anErr.RawJSON())
			}
		})
	}
}

// interopOpenAIComplete makes one chat completion with the SDK, streamed
// (accumulated with its ChatCompletionAccumulator) or not, and checks that
// everything decoded.
func interopOpenAIComplete(t *testing.T, c openai.Client, stream bool, params openai.ChatCompletionNewParams) openai.ChatCompletion {
	t.Helper()
	if !stream {
		got, err := c.Chat.Completions.New(t.Context(), params)
		if err != nil {
			t.Fatal(err)
		}
		checkSDKDecoded(t, "completion", got)
		if len(got.Choices) != 1 {
			t.Fatalf("choices %+v, want 1", got.Choices)
		}
		return *got
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(t.Context(), params)
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for s.Next() {
		chunk := s.Current()
		checkSDKDecoded(t, fmt.Sprintf("chunk %d", chunks), chunk)
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d: object %q", chunks, chunk.Object)
		}
		if !acc.AddChunk(chunk) {
			t.Fatalf("the accumulator refused chunk %d: %s", chunks, chunk.RawJSON())
		}
		chunks++
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 3 {
		t.Errorf("got %d chunks, want the answer relayed chunk by chunk", chunks)
	}
	if len(acc.Choices) != 1 {
		t.Fatalf("accumulated choices %+v, want 1", acc.Choices)
	}
	return acc.ChatCompletion
}

// interopAnthropicMessage makes one Messages call with the SDK, streamed
// (accumulated with Message.Accumulate) or not, and checks that
// everything decoded.
func interopAnthropicMessage(t *testing.T, c anthropic.Client, stream bool, params anthropic.MessageNewParams) anthropic.Message {
	t.Helper()
	if !stream {
		got, err := c.Messages.New(t.Context(), params)
		if err != nil {
			t.Fatal(err)
		}
		checkSDKDecoded(t, "message", got)
		checkAnthropicMessage(t, got)
		return *got
	}
	s := c.Messages.NewStreaming(t.Context(), params)
	defer s.Close()
	var msg anthropic.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		checkSDKDecoded(t, "event "+ev.Type, ev)
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate %s: %v (events so far %v)", ev.Type, err, types)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(types) < 2 || types[0] != "message_start" || types[len(types)-1] != "message_stop" {
		t.Errorf("events %v, want message_start … message_stop", types)
	}
	checkAnthropicMessage(t, &msg)
	return msg
}

// checkAnthropicMessage checks the fields a Messages answer always has.
func checkAnthropicMessage(t *testing.T, m *anthropic.Message) {
	t.Helper()
	if m.ID == "" || m.Type != "message" || m.Role != "assistant" || m.Model == "" || !m.JSON.Usage.Valid() {
		t.Errorf("message id %q type %q role %q model %q usage %s: want all set", m.ID, m.Type, m.Role, m.Model, m.JSON.Usage.Raw())
	}
}

func interopAnthropicText(m anthropic.Message) string {
	var b strings.Builder
	for _, c := range m.Content {
		// Not AsAny: it decodes the block's raw JSON, which Accumulate
		// refreshes only when the block stops, and a cut stream never
		// stops its block.
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

func interopJSONEqual(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("%s %q is not JSON: %v", what, got, err)
		return
	}
	json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// sdkField is the metadata both SDKs keep for every decoded field.
type sdkField interface {
	Valid() bool
	Raw() string
}

// checkSDKDecoded fails when the SDK met a field it could not decode. The Go
// SDKs do not return such errors: they keep the field's zero value and
// mark its metadata invalid (present, not null, not Valid), so this walk
// is what "the clients parse everything without errors" means for them.
func checkSDKDecoded(t *testing.T, what string, v any) {
	t.Helper()
	var bad []string
	walkSDKDecoded(reflect.ValueOf(v), what, &bad, 0)
	if len(bad) > 0 {
		t.Errorf("the SDK could not decode: %s", strings.Join(bad, "; "))
	}
}

func walkSDKDecoded(v reflect.Value, path string, bad *[]string, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSDKDecoded(v.Elem(), path, bad, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkSDKDecoded(v.Index(i), fmt.Sprintf("%s[%d]", path, i), bad, depth+1)
		}
	case reflect.Struct:
		typ := v.Type()
		if meta, ok := typ.FieldByName("JSON"); ok && meta.Type.Kind() == reflect.Struct {
			jv := v.FieldByIndex(meta.Index)
			for i := range jv.NumField() {
				f := jv.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				if rf, ok := jv.Field(i).Interface().(sdkField); ok {
					if raw := rf.Raw(); raw != "" && raw != "null" && !rf.Valid() {
						*bad = append(*bad, fmt.Sprintf("%s.%s = %s", path, f.Name, raw))
					}
				}
			}
		}
		for i := range v.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || f.Name == "JSON" {
				continue
			}
			walkSDKDecoded(v.Field(i), path+"."+f.Name, bad, depth+1)
		}
	}
}

// TestInteropCutStream: an upstream that cuts its stream after the first
// chunk, once content is out, ends the client's stream with an in-band
// error its SDK reports from Err (not a silent, truncated success).
func TestInteropCutStream(t *testing.T) {
	cut := interopTextScript(interopText)
	cut.CutAfter = 1
	for _, client := range interopClients {
		for _, upstream := range interopUpstreams {
			t.Run(client+"/"+upstream+"-upstream", func(t *testing.T) {
				t.Parallel()
				s := newInteropStack(t, cut)
				_, model := s.upstream(upstream)
				var text string
				var err error
				switch client {
				case "openai-go":
					c := s.openAIClient()
					st := c.Chat.Completions.NewStreaming(t.Context(), userParams(model, "Say hello."))
					for st.Next() {
						checkSDKDecoded(t, "chunk", st.Current())
						for _, ch := range st.Current().Choices {
							text += ch.Delta.Content
						}
					}
					err = st.Err()
					st.Close()
					var se *openaissestream.StreamError
					if !errors.As(err, &se) {
						t.Errorf("err = %v (%T), want the SDK's in-band *ssestream.StreamError", err, err)
					}
				default:
					c := s.anthropicClient()
					st := c.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{
						Model:     anthropic.Model(model),
						MaxTokens: 64,
						Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello."))},
					})
					var msg anthropic.Message
					for st.Next() {
						checkSDKDecoded(t, "event", st.Current())
						if e := msg.Accumulate(st.Current()); e != nil {
							t.Fatalf("accumulate: %v", e)
						}
					}
					err = st.Err()
					st.Close()
					text = interopAnthropicText(msg)
					var apiErr *anthropic.Error
					if !errors.As(err, &apiErr) || apiErr.Type() == "" {
						t.Errorf("err = %v (%T), want the SDK's *anthropic.Error from an error event with a type", err, err)
					}
				}
				if want := strings.SplitAfterN(interopText, " ", 3)[0]; text != want {
					t.Errorf("text before the cut %q, want %q", text, want)
				}
			})
		}
	}
}
