package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// request parses an Anthropic client's body and points it at model
// "claude-x".
func request(t *testing.T, body string) *providers.Request {
	t.Helper()
	req, err := anthropic.ParseRequest(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req.WithModel("claude-x")
}

const hi = `{"model":"auto","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"future_field":{"a":[1, 2]}}`

// fields decodes an upstream request body.
func fields(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return f
}

func TestClientComplete(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Text: "Hello there"})
	c := anthropic.New("an", up.URL, "sk-ant", up.Client())
	c.Headers = http.Header{"Anthropic-Beta": {"tools-2024"}}
	resp, err := c.Complete(t.Context(), request(t, hi))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Text() != "Hello there" || resp.Message.Role != "assistant" || resp.Model != "claude-x" ||
		resp.ID != "msg_fake-0" || resp.Created == 0 || resp.FinishReason != "stop" || resp.RawDialect != providers.DialectAnthropic ||
		resp.Usage != (providers.Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6}) {
		t.Errorf("response = %+v", resp)
	}
	// Same dialect: the client's fields pass through, unknown ones
	// included, but for the model (json.Marshal compacts them).
	if got, want := string(up.LastBody()), `{"future_field":{"a":[1,2]},"max_tokens":50,"messages":[{"role":"user","content":"hi"}],"model":"claude-x"}`; got != want {
		t.Errorf("upstream body\n got %s\nwant %s", got, want)
	}
	h := up.LastHeader()
	if h.Get("X-Api-Key") != "sk-ant" || h.Get("Anthropic-Version") != anthropic.DefaultVersion || h.Get("Anthropic-Beta") != "tools-2024" ||
		h.Get("Content-Type") != "application/json" || h.Get("Authorization") != "" {
		t.Errorf("upstream headers = %v", h)
	}
	if string(anthropic.Message(resp)) != string(resp.Raw) {
		t.Error("Message does not forward the upstream's answer")
	}

	// No key, no x-api-key; a base ending in /v1; another version.
	c = anthropic.New("an", up.URL+"/v1/", "", up.Client())
	c.Version = "2099-01-01"
	if _, err := c.Complete(t.Context(), request(t, `{"messages":[{"role":"user","content":"hi"}]}`)); err != nil {
		t.Fatal(err)
	}
	if h := up.LastHeader(); h.Get("X-Api-Key") != "" || h.Get("Anthropic-Version") != "2099-01-01" {
		t.Errorf("headers = %v", h)
	}
	// Anthropic requires max_tokens; a client that left it out gets the
	// default rather than a 400.
	if got := string(fields(t, up.LastBody())["max_tokens"]); got != "4096" {
		t.Errorf("max_tokens = %s", got)
	}
}

func TestClientToolCall(t *testing.T) {
	call := &providertest.ToolCall{ID: "toolu_9", Name: "get_weather", ArgChunks: []string{`{"city":`, ` "Paris"}`}}
	up := providertest.Anthropic(t, providertest.Script{ToolCall: call})
	c := anthropic.New("an", up.URL, "k", up.Client())
	resp, err := c.Complete(t.Context(), request(t, hi))
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != "tool_calls" || resp.Message.Text() != "" ||
		string(resp.Message.ToolCalls) != `[{"id":"toolu_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]` {
		t.Errorf("response = %+v, tool calls %s", resp, resp.Message.ToolCalls)
	}

	var args, id, name, finish string
	err = c.Stream(t.Context(), request(t, hi), func(ch providers.Chunk) error {
		if ch.ToolCalls != nil {
			var tcs []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Function struct{ Name, Arguments string }
			}
			if err := json.Unmarshal(ch.ToolCalls, &tcs); err != nil || len(tcs) != 1 || tcs[0].Index != 0 {
				t.Errorf("tool calls %s", ch.ToolCalls)
			}
			args += tcs[0].Function.Arguments
			id += tcs[0].ID
			name += tcs[0].Function.Name
		}
		finish += ch.FinishReason
		return nil
	})
	if err != nil || args != `{"city": "Paris"}` || id != "toolu_9" || name != "get_weather" || finish != "tool_calls" {
		t.Errorf("stream: args %q, id %q, name %q, finish %q, err %v", args, id, name, finish, err)
	}
}

