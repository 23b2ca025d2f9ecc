package main

import (
	"bufio"
	"context"
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
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// Fault-injection tests: switchyard built from a config exactly as serve
// builds it, in front of fake upstreams that fail in scripted ways. Every
// test checks what the client received and how many requests reached each
// upstream. The configs name explicit models only (aliases, routes asked
// for by name), so no embedding model is loaded.

// faultStack is one switchyard in front of fake upstreams.
type faultStack struct {
	url    string
	client openai.Client
}

// newFaultStack builds switchyard from cfgText (YAML) and serves it.
func newFaultStack(t *testing.T, cfgText string) *faultStack {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	if gateway.NeedsEmbedder(cfg) {
		t.Fatal("a fault test config must not need the embedding model")
	}
	rt, err := gateway.Build(t.Context(), cfg, gateway.Env{}, "", providers.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	// Cleanups run last-in first-out: the server closes before the runtime.
	t.Cleanup(func() { rt.Close() })
	t.Cleanup(srv.Close)
	return &faultStack{
		url:    srv.URL,
		client: openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0)),
	}
}

// pairConfig is an alias "fast" served by primary then backup.
func pairConfig(primaryURL, backupURL, primaryExtra string) string {
	return fmt.Sprintf(`
providers:
  - {name: primary, kind: openai, base_url: %s%s}
  - {name: backup, kind: openai, base_url: %s}
aliases:
  fast: [{provider: primary, model: m-primary}, {provider: backup, model: m-backup}]
routing: {max_retries: 0}
`, primaryURL, primaryExtra, backupURL)
}

// ask sends one request for model, streamed or not, through the SDK, and
// returns the answer's text and the target that answered.
func (s *faultStack) ask(t *testing.T, ctx context.Context, model string, stream bool) (text, target string, err error) {
	t.Helper()
	var resp *http.Response
	params := userParams(model, "hello")
	if !stream {
		got, err := s.client.Chat.Completions.New(ctx, params, option.WithResponseInto(&resp))
		if err != nil {
			return "", "", err
		}
		if len(got.Choices) != 1 {
			t.Fatalf("answer has %d choices", len(got.Choices))
		}
		return got.Choices[0].Message.Content, resp.Header.Get(proxy.HeaderModel), nil
	}
	st := s.client.Chat.Completions.NewStreaming(ctx, params, option.WithResponseInto(&resp))
	defer st.Close()
	var b strings.Builder
	for st.Next() {
		for _, c := range st.Current().Choices {
			b.WriteString(c.Delta.Content)
		}
	}
	if err := st.Err(); err != nil {
		return b.String(), "", err
	}
	return b.String(), resp.Header.Get(proxy.HeaderModel), nil
}

// rawReply is what a client received, read byte for byte.
type rawReply struct {
	status int
	header http.Header
	body   string
}

// post sends a chat request for model as raw HTTP and reads the whole
// reply, so SSE bytes can be inspected.
func (s *faultStack) post(t *testing.T, model string, stream bool) rawReply {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hello"}]}`, model, stream)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	return rawReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(body string) []string {
	var out []string
	for ev := range strings.SplitSeq(body, "\n\n") {
		for line := range strings.SplitSeq(ev, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				out = append(out, d)
			}
		}
	}
	return out
}

// streamParts reads an SSE body: the streamed text, the in-band error
// event's type and message ("", "" when none), and whether [DONE] came.
func streamParts(t *testing.T, body string) (text, errType, errMsg string, done bool) {
	t.Helper()
	for _, d := range sseEvents(body) {
		if d == "[DONE]" {
			done = true
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatalf("event %q is not JSON: %v", d, err)
		}
		if ev.Error != nil {
			if ev.Error.Type == "" || ev.Error.Message == "" {
				t.Errorf("error event %q lacks a type or message", d)
			}
			errType, errMsg = ev.Error.Type, ev.Error.Message
			continue
		}
		for _, c := range ev.Choices {
			text += c.Delta.Content
		}
	}
	return text, errType, errMsg, done
}

// openAIError decodes an OpenAI error body, failing the test when it has
// another shape.
func openAIError(t *testing.T, r rawReply) (msg, typ string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error reply has Content-Type %q, want JSON: %s", ct, r.body)
	}
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("reply %d %q is not an OpenAI error (err %v)", r.status, r.body, err)
	}
	return e.Error.Message, e.Error.Type
}

