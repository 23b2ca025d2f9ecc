package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

// Anthropic Messages requests as Claude Code and the SDKs send them.
const (
	messagesBody   = `{"model":"auto","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"hi"}],"temperature":0.25}`
	messagesStream = `{"model":"auto","max_tokens":256,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}`
	// messagesTools is a second turn: the model asked for a tool, the
	// client answers it, and the tools are offered again.
	messagesTools = `{"model":"auto","max_tokens":256,"stream":true,
		"tools":[{"name":"get_weather","description":"Get the current weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
		"messages":[{"role":"user","content":"What is the weather in Paris?"}]}`
)

// messages posts body to the proxy's Anthropic endpoint.
func messages(t *testing.T, ts interface{ Client() *http.Client }, url, body string, header ...string) result {
	t.Helper()
	return do(t, t.Context(), ts.Client(), http.MethodPost, url+"/v1/messages", body, header...)
}

// anthropicError is Anthropic's error body.
type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantAnthropicError checks that res is a JSON Anthropic error with status,
// and returns it.
func wantAnthropicError(t *testing.T, res result, status int) anthropicError {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d (body %s)", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return decodeAnthropicError(t, res.body)
}

func decodeAnthropicError(t *testing.T, body []byte) anthropicError {
	t.Helper()
	var e anthropicError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body %s is not an Anthropic error: %v", body, err)
	}
	if e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Errorf("error body %s lacks type, error.type or error.message", body)
	}
	return e
}

// sseEvent is one named server-sent event.
type sseEvent struct {
	name string
	data string
}

// namedEvents splits an Anthropic event stream into its events, each with
// an "event:" line and one "data:" line whose type is the event's name.
func namedEvents(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for _, ev := range bytes.Split(bytes.TrimSuffix(body, []byte("\n\n")), []byte("\n\n")) {
		lines := strings.Split(string(ev), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("malformed event %q in %q", ev, body)
		}
		e := sseEvent{name: strings.TrimPrefix(lines[0], "event: "), data: strings.TrimPrefix(lines[1], "data: ")}
		var head struct{ Type string }
		if err := json.Unmarshal([]byte(e.data), &head); err != nil || head.Type != e.name {
			t.Fatalf("event %s: data %s has type %q (%v)", e.name, e.data, head.Type, err)
		}
		out = append(out, e)
	}
	return out
}

func eventNames(evs []sseEvent) []string {
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.name
	}
	return names
}

// streamed is what a client makes of an Anthropic event stream.
type streamed struct {
	text       string
	tools      []string // "name(input)" per tool_use block
	stopReason string
	stopped    bool // message_stop arrived
	errors     []anthropicError
}