func TestClientStream(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Chunks: []string{"Hel", "lo"}})
	c := anthropic.New("an", up.URL, "k", up.Client())
	var got []providers.Chunk
	err := c.Stream(t.Context(), request(t, hi), func(ch providers.Chunk) error {
		got = append(got, ch)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// message_start ping block_start delta delta block_stop message_delta message_stop
	if len(got) != 8 {
		t.Fatalf("got %d chunks, want 8: %+v", len(got), got)
	}
	var text string
	for _, ch := range got {
		text += ch.Text
		if ch.ID != "msg_fake-0" || ch.Model != "claude-x" || ch.RawDialect != providers.DialectAnthropic || !json.Valid(ch.Raw) {
			t.Errorf("chunk = %+v", ch)
		}
	}
	if text != "Hello" || got[0].Role != "assistant" || got[0].HasContent() || got[1].HasContent() || got[6].FinishReason != "stop" ||
		got[6].Usage == nil || *got[6].Usage != (providers.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}) {
		t.Errorf("chunks = %+v", got)
	}
	body := fields(t, up.LastBody())
	if string(body["stream"]) != "true" || up.LastHeader().Get("Accept") != "text/event-stream" {
		t.Errorf("upstream body %s, headers %v", up.LastBody(), up.LastHeader())
	}

	// Passed through the encoder, the events are the upstream's own.
	enc := anthropic.NewStreamEncoder()
	var evs []anthropic.Event
	for _, ch := range got {
		evs = append(evs, enc.Encode(ch)...)
	}
	evs = append(evs, enc.Finish()...)
	if len(evs) != len(got) {
		t.Fatalf("%d events for %d chunks", len(evs), len(got))
	}
	for i, ev := range evs {
		if string(ev.Data) != string(got[i].Raw) {
			t.Errorf("event %d = %s %s, want the raw %s", i, ev.Name, ev.Data, got[i].Raw)
		}
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name          string
		script        providertest.Script
		wantStatus    int
		wantRetryable bool
		wantType      string
		wantMsg       string // in the error's text
		wantAfter     int
	}{
		{"429 with retry-after", providertest.Script{Status: 429, RetryAfter: "7"}, 429, true, "rate_limit_error", "fake upstream: status 429", 7},
		{"529 overloaded", providertest.Script{Status: 529}, 529, true, "overloaded_error", "status 529", 0},
		{"400 is final", providertest.Script{Status: 400}, 400, false, "invalid_request_error", "status 400", 0},
		{"401", providertest.Script{Status: 401}, 401, false, "authentication_error", "status 401", 0},
		{"502 html", providertest.Script{Status: 502, Body: "<html>Bad Gateway</html>"}, 502, true, "", "<html>Bad Gateway</html>", 0},
		{"500 empty", providertest.Script{Status: 500, Body: " "}, 500, true, "", "Internal Server Error", 0},
		{"malformed 200", providertest.Script{Malformed: true}, 502, true, "", "malformed message", 0},
		{"200 not a message", providertest.Script{Body: `{"type":"completion"}`}, 502, true, "", `type "completion"`, 0},
		{"200 not an object", providertest.Script{Body: `[1]`}, 502, true, "", "not a JSON object", 0},
		{"200 with an error", providertest.Script{Body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}, 529, true, "overloaded_error", "Overloaded", 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if stream && tt.script.Status == 0 && tt.script.Body != "" {
				continue // 2xx bodies are streams there; see TestClientStreamErrors
			}
			up := providertest.Anthropic(t, tt.script)
			c := anthropic.New("an", up.URL, "k", up.Client())
			var err error
			if stream {
				err = c.Stream(t.Context(), request(t, hi), func(providers.Chunk) error { return nil })
				if tt.name == "malformed 200" {
					tt.wantMsg = "malformed stream event"
				}
			} else {
				_, err = c.Complete(t.Context(), request(t, hi))
			}
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Errorf("%s (stream %v): err = %v, want a *providers.Error", tt.name, stream, err)
				continue
			}
			if pe.Provider != "an" || pe.Status != tt.wantStatus || pe.Retryable != tt.wantRetryable || pe.Type != tt.wantType ||
				pe.RetryAfter != tt.wantAfter || !strings.Contains(pe.Error(), tt.wantMsg) {
				t.Errorf("%s (stream %v): err = %+v (%v)", tt.name, stream, pe, pe)
			}
		}
	}
}