// eventually polls cond every 5ms until it holds or 3s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var backupAnswer = providertest.Script{Chunks: []string{"from ", "the ", "backup"}}

// TestFaultFailsOver: each retryable failure of the first target before any
// content sends the request to the second, and the client sees only the
// second's answer. A target that sent Retry-After is then paused: the next
// request does not reach it; one that did not is tried again.
func TestFaultFailsOver(t *testing.T) {
	type S = providertest.Script
	tests := []struct {
		name    string
		primary *S     // nil: a refused connection
		extra   string // primary's extra provider settings
		stream  bool
		paused  bool // the next request skips the primary
	}{
		{name: "refused connection", primary: nil},
		{name: "refused connection, stream", primary: nil, stream: true},
		{name: "500", primary: &S{Status: 500}},
		{name: "502", primary: &S{Status: 502}},
		{name: "503", primary: &S{Status: 503}},
		{name: "503, stream", primary: &S{Status: 503}, stream: true},
		{name: "429", primary: &S{Status: 429}},
		{name: "503 with Retry-After", primary: &S{Status: 503, RetryAfter: "30"}, paused: true},
		{name: "429 with Retry-After", primary: &S{Status: 429, RetryAfter: "30"}, paused: true},
		{name: "429 with Retry-After, stream", primary: &S{Status: 429, RetryAfter: "30"}, stream: true, paused: true},
		{name: "timeout before headers", primary: &S{Delay: 10 * time.Second}, extra: ", timeout: 100ms"},
		{name: "timeout before headers, stream", primary: &S{Delay: 10 * time.Second}, extra: ", timeout: 100ms", stream: true},
		{name: "malformed JSON", primary: &S{Malformed: true}},
		{name: "malformed SSE", primary: &S{Malformed: true}, stream: true},
		{name: "JSON where SSE was asked for", primary: &S{Body: `{"id":"x","choices":[]}`, ContentType: "application/json"}, stream: true},
		{name: "stalls before the first chunk", primary: &S{FirstChunkDelay: 10 * time.Second}, extra: ", first_byte_timeout: 100ms", stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backup := providertest.OpenAI(t, backupAnswer)
			var primary *providertest.Upstream
			primaryURL := providertest.Refused(t)
			if tt.primary != nil {
				primary = providertest.OpenAI(t, *tt.primary)
				primaryURL = primary.URL
			}
			s := newFaultStack(t, pairConfig(primaryURL, backup.URL, tt.extra))

			start := time.Now()
			text, target, err := s.ask(t, t.Context(), "fast", tt.stream)
			if err != nil {
				t.Fatalf("request failed: %v", err)
			}
			if text != "from the backup" || target != "backup/m-backup" {
				t.Errorf("got %q from %q, want only the backup's answer", text, target)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("failover took %v", took)
			}
			if primary != nil {
				if n := primary.Requests(); n != 1 {
					t.Errorf("primary got %d requests, want 1", n)
				}
				if tt.primary.Delay > 0 || tt.primary.FirstChunkDelay > 0 {
					eventually(t, "the abandoned upstream request to close", func() bool { return primary.Canceled() == 1 })
				}
			}
			if n := backup.Requests(); n != 1 {
				t.Errorf("backup got %d requests, want 1", n)
			}

			// The next request.
			if _, _, err := s.ask(t, t.Context(), "fast", tt.stream); err != nil {
				t.Fatalf("second request failed: %v", err)
			}
			if primary != nil {
				want := 2
				if tt.paused {
					want = 1
				}
				if n := primary.Requests(); n != want {
					t.Errorf("after a second request primary got %d requests, want %d (paused: %t)", n, want, tt.paused)
				}
			}
		})
	}
}

