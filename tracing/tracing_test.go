package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
)

// TestSetupExportsOverOTLPHTTP: with tracing on, spans reach the
// collector's /v1/traces as OTLP protobuf, with the configured header;
// the upstream transport then carries the span's traceparent.
func TestSetupExportsOverOTLPHTTP(t *testing.T) {
	var posts atomic.Int32
	var gotKey atomic.Value
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			posts.Add(1)
			gotKey.Store(r.Header.Get("X-Api-Key"))
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	defer func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) }()

	shutdown, err := Setup(t.Context(), Options{Enabled: true, Protocol: "http", Endpoint: collector.URL + "/v1/traces",
		SampleRatio: 1, Headers: map[string]string{"x-api-key": "k-1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := Tracer().Start(context.Background(), "chat test")
	var seen string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Get("traceparent") }))
	defer upstream.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL, nil)
	res, err := (&http.Client{Transport: Transport(http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	span.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 || gotKey.Load() != "k-1" {
		t.Errorf("collector got %d OTLP posts, key %v", posts.Load(), gotKey.Load())
	}
	if want := span.SpanContext().TraceID().String(); len(seen) < 36 || seen[3:35] != want {
		t.Errorf("upstream traceparent %q, want trace %s", seen, want)
	}
	if req.Header.Get("traceparent") != "" {
		t.Error("the transport changed the caller's request")
	}
}

// TestSetupOffCostsNextToNothing: with tracing off, a span as the request
// path starts and ends them records nothing and allocates at most the
// context that carries it (the global default provider, before Setup,
// delegates and allocates several times per span).
func TestSetupOffCostsNextToNothing(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	defer func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) }()
	if _, err := Setup(t.Context(), Options{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := Tracer().Start(ctx, "chat")
		if span.IsRecording() {
			t.Fatal("a span records with tracing off")
		}
		End(span, nil)
	})
	if allocs > 1 {
		t.Errorf("%.0f allocations per span with tracing off, want at most 1", allocs)
	}
}

// TestOffStillContinuesTheClientsTrace: with tracing off, Start costs
// nothing for a request without a trace, and a client's traceparent
// still reaches the upstream (switchyard is a hop in the client's
// trace, recording nothing).
func TestOffStillContinuesTheClientsTrace(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	defer func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) }()
	if _, err := Setup(t.Context(), Options{}); err != nil {
		t.Fatal(err)
	}
	bare := http.Header{"Content-Type": {"application/json"}}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		c, span := Start(Extract(ctx, bare), "chat", ServerChat...)
		span.End()
		if c != ctx {
			t.Fatal("Start made a context with tracing off and no trace")
		}
	}); n != 0 {
		t.Errorf("Extract and Start with tracing off: %v allocations, want 0", n)
	}

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	in := http.Header{"Traceparent": {"00-" + clientTrace + "-00f067aa0ba902b7-01"}}
	sctx, span := Start(Extract(ctx, in), "chat", ServerSpan)
	defer span.End()
	if span.IsRecording() {
		t.Error("a span records with tracing off")
	}
	var seen string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Get("traceparent") }))
	defer upstream.Close()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, upstream.URL, nil)
	res, err := (&http.Client{Transport: Transport(http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(seen) < 36 || seen[3:35] != clientTrace {
		t.Errorf("upstream traceparent %q, want the client's trace %s", seen, clientTrace)
	}
}
