package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

func request(t *testing.T, body string) *providers.Request {
	t.Helper()
	req, err := openai.ParseRequest(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req.WithModel("gpt-4o")
}

const hi = `{"model":"auto","temperature":0.5,"messages":[{"role":"user","content":"hi"}]}`

func TestClientComplete(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "Hello there", Usage: true})
	c := openai.New("oa", up.URL+"/", "sk-test", up.Client())
	c.Headers = http.Header{"Openai-Organization": {"org-1"}}
	resp, err := c.Complete(t.Context(), request(t, hi))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Text() != "Hello there" || resp.Message.Role != "assistant" || resp.Model != "gpt-4o" ||
		resp.ID != "chatcmpl-fake-0" || resp.Created != providertest.Created || resp.FinishReason != "stop" ||
		resp.Usage != (providers.Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6}) {
		t.Errorf("response = %+v", resp)
	}
	if !strings.Contains(string(resp.Raw), `"logprobs":null`) {
		t.Errorf("Raw does not keep the upstream body: %s", resp.Raw)
	}
	if got, want := string(up.LastBody()), `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o","temperature":0.5}`; got != want {
		t.Errorf("upstream body\n got %s\nwant %s", got, want)
	}
	h := up.LastHeader()
	if h.Get("Authorization") != "Bearer sk-test" || h.Get("Openai-Organization") != "org-1" || h.Get("Content-Type") != "application/json" {
		t.Errorf("upstream headers = %v", h)
	}

	// No key, no Authorization header.
	if _, err := openai.New("oa", up.URL, "", up.Client()).Complete(t.Context(), request(t, hi)); err != nil {
		t.Fatal(err)
	}
	if got := up.LastHeader().Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q without a key", got)
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
		{"503 with retry-after", providertest.Script{Status: 503, RetryAfter: "3"}, 503, true, "server_error", "fake upstream: status 503", 3},
		{"429", providertest.Script{Status: 429}, 429, true, "rate_limit_error", "status 429", 0},
		{"400", providertest.Script{Status: 400}, 400, false, "invalid_request_error", "status 400", 0},
		{"401 plain error string", providertest.Script{Status: 401, Body: `{"error":"bad key"}`}, 401, false, "", "bad key", 0},
		{"502 html", providertest.Script{Status: 502, Body: "<html>Bad Gateway</html>"}, 502, true, "", "<html>Bad Gateway</html>", 0},
		{"500 empty", providertest.Script{Status: 500, Body: " "}, 500, true, "", "Internal Server Error", 0},
		{"malformed 200", providertest.Script{Malformed: true}, 502, true, "", "malformed chat.completion", 0},
		{"200 without choices", providertest.Script{Body: `{"id":"x","choices":[]}`}, 502, true, "", "no choices", 0},
		{"200 with an error", providertest.Script{Body: `{"error":{"message":"oops"}}`}, 502, true, "", "oops", 0},
		{"200 not an object", providertest.Script{Body: `[1]`}, 502, true, "", "not a JSON object", 0},
		{"200 bad content", providertest.Script{Body: `{"choices":[{"message":{"role":"assistant","content":5}}]}`}, 502, true, "", "content: must be a string", 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			if stream && tt.script.Status == 0 {
				continue // 2xx bodies are streams there; see TestClientStreamErrors
			}
			up := providertest.OpenAI(t, tt.script)
			c := openai.New("oa", up.URL, "k", up.Client())
			var err error
			if stream {
				err = c.Stream(t.Context(), request(t, hi), func(providers.Chunk) error { return nil })
			} else {
				_, err = c.Complete(t.Context(), request(t, hi))
			}
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Errorf("%s (stream %v): err = %v, want a *providers.Error", tt.name, stream, err)
				continue
			}
			if pe.Provider != "oa" || pe.Status != tt.wantStatus || pe.Retryable != tt.wantRetryable || pe.Type != tt.wantType ||
				pe.RetryAfter != tt.wantAfter || !strings.Contains(pe.Error(), tt.wantMsg) {
				t.Errorf("%s (stream %v): err = %+v (%v)", tt.name, stream, pe, pe)
			}
		}
	}
}

