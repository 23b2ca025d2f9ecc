package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/metrics"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/tracing"
	"github.com/switchyard-router/switchyard/upstream"
	"github.com/switchyard-router/switchyard/usage"
)

// The benchmarks in this file put switchyard's handler and a bare
// httputil.ReverseProxy (bench/load.sh's floor) side by side, in one
// process, in front of the same in-memory upstream, with no sockets: what
// is left is each proxy's own work per request (and per relayed chunk),
// which the ratio of their ns/op and allocs/op compares far more steadily
// than a load run on a busy machine can.

// The bodies bench/load.sh's client sends and its fake upstream answers.
const (
	floorRequest       = `{"model":"bench-model","messages":[{"role":"user","content":"hello, how are you?"}],"max_tokens":16}`
	floorStreamRequest = `{"model":"bench-model","messages":[{"role":"user","content":"hello, how are you?"}],"max_tokens":16,"stream":true}`
	floorCompletion    = `{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`
	floorChunk = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model",` +
		`"choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n"
	floorFinish = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model",` +
		`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model",` +
		`"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}` + "\n\n" +
		"data: [DONE]\n\n"
)

// memUpstream is an in-memory OpenAI upstream: it reads the request body
// and answers floorCompletion, or, to a request with "stream":true, a
// stream of chunks content chunks, a finish chunk, a usage chunk and
// [DONE].
type memUpstream struct {
	chunks int
}

func (u *memUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	var buf [512]byte
	n, _ := io.ReadFull(r.Body, buf[:])
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	h := make(http.Header, 2)
	if !bytes.Contains(buf[:n], []byte(`"stream":true`)) {
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(floorCompletion))}
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: h, Body: io.NopCloser(bytes.NewReader([]byte(floorCompletion))), ContentLength: int64(len(floorCompletion)), Request: r}, nil
	}
	h["Content-Type"] = []string{"text/event-stream"}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: &chunkBody{left: u.chunks, chunk: []byte(floorChunk), finish: []byte(floorFinish)}, ContentLength: -1, Request: r}, nil
}

// chunkBody is a stream of left floorChunk events, then floorFinish, read
// a whole event at a time when the reader's buffer allows (as an upstream
// flushing each event is read).
type chunkBody struct {
	left          int
	chunk, finish []byte
	tail          []byte // the rest of the event being read
	done          bool
}

func (c *chunkBody) Read(p []byte) (int, error) {
	if len(c.tail) == 0 {
		switch {
		case c.left > 0:
			c.left--
			c.tail = c.chunk
		case !c.done:
			c.done = true
			c.tail = c.finish
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, c.tail)
	c.tail = c.tail[n:]
	return n, nil
}

func (c *chunkBody) Close() error { return nil }

// benchWriter is a ResponseWriter that keeps nothing but its header map,
// reused from request to request.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *benchWriter) Flush()                      {}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// floorHandlers returns switchyard's handler (explicit model bench-model,
// log level error as in bench/load/switchyard.yaml) and the floor's, both
// in front of up.
func floorHandlers(b *testing.B, up *memUpstream) (sy, floor http.Handler) {
	sy, floor, _ = floorHandlers3(b, up)
	return sy, floor
}

// floorHandlers3 is floorHandlers, and a third handler: switchyard with
// a client key (sk-bench), its limiter, the usage store (SQLite, rows
// written by usage.Writer) and Prometheus metrics on.
func floorHandlers3(b *testing.B, up *memUpstream) (sy, floor, observed http.Handler) {
	b.Helper()
	// As serve does with tracing off: OpenTelemetry's no-op provider, not
	// the global default, which allocates on every span.
	if _, err := tracing.Setup(b.Context(), tracing.Options{}); err != nil {
		b.Fatal(err)
	}
	const base = "http://upstream.invalid/v1"
	chain := &providers.Chain{Targets: []providers.Target{
		{Name: "fake/bench-model", Provider: openai.New("fake", base, "", &http.Client{Transport: up}), Model: "bench-model"},
	}}
	rtr, err := router.New(nil, router.Options{Models: map[string]*providers.Chain{"bench-model": chain}})
	if err != nil {
		b.Fatal(err)
	}
	log := zerolog.New(io.Discard).Level(zerolog.ErrorLevel)
	srv := proxy.NewServer(log, &proxy.Runtime{Router: rtr})

	key := auth.Key{Name: "bench", Roles: []string{auth.RoleUser}, Enabled: true}.WithHash(auth.Hash("sk-bench"))
	keys, err := auth.NewLive(b.Context(), []auth.Key{key}, nil)
	if err != nil {
		b.Fatal(err)
	}
	store, err := usage.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "usage.db"))
	if err != nil {
		b.Fatal(err)
	}
	rows := usage.NewWriter(store, usage.WriterOptions{})
	b.Cleanup(func() { rows.Close(context.Background()); store.Close() })
	m := metrics.New(nil)
	obs := proxy.NewServer(log, &proxy.Runtime{Router: rtr, Keys: keys, Limits: auth.NewLimiter(), Usage: rows,
		Prices: usage.Prices(usage.DefaultPrices), Observer: m, MetricsHandler: m.Handler()})

	target, _ := url.Parse("http://upstream.invalid")
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = up
	rp.BufferPool = &floorPool{}
	rp.ErrorLog = nil
	return srv.Handler(), rp, obs.Handler()
}