// TestFaultMalformedWithoutBackup: garbage from the only target is a clean
// 502 in OpenAI's error format, streamed or not (no SSE has started), and
// is retried only max_retries times.
func TestFaultMalformedWithoutBackup(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%t", stream), func(t *testing.T) {
			up := providertest.OpenAI(t, providertest.Script{Malformed: true})
			s := newFaultStack(t, fmt.Sprintf(`
providers: [{name: only, kind: openai, base_url: %s}]
aliases: {solo: [{provider: only, model: m}]}
routing: {max_retries: 1}
`, up.URL))
			r := s.post(t, "solo", stream)
			if r.status != http.StatusBadGateway {
				t.Fatalf("status %d, want 502: %s", r.status, r.body)
			}
			msg, typ := openAIError(t, r)
			if !strings.Contains(msg, "upstream only") || !strings.Contains(msg, "malformed") || typ != "api_error" {
				t.Errorf("error %q (%s), want a malformed-answer message naming the provider", msg, typ)
			}
			if n := up.Requests(); n != 2 {
				t.Errorf("upstream got %d requests, want 2 (1 + max_retries)", n)
			}
		})
	}
}

// TestFaultStreamCutAfterFirstChunk: once content has gone out the stream
// is committed: a cut ends it with an error event and no [DONE], and the
// backup is never asked.
func TestFaultStreamCutAfterFirstChunk(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo", " world"}, CutAfter: 1})
	backup := providertest.OpenAI(t, backupAnswer)
	s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ""))

	r := s.post(t, "fast", true)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d %q, want a 200 stream", r.status, r.header.Get("Content-Type"))
	}
	text, typ, msg, done := streamParts(t, r.body)
	if text != "Hel" {
		t.Errorf("streamed text %q, want just the first chunk", text)
	}
	if typ != "api_error" || !strings.Contains(msg, "upstream primary") {
		t.Errorf("error event %s %q, want an api_error (a 502) naming the upstream", typ, msg)
	}
	if done {
		t.Error("a cut stream ended with [DONE]; the client would take it as complete")
	}
	if n := backup.Requests(); n != 0 {
		t.Errorf("backup got %d requests; there is no failover after content", n)
	}
	if n := primary.Requests(); n != 1 {
		t.Errorf("primary got %d requests, want 1", n)
	}

	// The SDK sees the failure too, not a short answer.
	text, _, err := s.ask(t, t.Context(), "fast", true)
	if err == nil {
		t.Errorf("SDK stream ended without an error, text %q", text)
	}
}

// TestFaultFirstByteTimeoutHoldsBackRoleChunk: the stalled target's
// role-only chunk never reaches the client; the stream it gets is the
// backup's alone, complete with [DONE].
func TestFaultFirstByteTimeoutHoldsBackRoleChunk(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Text: "late", FirstChunkDelay: 10 * time.Second})
	backup := providertest.OpenAI(t, backupAnswer)
	s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ", first_byte_timeout: 100ms"))

	r := s.post(t, "fast", true)
	text, typ, _, done := streamParts(t, r.body)
	if r.status != 200 || text != "from the backup" || typ != "" || !done {
		t.Errorf("got %d %q (error %q, [DONE] %t), want the backup's whole stream", r.status, text, typ, done)
	}
	if got := r.header.Get(proxy.HeaderModel); got != "backup/m-backup" {
		t.Errorf("%s = %q", proxy.HeaderModel, got)
	}
	if strings.Count(r.body, `"role":"assistant"`) != 1 {
		t.Errorf("want exactly one role chunk (the backup's):\n%s", r.body)
	}
	eventually(t, "the stalled upstream request to close", func() bool { return primary.Canceled() == 1 })
}