func readStream(t *testing.T, evs []sseEvent) streamed {
	t.Helper()
	var s streamed
	args := map[int]*strings.Builder{}
	names := map[int]string{}
	var order []int
	for _, e := range evs {
		var ev struct {
			Index        int `json:"index"`
			ContentBlock struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"content_block"`
			Delta struct {
				Type        string `json:"type"`
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Fatalf("event %s: %v", e.data, err)
		}
		switch e.name {
		case "content_block_start":
			if ev.ContentBlock.Type == "tool_use" {
				names[ev.Index] = ev.ContentBlock.Name
				args[ev.Index] = &strings.Builder{}
				order = append(order, ev.Index)
			}
		case "content_block_delta":
			switch ev.Delta.Type {
			case "text_delta":
				s.text += ev.Delta.Text
			case "input_json_delta":
				args[ev.Index].WriteString(ev.Delta.PartialJSON)
			}
		case "message_delta":
			s.stopReason = ev.Delta.StopReason
		case "message_stop":
			s.stopped = true
		case "error":
			s.errors = append(s.errors, decodeAnthropicError(t, []byte(e.data)))
		}
	}
	for _, i := range order {
		s.tools = append(s.tools, names[i]+"("+args[i].String()+")")
	}
	return s
}

// recordingRouter is stubRouter that also keeps the requests it saw.
type recordingRouter struct {
	stubRouter
	mu   sync.Mutex
	reqs []*providers.Request
}

func (r *recordingRouter) Decide(ctx context.Context, req *providers.Request) (router.Decision, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.stubRouter.Decide(ctx, req)
}

func TestMessagesFromOpenAIUpstream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "Hello there", Usage: true})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := messages(t, ts, ts.URL, messagesBody, "x-api-key", "client-secret", "anthropic-version", "2023-06-01")

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "application/json",
		proxy.HeaderRoute:     "code",
		proxy.HeaderDecidedBy: router.ByEmbedding,
		proxy.HeaderScore:     "0.8125",
		proxy.HeaderModel:     "up/fake-model",
	} {
		if got := res.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var msg struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Model   string `json:"model"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
		Usage      struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(res.body, &msg); err != nil {
		t.Fatalf("body %s: %v", res.body, err)
	}
	if msg.Type != "message" || msg.Role != "assistant" || len(msg.Content) != 1 || msg.Content[0].Type != "text" ||
		msg.Content[0].Text != "Hello there" || msg.StopReason != "end_turn" || msg.Usage.InputTokens != 5 || msg.Usage.OutputTokens != 1 {
		t.Errorf("answer = %s, want an Anthropic message saying Hello there, end_turn, 5 in, 1 out", res.body)
	}

	// The OpenAI upstream got the request in its own dialect, and none of
	// the client's credentials.
	var sent struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
		MaxTokens   int     `json:"max_tokens"`
		Temperature float64 `json:"temperature"`
	}
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Model != "fake-model" || len(sent.Messages) != 2 || sent.Messages[0].Role != "system" ||
		sent.Messages[1].Role != "user" || sent.MaxTokens != 256 || sent.Temperature != 0.25 {
		t.Errorf("upstream got %s, want the system prompt, the user turn, max_tokens and temperature", up.LastBody())
	}
	h := up.LastHeader()
	if h.Get("X-Api-Key") != "" || strings.Contains(h.Get("Authorization"), "client-secret") || h.Get("Anthropic-Version") != "" {
		t.Errorf("upstream got the client's headers: %v", h)
	}
}

func TestMessagesStreamFromOpenAIUpstream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo", " world"}, Usage: true})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := messages(t, ts, ts.URL, messagesStream)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/event-stream",
		"Cache-Control":       "no-cache",
		proxy.HeaderRoute:     "code",
		proxy.HeaderDecidedBy: router.ByEmbedding,
		proxy.HeaderModel:     "up/fake-model",
	} {
		if got := res.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	golden(t, "anthropic_stream_from_openai.sse", res.body)

	evs := namedEvents(t, res.body)
	want := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if got := eventNames(evs); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	s := readStream(t, evs)
	if s.text != "Hello world" || s.stopReason != "end_turn" || !s.stopped {
		t.Errorf("stream = %+v, want Hello world, end_turn, message_stop", s)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["stream"]) != "true" {
		t.Errorf("upstream got %s, want a stream", up.LastBody())
	}
}

// openAIToolStream is an OpenAI upstream streaming one tool call in
// fragments, as OpenAI does.
const openAIToolStream = `data: {"id":"chatcmpl-tool","object":"chat.completion.chunk","created":1700000000,"model":"fake-model","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-tool","object":"chat.completion.chunk","created":1700000000,"model":"fake-model","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-tool","object":"chat.completion.chunk","created":1700000000,"model":"fake-model","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}

data: {"id":"chatcmpl-tool","object":"chat.completion.chunk","created":1700000000,"model":"fake-model","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"chatcmpl-tool","object":"chat.completion.chunk","created":1700000000,"model":"fake-model","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49}}

data: [DONE]

`

func TestMessagesStreamToolCallFromOpenAIUpstream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Body: openAIToolStream})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := messages(t, ts, ts.URL, messagesTools)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	golden(t, "anthropic_stream_tool_from_openai.sse", res.body)
	s := readStream(t, namedEvents(t, res.body))
	if len(s.tools) != 1 || s.tools[0] != `get_weather({"city":"Paris"})` || s.stopReason != "tool_use" || !s.stopped || s.text != "" {
		t.Errorf("stream = %+v, want one get_weather call for Paris, tool_use, message_stop", s)
	}

	// The tools reached the upstream in OpenAI's shape.
	var sent struct {
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name       string          `json:"name"`
				Parameters json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Tools) != 1 || sent.Tools[0].Type != "function" || sent.Tools[0].Function.Name != "get_weather" ||
		!bytes.Contains(sent.Tools[0].Function.Parameters, []byte(`"city"`)) {
		t.Errorf("upstream got %s, want the tool as an OpenAI function", up.LastBody())
	}
}

