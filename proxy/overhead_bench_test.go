package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

// The budget: the proxy path with an explicit model adds at most
// 0.3 ms p50 over calling the fake upstream directly, at 300 req/s.
const (
	overheadRate    = 300             // requests per second, on each path
	overheadRun     = 3 * time.Second // per benchmark iteration
	overheadWarmup  = 200             // sequential requests per path before measuring
	overheadTimeout = 5 * time.Second // per request; a stuck request fails the run
)

// benchRig is a fast fake OpenAI upstream and switchyard in front of it,
// both on loopback, and one keep-alive client for both.
type benchRig struct {
	client    *http.Client
	directURL string // the upstream's chat endpoint
	proxyURL  string // switchyard's
	body      []byte // the same request for both: an explicit model
	router    *router.Router
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	up := providertest.OpenAI(b) // non-streaming "Hello"

	// Pooled like cmd/switchyard's upstreamClient, so the proxy reuses its
	// upstream connections as it does in production.
	upstream := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
	b.Cleanup(upstream.CloseIdleConnections)
	chain := &providers.Chain{Targets: []providers.Target{
		{Name: "fake/bench-model", Provider: openai.New("fake", up.URL, "", upstream), Model: "bench-model"},
	}}
	rtr, err := router.New(nil, router.Options{Models: map[string]*providers.Chain{"bench-model": chain}})
	if err != nil {
		b.Fatal(err)
	}
	// A real logger writing to nowhere: the per-request log line is encoded,
	// as in production, but not printed.
	srv := proxy.NewServer(zerolog.New(io.Discard), &proxy.Runtime{Router: rtr})
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
	b.Cleanup(client.CloseIdleConnections)
	return &benchRig{
		client:    client,
		directURL: up.URL + "/chat/completions",
		proxyURL:  ts.URL + "/v1/chat/completions",
		body:      []byte(`{"model":"bench-model","messages":[{"role":"user","content":"ping"}],"temperature":0}`),
		router:    rtr,
	}
}

// send posts the request to url and returns the time until its whole
// answer was read.
func (r *benchRig) send(ctx context.Context, url string, header ...string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, overheadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("POST %s: status %d", url, resp.StatusCode)
	}
	return took, err
}

func (r *benchRig) warmUp(b *testing.B) {
	b.Helper()
	for range overheadWarmup {
		for _, url := range []string{r.directURL, r.proxyURL} {
			if _, err := r.send(b.Context(), url); err != nil {
				b.Fatalf("warm-up: %v", err)
			}
		}
	}
}

// BenchmarkProxyOverhead measures what switchyard adds to a request with an
// explicit model, under open-loop load: requests are sent on a fixed
// schedule, overheadRate per second on each path, whether or not earlier
// ones have finished, so a slow answer cannot slow the load down and hide
// itself. Direct and proxied requests are interleaved half a period apart
// in the same run, so both see the same machine. Each iteration is one
// overheadRun-long run (900 requests per path); run it with the default
// -benchtime, which gives one run per -count.
//
// Reported: p50 and p99 latency of each path in ms, and the difference
// (the budget is overhead-p50-ms ≤ 0.3). ns/op is suppressed: it would be
// the run's length.
func BenchmarkProxyOverhead(b *testing.B) {
	rig := newBenchRig(b)
	rig.warmUp(b)
	proxied, direct := interleave(b, rig, path{url: rig.proxyURL}, path{url: rig.directURL})
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	dp50, dp99 := percentile(direct, 50), percentile(direct, 99)
	pp50, pp99 := percentile(proxied, 50), percentile(proxied, 99)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(dp50), "direct-p50-ms")
	b.ReportMetric(ms(dp99), "direct-p99-ms")
	b.ReportMetric(ms(pp50), "proxy-p50-ms")
	b.ReportMetric(ms(pp99), "proxy-p99-ms")
	b.ReportMetric(ms(pp50-dp50), "overhead-p50-ms")
	b.ReportMetric(ms(pp99-dp99), "overhead-p99-ms")
}

// percentile returns the p-th percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

// BenchmarkProxyExplicit is the closed-loop cost of one request with an
// explicit model through switchyard, sequential, on a keep-alive
// connection: client → proxy → fake upstream and back.
func BenchmarkProxyExplicit(b *testing.B) {
	rig := newBenchRig(b)
	rig.warmUp(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rig.send(b.Context(), rig.proxyURL); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpstreamDirect is BenchmarkProxyExplicit's baseline: the same
// request straight to the fake upstream.
func BenchmarkUpstreamDirect(b *testing.B) {
	rig := newBenchRig(b)
	rig.warmUp(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rig.send(b.Context(), rig.directURL); err != nil {
			b.Fatal(err)
		}
	}
}