// TestFaultAllTargetsDown: once every target's circuit is open, a request
// reaches no upstream and gets a 503 naming the alias or route.
func TestFaultAllTargetsDown(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Status: 500})
	b := providertest.OpenAI(t, providertest.Script{Status: 502})
	s := newFaultStack(t, fmt.Sprintf(`
providers:
  - {name: a, kind: openai, base_url: %s, max_failures: 1, recovery_interval: 1m}
  - {name: b, kind: openai, base_url: %s, max_failures: 1, recovery_interval: 1m}
aliases:
  fast: [{provider: a, model: m}, {provider: b, model: m}]
routes:
  - {name: code, targets: [{provider: a, model: m}, {provider: b, model: m}]}
default_route: code
routing: {max_retries: 0}
`, a.URL, b.URL))

	// The first request tries both and gets the last failure.
	r := s.post(t, "fast", false)
	if msg, _ := openAIError(t, r); r.status != 502 || !strings.Contains(msg, "upstream b") {
		t.Fatalf("first request: %d %q, want b's 502", r.status, msg)
	}
	for _, tt := range []struct {
		model, name string
		stream      bool
	}{
		{"fast", `alias "fast"`, false},
		{"fast", `alias "fast"`, true},
		{"code", `route "code"`, false},
		{"code", `route "code"`, true},
	} {
		r := s.post(t, tt.model, tt.stream)
		msg, _ := openAIError(t, r) // JSON even for a stream: nothing was sent yet
		if r.status != http.StatusServiceUnavailable || !strings.Contains(msg, tt.name) {
			t.Errorf("%s (stream %t): %d %q, want a 503 naming %s", tt.model, tt.stream, r.status, msg, tt.name)
		}
	}
	if a.Requests() != 1 || b.Requests() != 1 {
		t.Errorf("upstreams got %d and %d requests, want 1 each: open circuits must not be tried", a.Requests(), b.Requests())
	}
}

// TestFaultCircuitOpensAndCloses: max_failures consecutive failures open
// the primary's circuit, so it stops receiving requests; after
// recovery_interval one probe goes through, and its success closes the
// circuit.
func TestFaultCircuitOpensAndCloses(t *testing.T) {
	const recovery = 200 * time.Millisecond
	fail := providertest.Script{Status: 500}
	primary := providertest.OpenAI(t, fail, fail, fail, providertest.Script{Text: "primary is back"})
	backup := providertest.OpenAI(t, backupAnswer)
	s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ", max_failures: 3, recovery_interval: 200ms"))

	var opened time.Time // no later than the circuit opened
	for i := range 3 {
		opened = time.Now()
		if _, target, err := s.ask(t, t.Context(), "fast", false); err != nil || target != "backup/m-backup" {
			t.Fatalf("request %d: %q %v, want the backup", i+1, target, err)
		}
	}
	if n := primary.Requests(); n != 3 {
		t.Fatalf("primary got %d requests, want 3", n)
	}
	// Open: the primary is skipped.
	for i := range 3 {
		if _, target, err := s.ask(t, t.Context(), "fast", i%2 == 1); err != nil || target != "backup/m-backup" {
			t.Fatalf("while open: %q %v, want the backup", target, err)
		}
	}
	if n := primary.Requests(); n != 3 {
		t.Fatalf("primary got %d requests while its circuit was open, want 3", n)
	}
	// Poll until the probe goes through: it must not before recovery_interval.
	var probeText string
	eventually(t, "the probe", func() bool {
		text, target, err := s.ask(t, t.Context(), "fast", false)
		if err != nil {
			t.Fatal(err)
		}
		probeText = text
		return target == "primary/m-primary"
	})
	if since := time.Since(opened); since < recovery {
		t.Errorf("probe went through %v after the circuit opened, before recovery_interval %v", since, recovery)
	}
	if probeText != "primary is back" || primary.Requests() != 4 {
		t.Errorf("probe answered %q, primary requests %d; want one probe", probeText, primary.Requests())
	}
	// Closed again: requests flow to the primary.
	backups := backup.Requests()
	for range 3 {
		if _, target, err := s.ask(t, t.Context(), "fast", true); err != nil || target != "primary/m-primary" {
			t.Fatalf("after recovery: %q %v, want the primary", target, err)
		}
	}
	if primary.Requests() != 7 || backup.Requests() != backups {
		t.Errorf("after recovery primary has %d requests (want 7), backup %d more (want 0)", primary.Requests(), backup.Requests()-backups)
	}
}

// TestFault401OpensCircuitAtOnce: a refused key is the provider's fault,
// not the request's, and repeating it cannot help: the request fails over,
// and the first 401 opens the circuit at once (well before max_failures),
// so no later request reaches that upstream.
func TestFault401OpensCircuitAtOnce(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			primary := providertest.OpenAI(t, providertest.Script{Status: status})
			backup := providertest.OpenAI(t, backupAnswer)
			s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ", max_failures: 5"))
			for i := range 5 {
				text, target, err := s.ask(t, t.Context(), "fast", i%2 == 1)
				if err != nil || text != "from the backup" || target != "backup/m-backup" {
					t.Errorf("request %d: %q from %q, %v; want the backup", i+1, text, target, err)
				}
			}
			if n := primary.Requests(); n != 1 {
				t.Errorf("primary got %d requests; after a %d it must not be hammered", n, status)
			}
			if n := backup.Requests(); n != 5 {
				t.Errorf("backup got %d requests, want 5", n)
			}
		})
	}
}

