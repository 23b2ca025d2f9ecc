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
	srv := proxy.NewServer(zerolog.New(io.Discard), &proxy.Runtime{Router: rtr, Observer: m, MetricsHandler: m.Handler()})
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

	on, off := interleave(b, rig, path{observed, []string{"traceparent", sampled}}, path{plain, []string{"traceparent", unsampled}})
	reportPair(b, "observed", on, "plain", off)

	// The observed server did observe: its metrics count the requests.
	res, err := http.Get(ts.URL + "/metrics")
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("metrics: %v %v", res, err)
	}
	res.Body.Close()
}

// path is one side of an interleaved run: a URL and its request headers.
type path struct {
	url    string
	header []string
}

// interleave sends overheadRate requests per second to each of a and b
// for b.N runs of overheadRun, open loop, half a period apart, the lead
// alternating, and returns each side's latencies, sorted.
func interleave(b *testing.B, rig *benchRig, pa, pb path) (as, bs []time.Duration) {
	return interleaveAt(b, rig, overheadRate, pa, pb)
}

// interleaveAt is interleave at rate requests per second on each side.
func interleaveAt(b *testing.B, rig *benchRig, rate int, pa, pb path) (as, bs []time.Duration) {
	perRun := int(time.Duration(rate) * overheadRun / time.Second)
	period := time.Second / time.Duration(rate)
	var (
		mu       sync.Mutex
		firstErr error
	)
	b.ResetTimer()
	for range b.N {
		ra := make([]time.Duration, perRun)
		rb := make([]time.Duration, perRun)
		var wg sync.WaitGroup
		fire := func(p path, into *time.Duration) {
			wg.Go(func() {
				took, err := rig.send(b.Context(), p.url, p.header...)
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
			first, second := func() { fire(pa, &ra[i]) }, func() { fire(pb, &rb[i]) }
			if i%2 == 1 {
				first, second = second, first
			}
			time.Sleep(time.Until(tick))
			first()
			time.Sleep(time.Until(tick.Add(period / 2)))
			second()
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		as, bs = append(as, ra...), append(bs, rb...)
	}
	b.StopTimer()
	slices.Sort(as)
	slices.Sort(bs)
	return as, bs
}

// reportPair reports both sides' p50 and the difference of p50 and p99.
func reportPair(b *testing.B, name string, on []time.Duration, baseName string, off []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(percentile(off, 50)), baseName+"-p50-ms")
	b.ReportMetric(ms(percentile(on, 50)), name+"-p50-ms")
	b.ReportMetric(ms(percentile(on, 50)-percentile(off, 50)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(on, 99)-percentile(off, 99)), "overhead-p99-ms")
}
