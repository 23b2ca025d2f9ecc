package openai_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
)

func text(s string) []providers.Part { return []providers.Part{{Type: "text", Text: s}} }

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantModel  string
		wantStream bool
		want       []providers.Message
	}{
		{
			name:      "minimal",
			body:      `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`,
			wantModel: "gpt-4o",
			want:      []providers.Message{{Role: "user", Parts: text("Hi")}},
		},
		{
			name: "no model, stream, whitespace around",
			body: " \n{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}\n",
			want: []providers.Message{{Role: "user", Parts: text("Hi")}}, wantStream: true,
		},
		{
			name: "null model and stream",
			body: `{"model":null,"stream":null,"messages":[{"role":"user","content":""}]}`,
			want: []providers.Message{{Role: "user", Parts: text("")}},
		},
		{
			name:      "content parts with an image and an unknown type",
			body:      `{"model":"auto","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}},{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`,
			wantModel: "auto",
			want: []providers.Message{
				{Role: "system", Parts: text("Be brief.")},
				{Role: "user", Parts: []providers.Part{
					{Type: "text", Text: "What is this?"},
					{Type: "image_url", URL: "data:image/png;base64,AAAA"},
					{Type: "input_audio"},
				}},
			},
		},
		{
			name: "tools round",
			body: `{"messages":[{"role":"user","content":"weather?"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}]},` +
				`{"role":"tool","tool_call_id":"call_1","name":"weather","content":"sunny"}],` +
				`"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
			want: []providers.Message{
				{Role: "user", Parts: text("weather?")},
				{Role: "assistant", ToolCalls: json.RawMessage(`[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}]`)},
				{Role: "tool", ToolCallID: "call_1", Name: "weather", Parts: text("sunny")},
			},
		},
		{
			name: "empty parts array and absent content",
			body: `{"messages":[{"role":"user","content":[]},{"role":"assistant"}]}`,
			want: []providers.Message{{Role: "user", Parts: []providers.Part{}}, {Role: "assistant"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := openai.ParseRequest(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if req.Model != tt.wantModel || req.Stream != tt.wantStream {
				t.Errorf("model, stream = %q, %v; want %q, %v", req.Model, req.Stream, tt.wantModel, tt.wantStream)
			}
			if !reflect.DeepEqual(req.Messages, tt.want) {
				t.Errorf("messages =\n%+v\nwant\n%+v", req.Messages, tt.want)
			}
			// Fields keep every top-level field byte for byte.
			var want map[string]json.RawMessage
			json.Unmarshal([]byte(tt.body), &want)
			if !reflect.DeepEqual(req.Fields, want) {
				t.Errorf("fields = %s, want %s", req.Fields, want)
			}
		})
	}
}

func TestParseRequestInvalid(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{``, "request body: empty"},
		{`   `, "request body: empty"},
		{`[]`, "request body: must be a JSON object"},
		{`null`, "request body: must be a JSON object"},
		{`"hi"`, "request body: must be a JSON object"},
		{`{`, "request body: invalid JSON: unexpected end of JSON input (offset 1)"},
		{`{"messages":[{"role":"user","content":"x"}]} {}`, "request body: invalid JSON: invalid character '{' after top-level value (offset 46)"},
		{`{"messages":[{"role":"user","content":"x"}]}x`, "request body: invalid JSON: invalid character 'x' after top-level value (offset 45)"},
		{`{"model":"a",}`, "request body: invalid JSON: invalid character '}' looking for beginning of object key string (offset 14)"},
		{`{}`, "messages: required"},
		{`{"messages":null}`, "messages: must be an array of messages"},
		{`{"messages":{}}`, "messages: must be an array of messages"},
		{`{"messages":[]}`, "messages: must not be empty"},
		{`{"messages":["hi"]}`, "messages[0]: must be an object"},
		{`{"messages":[{"content":"hi"}]}`, "messages[0].role: required"},
		{`{"messages":[{"role":1}]}`, "messages[0].role: must be a string"},
		{`{"messages":[{"role":""}]}`, "messages[0].role: must not be empty"},
		{`{"messages":[{"role":"user","content":"a"},{"role":"user","content":5}]}`, "messages[1].content: must be a string or an array of parts"},
		{`{"messages":[{"role":"user","content":{"type":"text"}}]}`, "messages[0].content: must be a string or an array of parts"},
		{`{"messages":[{"role":"user","content":["hi"]}]}`, "messages[0].content[0]: must be an object"},
		{`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, "messages[0].content[0].type: required"},
		{`{"messages":[{"role":"user","content":[{"type":""}]}]}`, "messages[0].content[0].type: must not be empty"},
		{`{"messages":[{"role":"user","content":[{"type":7}]}]}`, "messages[0].content[0].type: must be a string"},
		{`{"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text: required"},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":null}]}]}`, "messages[0].content[0].text: must be a string"},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}]}`, "messages[0].content[1].image_url: required"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":"http://x"}]}]}`, "messages[0].content[0].image_url: must be an object with a url"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[0].image_url.url: required"},
		{`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":1}}]}]}`, "messages[0].content[0].image_url.url: must be a string"},
		{`{"messages":[{"role":"assistant","tool_calls":{}}]}`, "messages[0].tool_calls: must be an array"},
		{`{"messages":[{"role":"tool","tool_call_id":5}]}`, "messages[0].tool_call_id: must be a string"},
		{`{"messages":[{"role":"user","name":true}]}`, "messages[0].name: must be a string"},
		{`{"model":5,"messages":[{"role":"user"}]}`, "model: must be a string"},
		{`{"stream":"yes","messages":[{"role":"user"}]}`, "stream: must be a boolean"},
	}
	for _, tt := range tests {
		_, err := openai.ParseRequest(strings.NewReader(tt.body))
		if err == nil {
			t.Errorf("%s: no error, want %q", tt.body, tt.want)
			continue
		}
		if !errors.Is(err, openai.ErrInvalidRequest) {
			t.Errorf("%s: error %v does not wrap ErrInvalidRequest", tt.body, err)
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.body, err, tt.want)
		}
	}
}

// A body over http.MaxBytesReader's limit is the reader's error, for a 413.
func TestParseRequestTooLarge(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`
	r := http.MaxBytesReader(httptest.NewRecorder(), readCloser{strings.NewReader(body)}, 10)
	_, err := openai.ParseRequest(r)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) || errors.Is(err, openai.ErrInvalidRequest) {
		t.Errorf("err = %v, want an *http.MaxBytesError", err)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"stream":true}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","tool_call_id":"1","content":"x"}]}`,
		`{"messages":[]}`, `[]`, `{`, `{"messages":[{"role":"user","content":5}]}`, "{\"messages\":[{\"role\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.ParseRequest(strings.NewReader(string(body)))
		if err != nil {
			if !errors.Is(err, openai.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if len(req.Messages) == 0 || req.Fields == nil || req.Fields["messages"] == nil {
			t.Fatalf("accepted a request without messages: %q", body)
		}
		for _, m := range req.Messages {
			if m.Role == "" {
				t.Fatalf("accepted a message without a role: %q", body)
			}
		}
		// What was accepted must encode for an upstream.
		if _, err := json.Marshal(req.Fields); err != nil {
			t.Fatalf("fields do not re-encode: %v", err)
		}
	})
}