// TestFaultPriorities: a priority-1 target serves only when every
// priority-0 target is down.
func TestFaultPriorities(t *testing.T) {
	ok := providertest.Script{Text: "ok"}
	down := providertest.Script{Status: 503}
	tests := []struct {
		name          string
		a, b          providertest.Script
		wantTarget    string
		wantA, wantB  int
		wantReserveIn int
	}{
		{"first of priority 0 answers", ok, ok, "a/m", 1, 0, 0},
		{"second of priority 0 answers", down, ok, "b/m", 1, 1, 0},
		{"both priority 0 down", down, down, "reserve/m", 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := providertest.OpenAI(t, tt.a), providertest.OpenAI(t, tt.b)
			reserve := providertest.OpenAI(t, ok)
			// The reserve is listed first: priority, not list order, decides.
			s := newFaultStack(t, fmt.Sprintf(`
providers:
  - {name: reserve, kind: openai, base_url: %s, priority: 1}
  - {name: a, kind: openai, base_url: %s}
  - {name: b, kind: openai, base_url: %s}
aliases:
  fast: [{provider: reserve, model: m}, {provider: a, model: m}, {provider: b, model: m}]
routing: {max_retries: 0}
`, reserve.URL, a.URL, b.URL))
			_, target, err := s.ask(t, t.Context(), "fast", false)
			if err != nil || target != tt.wantTarget {
				t.Fatalf("answered by %q (%v), want %q", target, err, tt.wantTarget)
			}
			if a.Requests() != tt.wantA || b.Requests() != tt.wantB || reserve.Requests() != tt.wantReserveIn {
				t.Errorf("requests a=%d b=%d reserve=%d, want %d %d %d", a.Requests(), b.Requests(), reserve.Requests(), tt.wantA, tt.wantB, tt.wantReserveIn)
			}
		})
	}
}

// TestFaultClientCancelClosesUpstream: a client that goes away closes the
// upstream request promptly, and its request is not failed over.
func TestFaultClientCancelClosesUpstream(t *testing.T) {
	tests := []struct {
		name   string
		script providertest.Script
		stream bool
	}{
		{"waiting for the answer", providertest.Script{Delay: 10 * time.Second}, false},
		{"waiting for headers, stream", providertest.Script{Delay: 10 * time.Second}, true},
		{"mid-stream", providertest.Script{Chunks: []string{"a", "b"}, ChunkDelay: 10 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary := providertest.OpenAI(t, tt.script)
			backup := providertest.OpenAI(t, backupAnswer)
			s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ""))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			body := fmt.Sprintf(`{"model":"fast","stream":%t,"messages":[{"role":"user","content":"hi"}]}`, tt.stream)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			type result struct {
				resp *http.Response
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := http.DefaultTransport.RoundTrip(req)
				got <- result{resp, err}
			}()
			if tt.script.ChunkDelay > 0 {
				// Read the first chunk, then leave.
				res := <-got
				if res.err != nil {
					t.Fatal(res.err)
				}
				defer res.resp.Body.Close()
				line, err := bufio.NewReader(res.resp.Body).ReadString('\n')
				if err != nil || !strings.Contains(line, `"content":"a"`) {
					t.Fatalf("first line %q, %v", line, err)
				}
			} else {
				eventually(t, "the upstream to get the request", func() bool { return primary.Requests() == 1 })
			}
			left := time.Now()
			cancel()
			eventually(t, "the upstream request to close", func() bool { return primary.Canceled() == 1 })
			if took := time.Since(left); took > time.Second {
				t.Errorf("the upstream request closed %v after the client left", took)
			}
			if tt.script.ChunkDelay == 0 {
				if res := <-got; !errors.Is(res.err, context.Canceled) {
					t.Errorf("client: %v, want its own cancellation", res.err)
				}
			}
			// Give a wrong failover the time it would need, then check.
			time.Sleep(50 * time.Millisecond)
			if n := backup.Requests(); n != 0 {
				t.Errorf("backup got %d requests; a cancelled request must not fail over", n)
			}
		})
	}
}