// floorPool is bench/load/floor's buffer pool.
type floorPool struct{ p sync.Pool }

func (f *floorPool) Get() []byte {
	if v, ok := f.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

func (f *floorPool) Put(buf []byte) { f.p.Put(&buf) }

// serveOne sends body to h as POST /v1/chat/completions and checks the
// answer's status.
func serveOne(b *testing.B, h http.Handler, w *benchWriter, body string) {
	r, err := http.NewRequest(http.MethodPost, "http://switchyard.invalid/v1/chat/completions", bytes.NewReader([]byte(body)))
	if err != nil {
		b.Fatal(err)
	}
	r.Header["Content-Type"] = []string{"application/json"}
	r.Header["Authorization"] = []string{"Bearer sk-bench"}
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != 0 && w.status != http.StatusOK || w.n == 0 {
		b.Fatalf("status %d, %d bytes", w.status, w.n)
	}
}

// BenchmarkFloorChat is one non-streamed chat request with an explicit
// model (bench/load.sh's switchyard row): parse, route, encode the
// upstream request, read and relay the answer. Compare the switchyard
// sub-benchmark with the floor's.
func BenchmarkFloorChat(b *testing.B) {
	up := &memUpstream{}
	sy, floor, observed := floorHandlers3(b, up)
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{{"switchyard", sy}, {"floor", floor}, {"switchyard-keys-usage-metrics", observed}} {
		b.Run(bb.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				serveOne(b, bb.h, w, floorRequest)
			}
		})
	}
}

// BenchmarkFloorStream is one streamed request of bench/load.sh's shape:
// four content chunks, the finish and usage chunks, [DONE].
func BenchmarkFloorStream(b *testing.B) {
	up := &memUpstream{chunks: 4}
	sy, floor := floorHandlers(b, up)
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{{"switchyard", sy}, {"floor", floor}} {
		b.Run(bb.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				serveOne(b, bb.h, w, floorStreamRequest)
			}
		})
	}
}

// BenchmarkFloorStreamChunk is the cost of one relayed chunk of an
// OpenAI upstream's stream to an OpenAI client: one request whose stream
// has b.N content chunks, so the request's own cost vanishes as b.N grows
// and ns/op and allocs/op are per chunk.
func BenchmarkFloorStreamChunk(b *testing.B) {
	up := &memUpstream{}
	sy, floor := floorHandlers(b, up)
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{{"switchyard", sy}, {"floor", floor}} {
		b.Run(bb.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			serveOne(b, bb.h, w, floorStreamRequest) // warm pools
			up.chunks = b.N
			b.ReportAllocs()
			b.ResetTimer()
			serveOne(b, bb.h, w, floorStreamRequest)
			b.StopTimer()
			up.chunks = 0
		})
	}
}

// BenchmarkFloorLoopback is BenchmarkFloorChat over loopback sockets, as
// bench/load.sh runs it but sequential on one keep-alive connection: a
// fake upstream (answering floorCompletion), and switchyard and the floor
// in front of it, each behind its own httptest server, with the server
// timeouts of the default config and switchyard's upstream transport. ns/op is mostly the kernel's and
// net/http's; what differs between the two is the proxies' own.
func BenchmarkFloorLoopback(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(floorCompletion))}
		io.WriteString(w, floorCompletion)
	}))
	b.Cleanup(up.Close)
	transport := func() *http.Transport {
		return &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	}
	// The upstream client serve builds (gateway.UpstreamClient): the lean
	// transport for a cleartext upstream, in the trace injector.
	hc := &http.Client{Transport: tracing.Transport(upstream.New(transport(), nil)),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	chain := &providers.Chain{Targets: []providers.Target{
		{Name: "fake/bench-model", Provider: openai.New("fake", up.URL+"/v1", "", hc), Model: "bench-model"},
	}}
	rtr, err := router.New(nil, router.Options{Models: map[string]*providers.Chain{"bench-model": chain}})
	if err != nil {
		b.Fatal(err)
	}
	sy := httptest.NewServer(proxy.NewServer(zerolog.New(io.Discard).Level(zerolog.ErrorLevel),
		&proxy.Runtime{Router: rtr, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second}).Handler())
	b.Cleanup(sy.Close)
	target, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport()
	rp.BufferPool = &floorPool{}
	floor := httptest.NewServer(rp)
	b.Cleanup(floor.Close)
	for _, bb := range []struct{ name, url string }{{"switchyard", sy.URL}, {"floor", floor.URL}} {
		b.Run(bb.name, func(b *testing.B) {
			client := &http.Client{Transport: transport()}
			defer client.CloseIdleConnections()
			body := []byte(floorRequest)
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, bb.url+"/v1/chat/completions", bytes.NewReader(body))
				req.Header["Content-Type"] = []string{"application/json"}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			// CPU time, unlike ns/op, does not count waiting for a core
			// other processes hold.
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
