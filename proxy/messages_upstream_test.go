package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// Tests with an Anthropic upstream, for Anthropic clients (pass-through)
// and OpenAI clients (translated).

var createdRE = regexp.MustCompile(`"created":[0-9]+`)

// anthropicTarget is target for a fake Anthropic upstream, whose key is
// "upstream-key".
func anthropicTarget(name string, u *providertest.Upstream) providers.Target {
	return providers.Target{Name: name + "/fake-model", Provider: anthropic.New(name, u.URL, "upstream-key", u.Client()), Model: "fake-model"}
}

// TestMessagesFromAnthropicUpstream: an Anthropic client served by an
// Anthropic upstream gets the upstream's answer byte for byte, and the
// upstream gets the client's fields, its own key and no client key.
func TestMessagesFromAnthropicUpstream(t *testing.T) {
	script := providertest.Script{Text: "Hello there"}
	up := providertest.Anthropic(t, script)
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})
	body := strings.Replace(messagesBody, `"temperature":0.25`, `"temperature":0.25,"top_k":5,"metadata":{"user_id":"u1"}`, 1)

	res := messages(t, ts, ts.URL, body, "x-api-key", "client-secret", "authorization", "Bearer client-secret", "anthropic-version", "2023-01-01")

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	ref := providertest.Anthropic(t, script)
	want := do(t, t.Context(), ref.Client(), http.MethodPost, ref.URL+"/v1/messages", string(up.LastBody()))
	if !bytes.Equal(res.body, want.body) {
		t.Errorf("body = %s\nwant the upstream's %s", res.body, want.body)
	}
	if ct, m := res.header.Get("Content-Type"), res.header.Get(proxy.HeaderModel); ct != "application/json" || m != "up/fake-model" {
		t.Errorf("Content-Type %q, %s %q", ct, proxy.HeaderModel, m)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["model"]) != `"fake-model"` || string(sent["top_k"]) != "5" || string(sent["system"]) != `"Be brief."` ||
		string(sent["metadata"]) != `{"user_id":"u1"}` || string(sent["max_tokens"]) != "256" {
		t.Errorf("upstream got %s, want the client's fields with model fake-model", up.LastBody())
	}
	h := up.LastHeader()
	if h.Get("X-Api-Key") != "upstream-key" || h.Get("Authorization") != "" || h.Get("Anthropic-Version") != anthropic.DefaultVersion {
		t.Errorf("upstream headers x-api-key %q, authorization %q, anthropic-version %q; want the provider's key and version only",
			h.Get("X-Api-Key"), h.Get("Authorization"), h.Get("Anthropic-Version"))
	}
}

// TestMessagesStreamFromAnthropicUpstream: every event of an Anthropic
// upstream, ping included, reaches an Anthropic client as sent, text and
// tool calls alike, and nothing is added.
func TestMessagesStreamFromAnthropicUpstream(t *testing.T) {
	for _, script := range []providertest.Script{
		{Chunks: []string{"Hel", "lo"}},
		{Chunks: []string{"Let me check."}, ToolCall: &providertest.ToolCall{ArgChunks: []string{`{"city":`, `"Paris"}`}}},
	} {
		t.Run(fmt.Sprintf("tool=%v", script.ToolCall != nil), func(t *testing.T) {
			up := providertest.Anthropic(t, script)
			ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})

			res := messages(t, ts, ts.URL, messagesTools)

			if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status = %d, Content-Type %q, body %s", res.status, res.header.Get("Content-Type"), res.body)
			}
			ref := providertest.Anthropic(t, script)
			want := do(t, t.Context(), ref.Client(), http.MethodPost, ref.URL+"/v1/messages", string(up.LastBody()))
			if !bytes.Equal(res.body, want.body) {
				t.Errorf("body = %s\nwant the upstream's %s", res.body, want.body)
			}
			s := readStream(t, namedEvents(t, res.body))
			if script.ToolCall != nil && (len(s.tools) != 1 || s.tools[0] != `get_weather({"city":"Paris"})` || s.stopReason != "tool_use") {
				t.Errorf("stream = %+v, want the get_weather call", s)
			}
		})
	}
}

// TestMessagesStreamCutFromAnthropicUpstream: an Anthropic upstream cut
// mid-stream ends the client's stream with an error event and no
// message_stop.
func TestMessagesStreamCutFromAnthropicUpstream(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Chunks: []string{"Hel", "lo"}, CutAfter: 1})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})

	res := messages(t, ts, ts.URL, messagesStream)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	evs := namedEvents(t, res.body)
	s := readStream(t, evs)
	if s.text != "Hel" || s.stopped || len(s.errors) != 1 || evs[len(evs)-1].name != "error" {
		t.Errorf("stream = %+v (events %v), want Hel, one error event last, no message_stop", s, eventNames(evs))
	}
}