func TestMessagesToolCallFromOpenAIUpstream(t *testing.T) {
	completion := `{"id":"chatcmpl-tool","object":"chat.completion","created":1700000000,"model":"fake-model",
		"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49}}`
	up := providertest.OpenAI(t, providertest.Script{Body: completion})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := messages(t, ts, ts.URL, strings.Replace(messagesTools, `"stream":true,`, "", 1))

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	var msg struct {
		Content []struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(res.body, &msg); err != nil {
		t.Fatalf("body %s: %v", res.body, err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" || msg.Content[0].ID != "call_1" ||
		msg.Content[0].Name != "get_weather" || string(msg.Content[0].Input) != `{"city":"Paris"}` || msg.StopReason != "tool_use" {
		t.Errorf("answer = %s, want one tool_use block get_weather({\"city\":\"Paris\"}) and stop_reason tool_use", res.body)
	}
}

// TestMessagesToolResultReachesOpenAIUpstream: the client's tool_use and
// tool_result blocks become OpenAI's tool_calls and tool message.
func TestMessagesToolResultReachesOpenAIUpstream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "It is sunny."})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})
	body := `{"max_tokens":100,"messages":[
		{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Sunny, 22°C"}]}]}`

	res := messages(t, ts, ts.URL, body)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	var sent struct {
		Messages []struct {
			Role      string `json:"role"`
			Content   any    `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	m := sent.Messages
	if len(m) != 3 || m[1].Role != "assistant" || len(m[1].ToolCalls) != 1 || m[1].ToolCalls[0].ID != "toolu_1" ||
		m[1].ToolCalls[0].Function.Name != "get_weather" || m[1].ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		m[2].Role != "tool" || m[2].ToolCallID != "toolu_1" || m[2].Content != "Sunny, 22°C" {
		t.Errorf("upstream got %s, want user, assistant with the tool call, tool answer", up.LastBody())
	}
}

// TestMessagesRouting: the router sees the canonical conversation (the
// system prompt and the text blocks) and the model the client asked for,
// at both paths.
func TestMessagesRouting(t *testing.T) {
	for _, path := range []string{"/v1/messages", "/anthropic/v1/messages"} {
		for _, tt := range []struct{ model, want string }{{`"auto"`, "auto"}, {`"code"`, "code"}, {"null", ""}} {
			t.Run(path+"/model="+tt.model, func(t *testing.T) {
				up := providertest.OpenAI(t)
				rr := &recordingRouter{stubRouter: stubRouter{dec: routed(target("up", up))}}
				ts, _ := serve(t, &proxy.Runtime{Router: rr})
				body := `{"model":` + tt.model + `,"max_tokens":10,"system":[{"type":"text","text":"You review Go code."}],
					"messages":[{"role":"user","content":[{"type":"text","text":"why does my program deadlock"}]}]}`

				res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, body)

				if res.status != http.StatusOK {
					t.Fatalf("status = %d, body %s", res.status, res.body)
				}
				if len(rr.reqs) != 1 {
					t.Fatalf("router called %d times", len(rr.reqs))
				}
				req := rr.reqs[0]
				if req.Model != tt.want || req.Dialect != providers.DialectAnthropic || len(req.Messages) != 2 ||
					req.Messages[0].Role != "system" || req.Messages[0].Text() != "You review Go code." ||
					req.Messages[1].Role != "user" || req.Messages[1].Text() != "why does my program deadlock" {
					t.Errorf("router saw model %q, messages %+v", req.Model, req.Messages)
				}
			})
		}
	}
}

// TestMessagesStreamCut: once an event is out the stream is committed: a
// later failure is an in-band error event, the stream ends without
// message_stop, and the backup is not tried.
func TestMessagesStreamCut(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}, CutAfter: 1})
	backup := providertest.OpenAI(t)
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up), target("backup", backup))}})

	res := messages(t, ts, ts.URL, messagesStream)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (committed), body %s", res.status, res.body)
	}
	golden(t, "anthropic_stream_cut.sse", res.body)
	evs := namedEvents(t, res.body)
	s := readStream(t, evs)
	if s.text != "Hel" || s.stopped || len(s.errors) != 1 || evs[len(evs)-1].name != "error" {
		t.Fatalf("stream = %+v (events %v), want Hel, then one error event last, no message_stop", s, eventNames(evs))
	}
	if e := s.errors[0]; e.Error.Type != "api_error" || !strings.Contains(e.Error.Message, "upstream up") {
		t.Errorf("error = %+v, want api_error naming the upstream", e)
	}
	if n := backup.Requests(); n != 0 {
		t.Errorf("backup got %d requests after the stream was committed, want 0", n)
	}
}

// TestMessagesErrors: every failure before the first event is a real status
// with Anthropic's error body, streamed request or not.
func TestMessagesErrors(t *testing.T) {
	openCircuit := func(name string) *providers.Health {
		h := providers.NewHealth(providers.HealthPolicy{MaxFailures: 1, RecoveryInterval: time.Hour})
		ok, probe := h.Acquire(time.Now())
		if !ok {
			t.Fatal("a new circuit is closed")
		}
		h.Report(time.Now(), &providers.Error{Provider: name, Status: 503, Retryable: true, Err: fmt.Errorf("down")}, time.Millisecond, probe, false)
		return h
	}
	tests := []struct {
		name       string
		runtime    func(t *testing.T) *proxy.Runtime
		wantStatus int
		wantType   string
		wantMsg    string // substring
	}{
		{"unknown model", func(t *testing.T) *proxy.Runtime {
			return &proxy.Runtime{Router: &stubRouter{err: fmt.Errorf("%w: model %q is not a route, alias or served model", router.ErrNoRoute, "claude-9")}}
		}, 404, "not_found_error", `model "claude-9" is not a route`},
		{"every target down", func(t *testing.T) *proxy.Runtime {
			up := providertest.OpenAI(t)
			tg := target("up", up)
			tg.Health = openCircuit("up")
			dec := routed(tg)
			dec.Chain.Name = `route "code"`
			return &proxy.Runtime{Router: &stubRouter{dec: dec}}
		}, 503, "overloaded_error", `route "code"`},
		{"upstream 429", func(t *testing.T) *proxy.Runtime {
			return &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", providertest.OpenAI(t, providertest.Script{Status: 429})))}}
		}, 429, "rate_limit_error", "upstream up: is rate limiting switchyard (HTTP 429)"},
		{"upstream 500", func(t *testing.T) *proxy.Runtime {
			return &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", providertest.OpenAI(t, providertest.Script{Status: 500})))}}
		}, 502, "api_error", "upstream up: failed (HTTP 500)"},
		{"connection refused", func(t *testing.T) *proxy.Runtime {
			return &proxy.Runtime{Router: &stubRouter{dec: routed(targetURL("up", providertest.Refused(t)))}}
		}, 502, "api_error", "upstream up: connection refused"},
		{"internal", func(t *testing.T) *proxy.Runtime {
			return &proxy.Runtime{Router: &stubRouter{err: fmt.Errorf("router: something broke")}}
		}, 500, "api_error", "internal error"},
	}
	for _, tt := range tests {
		for _, body := range []string{messagesBody, messagesStream} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, body == messagesStream), func(t *testing.T) {
				ts, _ := serve(t, tt.runtime(t))

				res := messages(t, ts, ts.URL, body)

				e := wantAnthropicError(t, res, tt.wantStatus)
				if e.Error.Type != tt.wantType || !strings.Contains(e.Error.Message, tt.wantMsg) {
					t.Errorf("error = %+v, want type %s and a message containing %q", e.Error, tt.wantType, tt.wantMsg)
				}
				if strings.Contains(e.Error.Message, "broke") {
					t.Errorf("message %q leaks an internal error", e.Error.Message)
				}
				if strings.Contains(e.Error.Message, "127.0.0.1") || strings.Contains(e.Error.Message, "http://") {
					t.Errorf("message %q shows an upstream address", e.Error.Message)
				}
			})
		}
	}
}

func TestMessagesBadRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantMsg string // substring: the field at fault
	}{
		{"empty body", "", "empty"},
		{"truncated JSON", `{"model":"auto","messages":[`, "invalid JSON"},
		{"not an object", `[{"role":"user"}]`, "must be a JSON object"},
		{"no messages", `{"model":"auto","max_tokens":10}`, "messages"},
		{"model not a string", `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"stream not a boolean", `{"stream":"yes","messages":[{"role":"user","content":"hi"}]}`, "stream"},
		{"max_tokens not a number", `{"max_tokens":"many","messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"block without type", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, "messages[0].content[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.OpenAI(t)
			stub := &stubRouter{dec: routed(target("up", up))}
			ts, _ := serve(t, &proxy.Runtime{Router: stub})

			res := messages(t, ts, ts.URL, tt.body)

			e := wantAnthropicError(t, res, http.StatusBadRequest)
			if e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tt.wantMsg) {
				t.Errorf("error = %+v, want invalid_request_error naming %q", e.Error, tt.wantMsg)
			}
			if n := stub.calls.Load(); n != 0 {
				t.Errorf("router called %d times for a bad request", n)
			}
			if n := up.Requests(); n != 0 {
				t.Errorf("upstream called %d times for a bad request", n)
			}
		})
	}
}

func TestMessagesBodyTooLarge(t *testing.T) {
	up := providertest.OpenAI(t)
	stub := &stubRouter{dec: routed(target("up", up))}
	ts, _ := serve(t, &proxy.Runtime{Router: stub, MaxBody: 80})

	small := `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	if res := messages(t, ts, ts.URL, small); res.status != http.StatusOK {
		t.Fatalf("%d-byte body: status %d, body %s", len(small), res.status, res.body)
	}
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`
	for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, big)
		e := wantAnthropicError(t, res, http.StatusRequestEntityTooLarge)
		if !strings.Contains(e.Error.Message, "80 bytes") {
			t.Errorf("%s: message %q does not state the limit", path, e.Error.Message)
		}
	}
	if n := stub.calls.Load(); n != 1 {
		t.Errorf("router called %d times, want 1 (the small body only)", n)
	}
}

// TestMessagesUnknownEndpoints: the Anthropic paths' 404 and 405 come in
// Anthropic's shape.
func TestMessagesUnknownEndpoints(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	e := wantAnthropicError(t, do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/batches", "{}"), http.StatusNotFound)
	if e.Error.Type != "not_found_error" {
		t.Errorf("error = %+v, want not_found_error", e.Error)
	}
	e = wantAnthropicError(t, do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/v1/messages", ""), http.StatusMethodNotAllowed)
	if e.Error.Type != "invalid_request_error" {
		t.Errorf("error = %+v, want invalid_request_error", e.Error)
	}
	// OpenAI's paths keep OpenAI's shape.
	wantAPIError(t, do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/v1/chat/completions", ""), http.StatusMethodNotAllowed)
}

// FuzzMessagesHandler: whatever the body, the endpoint answers with a
// status it means and, for an error, Anthropic's error shape; it never
// panics or answers 500. The stub router refuses every request, so no
// upstream is involved.
func FuzzMessagesHandler(f *testing.F) {
	for _, s := range []string{messagesBody, messagesStream, messagesTools, "", "{}", `{"messages":[{"role":"user","content":[{"type":"tool_result"}]}]}`} {
		f.Add(s)
	}
	ts := httptest.NewServer(proxy.NewServer(zerolog.Nop(), &proxy.Runtime{Router: &stubRouter{err: router.ErrNoRoute}, MaxBody: 1 << 16}).Handler())
	f.Cleanup(ts.Close)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/messages", "/v1/messages/count_tokens"} {
			res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, body)
			switch {
			case res.status == http.StatusOK && path == "/v1/messages/count_tokens":
			case res.status == http.StatusBadRequest || res.status == http.StatusNotFound || res.status == http.StatusRequestEntityTooLarge:
				decodeAnthropicError(t, res.body)
			default:
				t.Fatalf("%s: status %d for body %q: %s", path, res.status, body, res.body)
			}
		}
	})
}
