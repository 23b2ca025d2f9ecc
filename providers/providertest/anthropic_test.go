package providertest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// post sends body to path on u and returns the status and body.
func post(t *testing.T, u *providertest.Upstream, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "sk-ant")
	resp, err := u.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// eventNames returns the event names of an SSE body, checking that each
// event's data is JSON whose "type" is its name.
func eventNames(t *testing.T, body string) []string {
	t.Helper()
	var names []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("event %q", ev)
		}
		name = strings.TrimPrefix(name, "event: ")
		var head struct{ Type string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &head); err != nil || head.Type != name {
			t.Fatalf("event %s has data %s", name, data)
		}
		names = append(names, name)
	}
	return names
}

func TestAnthropicMessage(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Text: "Hello there"},
		providertest.Script{ToolCall: &providertest.ToolCall{Arguments: `{"city":"Paris"}`}})
	status, body, _ := post(t, up, "/v1/messages", `{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	want := `{"id":"msg_fake-0","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}` + "\n"
	if status != 200 || body != want {
		t.Errorf("got %d %s\nwant %s", status, body, want)
	}
	_, body, _ = post(t, up, "/v1/messages", `{"model":"claude-x","messages":[]}`)
	if !strings.Contains(body, `"content":[{"type":"tool_use","id":"toolu_fake","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use"`) {
		t.Errorf("tool call answer = %s", body)
	}
	if up.Requests() != 2 || up.LastHeader().Get("X-Api-Key") != "sk-ant" {
		t.Errorf("requests = %d, header = %v", up.Requests(), up.LastHeader())
	}
}

func TestAnthropicStream(t *testing.T) {
	tests := []struct {
		name   string
		script providertest.Script
		want   string // event names, space separated
	}{
		{"text", providertest.Script{Chunks: []string{"Hel", "lo"}},
			"message_start ping content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop"},
		{"tool call", providertest.Script{ToolCall: &providertest.ToolCall{ArgChunks: []string{`{"ci`, `ty":"Paris"}`}}},
			"message_start ping content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop"},
		{"text then tool call", providertest.Script{Text: "Let me see.", ToolCall: &providertest.ToolCall{}},
			"message_start ping content_block_start content_block_delta content_block_stop content_block_start content_block_delta content_block_stop message_delta message_stop"},
		{"cut", providertest.Script{Chunks: []string{"Hel", "lo"}, CutAfter: 1},
			"message_start ping content_block_start content_block_delta"},
	}
	for _, tt := range tests {
		up := providertest.Anthropic(t, tt.script)
		_, body, h := post(t, up, "/v1/messages", `{"model":"claude-x","stream":true,"messages":[]}`)
		if got := strings.Join(eventNames(t, body), " "); got != tt.want || h.Get("Content-Type") != "text/event-stream" {
			t.Errorf("%s: events %s\nwant %s", tt.name, got, tt.want)
		}
		if tt.name == "tool call" && (!strings.Contains(body, `"content_block":{"type":"tool_use","id":"toolu_fake","name":"get_weather","input":{}}`) ||
			!strings.Contains(body, `"delta":{"partial_json":"{\"ci","type":"input_json_delta"}`) ||
			!strings.Contains(body, `"stop_reason":"tool_use"`)) {
			t.Errorf("tool call stream = %s", body)
		}
	}
}

func TestAnthropicErrorsAndModels(t *testing.T) {
	up := providertest.Anthropic(t, providertest.Script{Status: 529, RetryAfter: "2"}, providertest.Script{})
	status, body, h := post(t, up, "/v1/messages", `{"model":"m","messages":[]}`)
	if status != 529 || h.Get("Retry-After") != "2" ||
		body != `{"type":"error","error":{"type":"overloaded_error","message":"fake upstream: status 529"}}`+"\n" {
		t.Errorf("got %d %v %s", status, h, body)
	}
	resp, err := up.Client().Get(up.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Data []struct{ ID string } }
	json.NewDecoder(resp.Body).Decode(&list)
	if len(list.Data) != 2 || list.Data[0].ID != providertest.AnthropicModels()[0] {
		t.Errorf("models = %+v", list)
	}
	if status, _, _ := post(t, up, "/v1/chat/completions", `{}`); status != 404 {
		t.Errorf("wrong path: %d", status)
	}
}

func TestOpenAIToolCall(t *testing.T) {
	call := &providertest.ToolCall{ID: "call_1", Name: "f", ArgChunks: []string{`{"a"`, `:1}`}}
	up := providertest.OpenAI(t, providertest.Script{ToolCall: call, Usage: true})
	_, body, _ := post(t, up, "/chat/completions", `{"model":"m","messages":[]}`)
	if !strings.Contains(body, `"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}`) ||
		!strings.Contains(body, `"finish_reason":"tool_calls"`) {
		t.Errorf("answer = %s", body)
	}
	_, body, _ = post(t, up, "/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	for _, want := range []string{
		`"delta":{"content":null,"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}`,
		`"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}`,
		`"finish_reason":"tool_calls"`, `"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}`, "data: [DONE]",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("stream lacks %s:\n%s", want, body)
		}
	}
}
