package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchyard-router/switchyard/metrics"
	"github.com/switchyard-router/switchyard/proxy"
)

// BenchmarkObservabilityOverhead measures what metrics and tracing add to
// the proxy path, as BenchmarkProxyOverhead measures the proxy: open loop,
// overheadRate requests per second on each of two switchyard servers in
// front of one fake upstream, interleaved half a period apart in the same
// run. One has Prometheus metrics and records every request's spans
// (sampled, batched to an exporter that drops them); the other has no
// metrics and its requests arrive unsampled, so its spans do not record.
// The budget is observed-p50-ms − plain-p50-ms ≤ 0.05.
func BenchmarkObservabilityOverhead(b *testing.B) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	b.Cleanup(func() { tp.Shutdown(b.Context()); otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	rig := newBenchRig(b) // its proxy: the plain one
	plain := rig.proxyURL
	rtr := rig.router
	m := metrics.New(nil)
	srv := proxy.NewServer(zerolog.New(io.Discard), &proxy.Runtime{Router: rtr, Metrics: m, MetricsHandler: m.Handler()})
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	observed := ts.URL + "/v1/chat/completions"
	const (
		sampled   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	)
	for range overheadWarmup {
		for _, u := range []string{plain, observed} {
			if _, err := rig.send(b.Context(), u, "traceparent", sampled); err != nil {
				b.Fatal(err)
			}
		}
	}

	perRun := int(overheadRate * overheadRun / time.Second)
	period := time.Second / overheadRate
	var (
		on, off  []time.Duration
		mu       sync.Mutex
		firstErr error
	)
	b.ResetTimer()
	for range b.N {
		o := make([]time.Duration, perRun)
		p := make([]time.Duration, perRun)
		var wg sync.WaitGroup
		fire := func(url, tp string, into *time.Duration) {
			wg.Go(func() {
				took, err := rig.send(b.Context(), url, "traceparent", tp)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				*into = took
			})
		}
		start := time.Now()
		for i := range perRun {
			tick := start.Add(time.Duration(i) * period)
			time.Sleep(time.Until(tick))
			if i%2 == 0 {
				fire(observed, sampled, &o[i])
			} else {
				fire(plain, unsampled, &p[i])
			}
			time.Sleep(time.Until(tick.Add(period / 2)))
			if i%2 == 0 {
				fire(plain, unsampled, &p[i])
			} else {
				fire(observed, sampled, &o[i])
			}
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		on, off = append(on, o...), append(off, p...)
	}
	b.StopTimer()
	slices.Sort(on)
	slices.Sort(off)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(percentile(off, 50)), "plain-p50-ms")
	b.ReportMetric(ms(percentile(on, 50)), "observed-p50-ms")
	b.ReportMetric(ms(percentile(on, 50)-percentile(off, 50)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(on, 99)-percentile(off, 99)), "overhead-p99-ms")

	// The observed server did observe: its metrics count the requests.
	res, err := http.Get(ts.URL + "/metrics")
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("metrics: %v %v", res, err)
	}
	res.Body.Close()
}
