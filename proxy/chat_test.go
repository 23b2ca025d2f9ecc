package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

func TestChatComplete(t *testing.T) {
	script := providertest.Script{Text: "Hello there", Usage: true}
	up := providertest.OpenAI(t, script)
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := chat(t, ts, chatBody)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	// What the upstream answered, byte for byte: an identical fake sent the
	// same request.
	ref := providertest.OpenAI(t, script)
	want := do(t, t.Context(), ref.Client(), http.MethodPost, ref.URL+"/chat/completions", string(up.LastBody()))
	if !bytes.Equal(res.body, want.body) {
		t.Errorf("body = %s\nwant the upstream's %s", res.body, want.body)
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

	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.LastBody(), &sent); err != nil {
		t.Fatal(err)
	}
	if string(sent["model"]) != `"fake-model"` || string(sent["temperature"]) != "0.25" {
		t.Errorf("upstream got %s, want model fake-model and the client's temperature", up.LastBody())
	}
	if _, ok := sent["stream"]; ok {
		t.Errorf("upstream got %s, want no stream field", up.LastBody())
	}
}

func TestChatStream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo", " world"}, Usage: true})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := chat(t, ts, streamBody)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/event-stream",
		"Cache-Control":       "no-cache",
		proxy.HeaderRoute:     "code",
		proxy.HeaderDecidedBy: router.ByEmbedding,
		proxy.HeaderScore:     "0.8125",
		proxy.HeaderModel:     "up/fake-model",
	} {
		if got := res.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	golden(t, "stream_ok.sse", res.body)

	evs := events(t, res.body)
	if evs[len(evs)-1] != "[DONE]" {
		t.Errorf("last event = %q, want [DONE]", evs[len(evs)-1])
	}
	var text strings.Builder
	for _, ev := range evs[:len(evs)-1] {
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.String() != "Hello world" {
		t.Errorf("streamed text = %q, want %q", text.String(), "Hello world")
	}
}

// TestChatStreamCut: once a chunk is out the stream is committed: a later
// failure is an in-band error event, the stream ends without [DONE], and
// the backup is not tried.
func TestChatStreamCut(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}, CutAfter: 1})
	backup := providertest.OpenAI(t)
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up), target("backup", backup))}})

	res := chat(t, ts, streamBody)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (committed), body %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	golden(t, "stream_cut.sse", res.body)

	evs := events(t, res.body)
	if len(evs) != 2 {
		t.Fatalf("events = %q, want the chunk and an error", evs)
	}
	if !strings.Contains(evs[0], `"content":"Hel"`) {
		t.Errorf("first event = %s, want the upstream's first chunk", evs[0])
	}
	var e apiError
	if err := json.Unmarshal([]byte(evs[1]), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("last event = %s, want an OpenAI error (%v)", evs[1], err)
	}
	if e.Error.Type != "api_error" || !strings.Contains(e.Error.Message, "up") {
		t.Errorf("error = %+v, want an api_error naming the upstream", e.Error)
	}
	if bytes.Contains(res.body, []byte("data: [DONE]")) {
		t.Error("a cut stream ended with [DONE]")
	}
	if n := backup.Requests(); n != 0 {
		t.Errorf("backup got %d requests after the stream was committed, want 0", n)
	}
}

