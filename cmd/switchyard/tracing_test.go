package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// TestTraceOfARoutedJudgedFailedOverRequest: one request that the
// embedding is unsure of, that the judge routes, and whose first target
// fails, leaves one trace: the server span under the client's traceparent,
// a route span with classify (and embed) and judge (and the judge's
// upstream call) beneath it, and a span per upstream attempt, the failed
// one marked; the answering upstream gets the attempt's trace context.
func TestTraceOfARoutedJudgedFailedOverRequest(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	bad := providertest.OpenAI(t, providertest.Script{Status: 503})
	up := providertest.OpenAI(t, providertest.Script{Text: "answer", Usage: true})
	jdg := providertest.OpenAI(t, chooses("creative"))
	cfgText := fmt.Sprintf(`
providers:
  - {name: bad, kind: openai, base_url: %s, priority: 1}
  - {name: up, kind: openai, base_url: %s, priority: 2}
  - {name: judge, kind: openai, base_url: %s}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates"]
    targets: [{provider: up, model: gpt-code}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: ["write a haiku about autumn rain", "tell me a bedtime story"]
    targets: [{provider: bad, model: gpt-creative}, {provider: up, model: gpt-creative}]
  - name: chat
    targets: [{provider: up, model: gpt-chat}]
default_route: chat
routing: {threshold: 0.5, ground: false}
judge: {provider: judge, model: judge-small, when: {always: true}}
`, bad.URL, up.URL, jdg.URL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := testRuntime(t, cfg)
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(srv.Close)

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"the old lighthouse keeper and the sea"}]}`))
	req.Header.Set("traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get(proxy.HeaderDecidedBy) != "judge" || res.Header.Get(proxy.HeaderRoute) != "creative" {
		t.Fatalf("%d, %s by %s; want creative by judge", res.StatusCode, res.Header.Get(proxy.HeaderRoute), res.Header.Get(proxy.HeaderDecidedBy))
	}

	spans := rec.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.SpanContext().TraceID().String() != clientTrace {
			t.Errorf("span %q is in trace %s, not the client's", s.Name(), s.SpanContext().TraceID())
		}
		byID[s.SpanContext().SpanID()] = s
	}
	parent := func(s sdktrace.ReadOnlySpan) string {
		if p, ok := byID[s.Parent().SpanID()]; ok {
			return p.Name()
		}
		return "(client)"
	}
	attr := func(s sdktrace.ReadOnlySpan, k string) string {
		for _, a := range s.Attributes() {
			if string(a.Key) == k {
				return a.Value.Emit()
			}
		}
		return ""
	}
	var tree []string
	for _, s := range spans {
		line := parent(s) + " > " + s.Name()
		switch s.Name() {
		case "chat gpt-creative":
			line += " [" + attr(s, "gen_ai.provider.name") + " " + attr(s, "error.type") + "]"
		case "chat auto":
			line += " [" + attr(s, "switchyard.decided_by") + " " + attr(s, "gen_ai.response.model") + " " + attr(s, "gen_ai.usage.input_tokens") + "]"
		}
		tree = append(tree, line)
	}
	want := []string{
		"classify > embed",
		"route > classify",
		"judge > chat judge-small [ ]",
		"route > judge",
		"chat auto > route",
		"chat auto > chat gpt-creative [bad 503]",
		"chat auto > chat gpt-creative [up ]",
		"(client) > chat auto [judge gpt-creative 5]",
	}
	got := strings.Join(tree, "\n")
	t.Logf("trace:\n%s", got)
	for _, w := range want {
		w = strings.Replace(w, "chat judge-small [ ]", "chat judge-small", 1)
		if !strings.Contains(got+"\n", w+"\n") {
			t.Errorf("no span %q in the trace:\n%s", w, got)
		}
	}
	// The answering upstream got the trace context of its attempt's span.
	tp2 := up.LastHeader().Get("traceparent")
	if !strings.HasPrefix(tp2, "00-"+clientTrace+"-") {
		t.Errorf("upstream traceparent %q, want one in the client's trace", tp2)
	}
}
