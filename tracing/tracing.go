// Package tracing sets up OpenTelemetry traces (the OpenTelemetry Go SDK,
// OTLP over HTTP or gRPC) and holds the span and attribute names the
// other packages use, after the GenAI semantic conventions. With tracing
// off, the global provider is OpenTelemetry's no-op one and every span
// costs a few nanoseconds.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of every switchyard span.
const Name = "github.com/switchyard-router/switchyard"

// Tracer is switchyard's tracer from the global provider; it follows
// whatever provider Setup (or a test) installs.
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Attribute keys: the GenAI conventions' where they have one, then
// switchyard's own.
const (
	OperationName = attribute.Key("gen_ai.operation.name")
	ProviderName  = attribute.Key("gen_ai.provider.name")
	RequestModel  = attribute.Key("gen_ai.request.model")
	ResponseModel = attribute.Key("gen_ai.response.model")
	InputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	OutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	ErrorType     = attribute.Key("error.type")
	HTTPStatus    = attribute.Key("http.response.status_code")
	Route         = attribute.Key("switchyard.route")
	DecidedBy     = attribute.Key("switchyard.decided_by")
	Score         = attribute.Key("switchyard.score")
	Target        = attribute.Key("switchyard.target")
	Attempt       = attribute.Key("switchyard.attempt")
	Texts         = attribute.Key("switchyard.embed.texts")
	JudgeAnswer   = attribute.Key("switchyard.judge.answer")
	JudgeCached   = attribute.Key("switchyard.judge.cached")
)

// OperationChat is gen_ai.operation.name for a chat completion.
const OperationChat = "chat"

// Start options every request uses, built once: an option made per span
// allocates even when tracing is off.
var (
	ServerSpan = trace.WithSpanKind(trace.SpanKindServer)
	ClientSpan = trace.WithSpanKind(trace.SpanKindClient)
	ChatSpan   = trace.WithAttributes(OperationName.String(OperationChat))

	// The sets passed to Start as they are (Start(ctx, name, set...)):
	// options listed at the call would be a new slice per span.
	ServerChat = []trace.SpanStartOption{ServerSpan, ChatSpan}
	Server     = []trace.SpanStartOption{ServerSpan}
	Client     = []trace.SpanStartOption{ClientSpan}
)

// Options say where spans go (config.Tracing, resolved).
type Options struct {
	Enabled     bool
	Protocol    string // http or grpc
	Endpoint    string // "" = OTEL_EXPORTER_OTLP_ENDPOINT, else the exporter's default
	Insecure    bool   // grpc without TLS
	SampleRatio float64
	Headers     map[string]string // sent to the collector
	Version     string            // service.version
}

// Setup installs a tracer provider that exports to cfg's collector, and
// W3C trace context as the propagator; shutdown flushes what is pending.
// With tracing off it installs OpenTelemetry's no-op provider, whose
// spans cost a request next to nothing (the global default delegates,
// and allocates, on every span), and shutdown does nothing.
func Setup(ctx context.Context, cfg Options) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !cfg.Enabled {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	headers := cfg.Headers
	var exp sdktrace.SpanExporter
	switch cfg.Protocol {
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithHeaders(headers)}
		if cfg.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(cfg.Endpoint))
		}
		if cfg.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	default:
		opts := []otlptracehttp.Option{otlptracehttp.WithHeaders(headers)}
		if cfg.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if cfg.Version == "" {
		cfg.Version = revision()
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", "switchyard"), attribute.String("service.version", cfg.Version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// Transport injects the W3C trace context of each request's span into
// its headers, so that upstreams that trace continue switchyard's trace.
// A request with no recording span goes out untouched (and uncopied).
func Transport(next http.RoundTripper) http.RoundTripper {
	return injector{next}
}

type injector struct{ next http.RoundTripper }

func (t injector) RoundTrip(r *http.Request) (*http.Response, error) {
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		otel.GetTextMapPropagator().Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	}
	return t.next.RoundTrip(r)
}

// Extract returns ctx with the trace context of an incoming request's
// headers, if it carries one. The propagators Setup installs read only
// traceparent, tracestate and baggage: a request with neither
// traceparent nor baggage (most, with tracing off) skips them.
func Extract(ctx context.Context, h http.Header) context.Context {
	if len(h["Traceparent"]) == 0 && len(h["Baggage"]) == 0 {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(h))
}

// Start starts a span with Tracer. With tracing off (the no-op provider)
// and no trace to continue in ctx, it returns ctx as it is and a span
// that does nothing: the no-op tracer would still put its span in a
// new context, an allocation per span.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	tp := otel.GetTracerProvider()
	if _, off := tp.(noop.TracerProvider); off && !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, noSpan
	}
	return tp.Tracer(Name).Start(ctx, name, opts...)
}

var noSpan trace.Span = noop.Span{}

// End ends span, recording err (if any) as its error and status.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, errorText(err))
	}
	span.End()
}

// ProviderOf is the provider part of a "provider/model" target name.
func ProviderOf(target string) string {
	p, _, _ := strings.Cut(target, "/")
	return p
}

func errorText(err error) string {
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// revision is the VCS revision the binary was built from, or "unknown".
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