// TestMessagesAnthropicUpstreamErrors: an Anthropic upstream's error keeps
// its status and type before a stream starts; its message passes through
// for a 4xx about the request, and is switchyard's own otherwise.
func TestMessagesAnthropicUpstreamErrors(t *testing.T) {
	tests := []struct {
		status   int
		wantType string
		wantMsg  string
	}{
		{429, "rate_limit_error", "upstream up: is rate limiting switchyard (HTTP 429)"},
		{529, "overloaded_error", "upstream up: is overloaded or unavailable (HTTP 529)"},
		{400, "invalid_request_error", "upstream up: fake upstream: status 400"},
	}
	for _, tt := range tests {
		for _, body := range []string{messagesBody, messagesStream} {
			t.Run(fmt.Sprintf("%d/stream=%v", tt.status, body == messagesStream), func(t *testing.T) {
				up := providertest.Anthropic(t, providertest.Script{Status: tt.status})
				ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})

				e := wantAnthropicError(t, messages(t, ts, ts.URL, body), tt.status)

				if e.Error.Type != tt.wantType || !strings.Contains(e.Error.Message, tt.wantMsg) {
					t.Errorf("error = %+v, want %s naming the upstream and its message", e.Error, tt.wantType)
				}
			})
		}
	}
}

// TestChatFromAnthropicUpstream: an OpenAI client served by an Anthropic
// upstream gets a chat completion, and the upstream a Messages request.
func TestChatFromAnthropicUpstream(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Text: "Hello there"})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})

	res := chat(t, ts, `{"model":"auto","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"temperature":0.25}`)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(res.body, &c); err != nil {
		t.Fatalf("body %s: %v", res.body, err)
	}
	if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message.Content != "Hello there" ||
		c.Choices[0].FinishReason != "stop" || c.Usage.PromptTokens != 5 {
		t.Errorf("answer = %s, want a chat completion saying Hello there", res.body)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["system"]) != `"Be brief."` || string(sent["max_tokens"]) != itoa(anthropic.DefaultMaxTokens) {
		t.Errorf("upstream got %s, want a Messages request with the system prompt and max_tokens", up.LastBody())
	}
}

// TestChatStreamFromAnthropicUpstream: an OpenAI client streaming from an
// Anthropic upstream gets chat.completion.chunks, none of them empty (the
// upstream's ping and content_block_stop have nothing to say to it), and
// [DONE].
func TestChatStreamFromAnthropicUpstream(t *testing.T) {
	tests := []struct {
		golden string
		script providertest.Script
	}{
		{"openai_stream_from_anthropic.sse", providertest.Script{Chunks: []string{"Hel", "lo", " world"}}},
		{"openai_stream_tool_from_anthropic.sse", providertest.Script{ToolCall: &providertest.ToolCall{ArgChunks: []string{`{"city":`, `"Paris"}`}}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			up := providertest.Anthropic(t, tt.script)
			ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(anthropicTarget("up", up))}})

			res := chat(t, ts, streamBody)

			if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status = %d, Content-Type %q, body %s", res.status, res.header.Get("Content-Type"), res.body)
			}
			// Anthropic answers carry no creation time, so the adapter stamps
			// its clock: the golden file has 0.
			golden(t, tt.golden, createdRE.ReplaceAll(res.body, []byte(`"created":0`)))

			evs := events(t, res.body)
			if evs[len(evs)-1] != "[DONE]" {
				t.Errorf("last event = %q, want [DONE]", evs[len(evs)-1])
			}
			var text, args strings.Builder
			var finish string
			for _, ev := range evs[:len(evs)-1] {
				var c struct {
					Object  string `json:"object"`
					Choices []struct {
						Delta struct {
							Role      string          `json:"role"`
							Content   *string         `json:"content"`
							ToolCalls json.RawMessage `json:"tool_calls"`
						} `json:"delta"`
						FinishReason *string `json:"finish_reason"`
					} `json:"choices"`
					Usage json.RawMessage `json:"usage"`
				}
				if err := json.Unmarshal([]byte(ev), &c); err != nil || c.Object != "chat.completion.chunk" {
					t.Fatalf("event %q is not a chunk: %v", ev, err)
				}
				empty := c.Usage == nil || string(c.Usage) == "null"
				for _, ch := range c.Choices {
					d := ch.Delta
					if d.Role != "" || (d.Content != nil && *d.Content != "") || len(d.ToolCalls) > 0 || ch.FinishReason != nil {
						empty = false
					}
					if d.Content != nil {
						text.WriteString(*d.Content)
					}
					var calls []struct {
						Function struct{ Arguments string } `json:"function"`
					}
					json.Unmarshal(d.ToolCalls, &calls)
					for _, tc := range calls {
						args.WriteString(tc.Function.Arguments)
					}
					if ch.FinishReason != nil {
						finish = *ch.FinishReason
					}
				}
				if empty {
					t.Errorf("empty chunk %s", ev)
				}
			}
			if tt.script.ToolCall == nil && (text.String() != "Hello world" || finish != "stop") {
				t.Errorf("text %q, finish %q; want Hello world, stop", text.String(), finish)
			}
			if tt.script.ToolCall != nil && (args.String() != `{"city":"Paris"}` || finish != "tool_calls") {
				t.Errorf("arguments %q, finish %q; want the Paris call, tool_calls", args.String(), finish)
			}
		})
	}
}