func TestClientStream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}, Usage: true})
	c := openai.New("oa", up.URL, "k", up.Client())
	var got []providers.Chunk
	err := c.Stream(t.Context(), request(t, hi), func(ch providers.Chunk) error {
		got = append(got, ch)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d chunks, want 4: %+v", len(got), got)
	}
	if got[0].Role != "assistant" || got[0].Text != "Hel" || got[1].Text != "lo" || got[2].FinishReason != "stop" ||
		got[3].Usage == nil || got[3].Usage.TotalTokens != 7 || got[0].Model != "gpt-4o" || got[0].ID != "chatcmpl-fake-0" {
		t.Errorf("chunks = %+v", got)
	}
	for _, ch := range got {
		if !json.Valid(ch.Raw) || !strings.Contains(string(ch.Raw), "chat.completion.chunk") {
			t.Errorf("Raw = %s", ch.Raw)
		}
	}
	var body map[string]json.RawMessage
	json.Unmarshal(up.LastBody(), &body)
	if string(body["stream"]) != "true" || string(body["model"]) != `"gpt-4o"` {
		t.Errorf("upstream body = %s", up.LastBody())
	}
	if got := up.LastHeader().Get("Accept"); got != "text/event-stream" {
		t.Errorf("Accept = %q", got)
	}
}

// Real servers split data over lines, send comments and CRLFs.
func TestClientStreamWire(t *testing.T) {
	body := ": keep-alive\r\n\r\n" +
		"data: {\"id\":\"a\",\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\r\n\r\n" +
		"event: message\ndata: {\"id\":\"a\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"}},{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: [DONE]\n"
	up := providertest.OpenAI(t, providertest.Script{Body: body})
	var text strings.Builder
	var finish string
	err := openai.New("oa", up.URL, "", up.Client()).Stream(t.Context(), request(t, hi), func(ch providers.Chunk) error {
		text.WriteString(ch.Text)
		finish = ch.FinishReason
		return nil
	})
	if err != nil || text.String() != "Hi!" || finish != "stop" {
		t.Errorf("text %q, finish %q, err %v", text.String(), finish, err)
	}
}

func TestClientStreamErrors(t *testing.T) {
	tests := []struct {
		name          string
		script        providertest.Script
		wantChunks    int
		wantStatus    int
		wantRetryable bool
		wantMsg       string
	}{
		{"cut", providertest.Script{Chunks: []string{"a", "b"}, CutAfter: 1}, 1, 502, true, "stream ended before [DONE]"},
		{"malformed", providertest.Script{Malformed: true}, 0, 502, true, "malformed stream event"},
		{"not an object", providertest.Script{Body: "data: [1]\n\n"}, 0, 502, true, "not a JSON object"},
		{"error event", providertest.Script{Body: "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"}, 0, 502, true, "overloaded"},
		{"error event with a status", providertest.Script{Body: "data: {\"error\":{\"message\":\"slow down\",\"code\":429}}\n\n"}, 0, 429, true, "slow down"},
		{"error event with a client status", providertest.Script{Body: "data: {\"error\":{\"message\":\"too long\",\"code\":400}}\n\n"}, 0, 400, false, "too long"},
		{"named error event", providertest.Script{Body: "event: error\ndata: {\"message\":\"boom\"}\n\n"}, 0, 502, true, "boom"},
		{"json instead of a stream", providertest.Script{Body: `{"choices":[]}`, ContentType: "application/json; charset=utf-8"}, 0, 502, true, "expected text/event-stream"},
	}
	for _, tt := range tests {
		up := providertest.OpenAI(t, tt.script)
		n := 0
		err := openai.New("oa", up.URL, "", up.Client()).Stream(t.Context(), request(t, hi), func(providers.Chunk) error {
			n++
			return nil
		})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Status != tt.wantStatus || pe.Retryable != tt.wantRetryable || !strings.Contains(err.Error(), tt.wantMsg) || n != tt.wantChunks {
			t.Errorf("%s: %d chunks, err %v (%+v)", tt.name, n, err, pe)
		}
	}
}

func TestClientStreamEmitError(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b", "c"}})
	errStop := errors.New("stop")
	n := 0
	err := openai.New("oa", up.URL, "", up.Client()).Stream(t.Context(), request(t, hi), func(providers.Chunk) error {
		n++
		return errStop
	})
	if err != errStop || n != 1 {
		t.Errorf("err = %v after %d chunks, want emit's error after 1", err, n)
	}
}

func TestClientTimeout(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Delay: 5 * time.Second}, providertest.Script{Chunks: []string{"a", "b", "c"}, ChunkDelay: 100 * time.Millisecond})
	c := openai.New("oa", up.URL, "", up.Client())
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
	up := providertest.OpenAI(t, providertest.Script{Delay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := openai.New("oa", up.URL, "", up.Client()).Complete(ctx, request(t, hi))
	var pe *providers.Error
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) {
		t.Errorf("err = %v, want the context's own error", err)
	}
}

func TestClientRefused(t *testing.T) {
	_, err := openai.New("oa", providertest.Refused(t), "", nil).Complete(t.Context(), request(t, hi))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 502 || !pe.Retryable {
		t.Errorf("err = %v, want a retryable 502", err)
	}
}