func TestClientStreamErrors(t *testing.T) {
	const start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n"
	tests := []struct {
		name       string
		script     providertest.Script
		wantChunks int
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"cut after a chunk", providertest.Script{Chunks: []string{"Hel", "lo"}, CutAfter: 1}, 4, 502, "", "stream ended before message_stop"},
		{"cut before a chunk", providertest.Script{Body: start}, 1, 502, "", "stream ended before message_stop"},
		{"malformed event", providertest.Script{Body: start + "event: ping\ndata: {ping}\n\n"}, 1, 502, "", "malformed stream event"},
		{"event without a type", providertest.Script{Body: start + "data: {}\n\n"}, 1, 502, "", "event without a type"},
		{"delta not an object", providertest.Script{Body: start + "data: {\"type\":\"content_block_delta\",\"delta\":1}\n\n"}, 1, 502, "", "without a delta"},
		{"overloaded event", providertest.Script{Body: start + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"}, 1, 529, "overloaded_error", "Overloaded"},
		{"api error event", providertest.Script{Body: start + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n"}, 1, 500, "api_error", "boom"},
		{"invalid request event", providertest.Script{Body: start + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"no\"}}\n\n"}, 1, 400, "invalid_request_error", "no"},
		{"json instead of a stream", providertest.Script{Body: `{"id":"x"}`, ContentType: "application/json"}, 0, 502, "", "expected text/event-stream"},
		{"json error instead of a stream", providertest.Script{Body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`, ContentType: "application/json"}, 0, 429, "rate_limit_error", "slow"},
	}
	for _, tt := range tests {
		up := providertest.Anthropic(t, tt.script)
		n := 0
		err := anthropic.New("an", up.URL, "", up.Client()).Stream(t.Context(), request(t, hi), func(providers.Chunk) error {
			n++
			return nil
		})
		var pe *providers.Error
		if !errors.As(err, &pe) || n != tt.wantChunks || pe.Status != tt.wantStatus || pe.Type != tt.wantType ||
			pe.Retryable != (tt.wantStatus >= 500 || tt.wantStatus == 429) || !strings.Contains(pe.Error(), tt.wantMsg) {
			t.Errorf("%s: %d chunks, err = %v (%+v)", tt.name, n, err, pe)
		}
	}
}

func TestClientStreamEmitError(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Chunks: []string{"a", "b"}})
	errStop := errors.New("stop")
	n := 0
	err := anthropic.New("an", up.URL, "", up.Client()).Stream(t.Context(), request(t, hi), func(providers.Chunk) error {
		n++
		return errStop
	})
	if err != errStop || n != 1 {
		t.Errorf("err = %v after %d chunks, want emit's error after 1", err, n)
	}
}

func TestClientTimeout(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Delay: 5 * time.Second},
		providertest.Script{Chunks: []string{"a", "b", "c"}, ChunkDelay: 100 * time.Millisecond})
	c := anthropic.New("an", up.URL, "", up.Client())
	c.Timeout = 50 * time.Millisecond
	_, err := c.Complete(t.Context(), request(t, hi))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusGatewayTimeout || !pe.Retryable {
		t.Errorf("err = %v, want a retryable 504", err)
	}
	// Timeout bounds a stream's wait for headers, not the stream.
	var text string
	err = c.Stream(t.Context(), request(t, hi), func(ch providers.Chunk) error {
		text += ch.Text
		return nil
	})
	if err != nil || text != "abc" {
		t.Errorf("slow stream: %q, %v", text, err)
	}
}

func TestClientCancel(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Delay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := anthropic.New("an", up.URL, "", up.Client()).Complete(ctx, request(t, hi))
	var pe *providers.Error
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) {
		t.Errorf("err = %v, want the context's own error", err)
	}
}

func TestClientRefused(t *testing.T) {
	_, err := anthropic.New("an", providertest.Refused(t), "", nil).Complete(t.Context(), request(t, hi))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 502 || !pe.Retryable {
		t.Errorf("err = %v, want a retryable 502", err)
	}
}

func TestClientExclude(t *testing.T) {
	up := providertest.Anthropic(t)
	c := anthropic.New("an", up.URL, "", up.Client())
	c.Exclude = []string{"thinking", "top_k", "model", "messages"}
	body := `{"model":"auto","max_tokens":5,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}`
	if _, err := c.Complete(t.Context(), request(t, body)); err != nil {
		t.Fatal(err)
	}
	if got, want := string(up.LastBody()), `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"model":"claude-x"}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

// openAIRequest is what openai.ParseRequest makes of an OpenAI client's
// body, built by hand: this package does not import the openai one.
func openAIRequest(t *testing.T, body string, msgs ...providers.Message) *providers.Request {
	t.Helper()
	return (&providers.Request{Fields: fields(t, []byte(body)), Messages: msgs}).WithModel("claude-x")
}

func TestClientTranslatesOpenAI(t *testing.T) {
	up := providertest.Anthropic(t)
	c := anthropic.New("an", up.URL, "", up.Client())
	var dropped []string
	c.Dropped = func(f string) { dropped = append(dropped, f) }
	calls := `[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]`
	req := openAIRequest(t, `{"model":"auto","temperature":0.3,"seed":1,"stream":true,"stream_options":{"include_usage":true},"messages":[]}`,
		providers.Message{Role: "system", Parts: []providers.Part{{Type: "text", Text: "Be brief."}}},
		providers.Message{Role: "user", Parts: []providers.Part{{Type: "text", Text: "hi"}}},
		providers.Message{Role: "assistant", ToolCalls: json.RawMessage(calls)},
		providers.Message{Role: "tool", ToolCallID: "call_1", Parts: []providers.Part{{Type: "text", Text: "2"}}},
	)
	if _, err := c.Complete(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	want := `{"max_tokens":4096,"messages":[{"role":"user","content":"hi"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"f","input":{"x":1}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"2"}]}],` +
		`"model":"claude-x","system":"Be brief.","temperature":0.3}`
	if got := string(up.LastBody()); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if !reflect.DeepEqual(dropped, []string{"seed"}) {
		t.Errorf("dropped = %q", dropped)
	}

	// An Anthropic client's request bound for an OpenAI upstream and
	// back keeps its tool ids.
	back := request(t, `{"model":"auto","messages":[{"role":"user","content":"hi"},`+
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_7","name":"f","input":{}}]},`+
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_7","content":"ok"}]}]}`)
	back.Dialect, back.Fields = "", back.Translated
	if _, err := c.Complete(t.Context(), back); err != nil {
		t.Fatal(err)
	}
	if b := string(up.LastBody()); !strings.Contains(b, `"id":"toolu_7"`) || !strings.Contains(b, `"tool_use_id":"toolu_7"`) {
		t.Errorf("body %s", b)
	}
}

func TestClientListModels(t *testing.T) {
	up := providertest.Anthropic(t)
	c := anthropic.New("an", up.URL, "sk", up.Client())
	got, err := c.ListModels(t.Context())
	if err != nil || !reflect.DeepEqual(got, providertest.AnthropicModels()) {
		t.Errorf("models = %q, %v", got, err)
	}
	if h := up.LastHeader(); h.Get("X-Api-Key") != "sk" || h.Get("Anthropic-Version") == "" {
		t.Errorf("headers = %v", h)
	}
	down := providertest.Anthropic(t, providertest.Script{Status: 401})
	_, err = anthropic.New("an", down.URL, "bad", down.Client()).ListModels(t.Context())
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 401 || pe.Type != "authentication_error" {
		t.Errorf("err = %v", err)
	}
}

// TestChainFailover: an overloaded Anthropic upstream (529) fails over to
// the next target, a 400 does not.
func TestChainFailover(t *testing.T) {
	for _, tt := range []struct {
		status      int
		wantBackups int
	}{{529, 1}, {400, 0}} {
		primary := providertest.Anthropic(t, providertest.Script{Status: tt.status})
		backup := providertest.Anthropic(t, providertest.Script{Text: "from backup"})
		chain := &providers.Chain{Targets: []providers.Target{
			{Name: "primary/m", Provider: anthropic.New("primary", primary.URL, "", primary.Client()), Model: "m"},
			{Name: "backup/m", Provider: anthropic.New("backup", backup.URL, "", backup.Client()), Model: "m"},
		}}
		resp, err := chain.Complete(t.Context(), request(t, hi))
		if backup.Requests() != tt.wantBackups || (tt.wantBackups == 1 && (err != nil || resp.Message.Text() != "from backup")) ||
			(tt.wantBackups == 0 && err == nil) {
			t.Errorf("%d: backups %d, resp %+v, err %v", tt.status, backup.Requests(), resp, err)
		}
	}
}