// TestFaultExcludeParams: exclude_params removes fields from what that
// provider receives, and only that provider.
func TestFaultExcludeParams(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Status: 503})
	backup := providertest.OpenAI(t, backupAnswer)
	s := newFaultStack(t, pairConfig(primary.URL, backup.URL, ", exclude_params: [logprobs, thinking]"))
	params := userParams("fast", "hello")
	params.Logprobs = openai.Bool(true)
	params.Temperature = openai.Float(0.5)
	if _, err := s.client.Chat.Completions.New(t.Context(), params, option.WithJSONSet("thinking", map[string]any{"type": "enabled"})); err != nil {
		t.Fatal(err)
	}
	fields := func(b []byte) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("upstream body %q: %v", b, err)
		}
		return m
	}
	p, b := fields(primary.LastBody()), fields(backup.LastBody())
	for _, k := range []string{"logprobs", "thinking"} {
		if _, ok := p[k]; ok {
			t.Errorf("primary received %q, which it excludes", k)
		}
		if _, ok := b[k]; !ok {
			t.Errorf("backup did not receive %q, which only the primary excludes", k)
		}
	}
	if string(p["temperature"]) != "0.5" || string(p["model"]) != `"m-primary"` || p["messages"] == nil {
		t.Errorf("primary body lost fields it should keep: %s", primary.LastBody())
	}
}

// TestFaultRetriesBound: a request makes at most len(targets) +
// max_retries attempts, however many upstreams keep failing.
func TestFaultRetriesBound(t *testing.T) {
	for _, retries := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("max_retries=%d", retries), func(t *testing.T) {
			a := providertest.OpenAI(t, providertest.Script{Status: 500})
			b := providertest.OpenAI(t, providertest.Script{Status: 503})
			s := newFaultStack(t, fmt.Sprintf(`
providers:
  - {name: a, kind: openai, base_url: %s, max_failures: 100}
  - {name: b, kind: openai, base_url: %s, max_failures: 100}
aliases:
  fast: [{provider: a, model: m}, {provider: b, model: m}]
routing: {max_retries: %d}
`, a.URL, b.URL, retries))
			r := s.post(t, "fast", true)
			if r.status < 500 {
				t.Fatalf("status %d, want a failure", r.status)
			}
			openAIError(t, r)
			if got, want := a.Requests()+b.Requests(), 2+retries; got != want {
				t.Errorf("%d attempts (a %d, b %d), want %d", got, a.Requests(), b.Requests(), want)
			}
		})
	}
}

// TestFaultLongRetryAfterIsNotWaitedFor: an upstream asking for a pause
// longer than the chain waits (5s) is skipped, not slept on: with no
// other target the client gets its 503 at once, and the paused upstream
// gets no second request. A short Retry-After is waited for and retried.
func TestFaultLongRetryAfterIsNotWaitedFor(t *testing.T) {
	tests := []struct {
		name         string
		retryAfter   string
		wantStatus   int
		wantRequests int
		maxTook      time.Duration
	}{
		{"30s is not waited for", "30", http.StatusServiceUnavailable, 1, time.Second},
		{"1s is waited for, then retried", "1", http.StatusOK, 2, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := providertest.OpenAI(t, providertest.Script{Status: 503, RetryAfter: tt.retryAfter}, providertest.Script{Text: "ok"})
			s := newFaultStack(t, fmt.Sprintf(`
providers: [{name: only, kind: openai, base_url: %s}]
aliases: {solo: [{provider: only, model: m}]}
routing: {max_retries: 2}
`, up.URL))
			start := time.Now()
			r := s.post(t, "solo", false)
			took := time.Since(start)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if r.status != http.StatusOK {
				if msg, _ := openAIError(t, r); !strings.Contains(msg, "upstream only") {
					t.Errorf("message %q does not name the upstream", msg)
				}
			}
			if took > tt.maxTook {
				t.Errorf("took %v, want under %v", took, tt.maxTook)
			}
			if n := up.Requests(); n != tt.wantRequests {
				t.Errorf("upstream got %d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}