// TestChatStreamInBandError: an error event from the upstream after the
// first chunk is passed on in-band with the upstream's status, in
// switchyard's words (the upstream's 5xx text is not shown).
func TestChatStreamInBandError(t *testing.T) {
	body := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}` + "\n\n" +
		`data: {"error":{"message":"overloaded at 10.0.0.7, password=hunter2","type":"server_error","code":503}}` + "\n\n"
	up := providertest.OpenAI(t, providertest.Script{Body: body})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := chat(t, ts, streamBody)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200, body %s", res.status, res.body)
	}
	evs := events(t, res.body)
	if len(evs) != 2 {
		t.Fatalf("events = %q, want the chunk and an error", evs)
	}
	var e apiError
	if err := json.Unmarshal([]byte(evs[1]), &e); err != nil {
		t.Fatalf("last event = %s: %v", evs[1], err)
	}
	if e.Error.Type != "api_error" || !strings.Contains(e.Error.Message, "upstream up: is overloaded") || strings.Contains(string(res.body), "hunter2") || strings.Contains(string(res.body), "10.0.0.7") {
		t.Errorf("error = %+v, want 503 saying overloaded in switchyard's words", e.Error)
	}
}

// TestChatStreamFailoverBeforeFirstChunk: until a chunk is out, a failed
// target is replaced, and the headers name the one that streamed.
func TestChatStreamFailoverBeforeFirstChunk(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Status: http.StatusServiceUnavailable})
	backup := providertest.OpenAI(t, providertest.Script{Chunks: []string{"from ", "backup"}})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up), target("backup", backup))}})

	res := chat(t, ts, streamBody)

	if res.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.status, res.body)
	}
	if got := res.header.Get(proxy.HeaderModel); got != "backup/fake-model" {
		t.Errorf("%s = %q, want backup/fake-model", proxy.HeaderModel, got)
	}
	if up.Requests() != 1 || backup.Requests() != 1 {
		t.Errorf("requests: up %d, backup %d; want 1 each", up.Requests(), backup.Requests())
	}
	if !bytes.HasSuffix(res.body, []byte("data: [DONE]\n\n")) {
		t.Errorf("body does not end with [DONE]: %s", res.body)
	}
}

// TestChatUpstreamErrors: a chain that fails before anything was sent gets
// a real status and an OpenAI error body, streamed request or not.
func TestChatUpstreamErrors(t *testing.T) {
	const tooLong = `{"error":{"message":"maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`
	tests := []struct {
		name       string
		script     *providertest.Script // nil = nothing listens
		wantStatus int
		wantType   string
		wantMsg    string // substring
	}{
		{"400 passed through", &providertest.Script{Status: 400, Body: tooLong}, 400, "invalid_request_error", "maximum context length is 8192 tokens"},
		// The gateway's key was refused, not the client's: a 502 that says so.
		{"401 is the gateway's", &providertest.Script{Status: 401}, 502, "api_error", "refused switchyard's credentials for it (HTTP 401)"},
		{"429 in switchyard's words", &providertest.Script{Status: 429}, 429, "rate_limit_error", "is rate limiting switchyard (HTTP 429)"},
		{"503 in switchyard's words", &providertest.Script{Status: 503}, 503, "api_error", "is overloaded or unavailable (HTTP 503)"},
		{"500 becomes 502", &providertest.Script{Status: 500, Body: `{"error":{"message":"db password=hunter2 at 10.1.2.3:5432, key sk-UPSTREAM-abcdef123456","type":"server_error"}}`}, 502, "api_error", "failed (HTTP 500)"},
		{"malformed answer", &providertest.Script{Malformed: true}, 502, "api_error", "malformed"},
		{"connection refused", nil, 502, "api_error", "upstream up: connection refused"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, stream), func(t *testing.T) {
				tgt := targetURL("up", providertest.Refused(t))
				if tt.script != nil {
					tgt = target("up", providertest.OpenAI(t, *tt.script))
				}
				ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(tgt)}})
				body := chatBody
				if stream {
					body = streamBody
				}

				res := chat(t, ts, body)

				e := wantAPIError(t, res, tt.wantStatus)
				if e.Error.Type != tt.wantType || !strings.Contains(e.Error.Message, tt.wantMsg) {
					t.Errorf("error = %+v, want type %s and a message containing %q", e.Error, tt.wantType, tt.wantMsg)
				}
				if !strings.HasPrefix(e.Error.Message, "upstream up: ") {
					t.Errorf("message %q does not name the upstream", e.Error.Message)
				}
				// A passed-through failure keeps the upstream's code.
				if tt.wantStatus == 400 && e.Error.Code != "context_length_exceeded" {
					t.Errorf("code = %q, want the upstream's context_length_exceeded", e.Error.Code)
				}
				for _, secret := range []string{"hunter2", "sk-UPSTREAM", "10.1.2.3", "127.0.0.1", "http://", "fake upstream"} {
					if tt.wantStatus != 400 && strings.Contains(string(res.body), secret) {
						t.Errorf("the client sees %q: %s", secret, res.body)
					}
				}
				if res.header.Get(proxy.HeaderRoute) != "code" {
					t.Errorf("%s = %q, want the decision's route even on failure", proxy.HeaderRoute, res.header.Get(proxy.HeaderRoute))
				}
				if got := res.header.Get(proxy.HeaderModel); got != "" {
					t.Errorf("%s = %q, want none when no target answered", proxy.HeaderModel, got)
				}
			})
		}
	}
}

func TestChatBadRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantMsg string // substring
	}{
		{"empty body", "", "empty"},
		{"truncated JSON", `{"model":"auto","messages":[`, "invalid JSON"},
		{"not an object", `[{"role":"user"}]`, "must be a JSON object"},
		{"trailing garbage", `{"messages":[{"role":"user","content":"hi"}]} {}`, "request body"},
		{"no messages", `{"model":"auto"}`, "messages"},
		{"empty messages", `{"messages":[]}`, "messages"},
		{"model not a string", `{"model":7,"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"stream not a boolean", `{"stream":"yes","messages":[{"role":"user","content":"hi"}]}`, "stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.OpenAI(t)
			stub := &stubRouter{dec: routed(target("up", up))}
			ts, _ := serve(t, &proxy.Runtime{Router: stub})

			res := chat(t, ts, tt.body)

			e := wantAPIError(t, res, http.StatusBadRequest)
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

func TestChatBodyTooLarge(t *testing.T) {
	up := providertest.OpenAI(t)
	stub := &stubRouter{dec: routed(target("up", up))}
	ts, _ := serve(t, &proxy.Runtime{Router: stub, MaxBody: 64})

	small := `{"messages":[{"role":"user","content":"hi"}]}`
	if res := chat(t, ts, small); res.status != http.StatusOK {
		t.Fatalf("%d-byte body: status %d, body %s", len(small), res.status, res.body)
	}
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 100) + `"}]}`
	e := wantAPIError(t, chat(t, ts, big), http.StatusRequestEntityTooLarge)
	if !strings.Contains(e.Error.Message, "64 bytes") {
		t.Errorf("message %q does not state the limit", e.Error.Message)
	}
	if n := stub.calls.Load(); n != 1 {
		t.Errorf("router called %d times, want 1 (the small body only)", n)
	}
}

func TestChatRouterErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantMsg    string
	}{
		{"no route", fmt.Errorf("%w: model %q is not a route, alias or served model", router.ErrNoRoute, "gpt-9"), 404, `model "gpt-9" is not a route`},
		{"internal", errors.New("router: something broke"), 500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{err: tt.err}})
			e := wantAPIError(t, chat(t, ts, chatBody), tt.wantStatus)
			if tt.wantStatus == 404 && e.Error.Code != "model_not_found" {
				t.Errorf("code = %q, want model_not_found", e.Error.Code)
			}
			if !strings.Contains(e.Error.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Error.Message, tt.wantMsg)
			}
			if tt.wantStatus == 500 && strings.Contains(e.Error.Message, "broke") {
				t.Errorf("message %q leaks an internal error", e.Error.Message)
			}
		})
	}
}

func TestDecisionHeaders(t *testing.T) {
	m := &classifier.Match{Route: "code", Score: 0.3}
	tests := []struct {
		name string
		dec  router.Decision
		want map[string]string // "" = header absent
	}{
		{"explicit route", router.Decision{Route: "code", DecidedBy: router.ByExplicit},
			map[string]string{proxy.HeaderRoute: "code", proxy.HeaderDecidedBy: "explicit", proxy.HeaderScore: ""}},
		{"explicit model", router.Decision{Model: "gpt-4o-mini", DecidedBy: router.ByExplicit},
			map[string]string{proxy.HeaderRoute: "", proxy.HeaderDecidedBy: "explicit", proxy.HeaderScore: ""}},
		{"default after classifying", router.Decision{Route: "chat", DecidedBy: router.ByDefault, Score: 0.123456, Match: m},
			map[string]string{proxy.HeaderRoute: "chat", proxy.HeaderDecidedBy: "default", proxy.HeaderScore: "0.1235"}},
		{"default unclassified", router.Decision{Route: "chat", DecidedBy: router.ByDefault},
			map[string]string{proxy.HeaderRoute: "chat", proxy.HeaderDecidedBy: "default", proxy.HeaderScore: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.OpenAI(t)
			dec := tt.dec
			dec.Chain = &providers.Chain{Targets: []providers.Target{target("up", up)}}
			ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: dec}})
			res := chat(t, ts, chatBody)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, body %s", res.status, res.body)
			}
			for h, want := range tt.want {
				if got := res.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

// TestChatClientDisconnectCancelsUpstream: a client that goes away
// mid-stream cancels the upstream request rather than leaving it running.
func TestChatClientDisconnectCancelsUpstream(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b", "c"}, ChunkDelay: time.Minute})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(streamBody))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"content":"a"`) {
		t.Fatalf("first line = %q, %v; want the first chunk", line, err)
	}
	cancel()

	deadline := time.Now().Add(5 * time.Second)
	for up.Canceled() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the upstream request was not cancelled within 5s of the client leaving")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
