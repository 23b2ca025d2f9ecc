// Package metrics is switchyard's Prometheus instrumentation
// (prometheus/client_golang): what each request came to, counted and timed
// as it ends, and the state of the process (circuit breakers, the usage
// queue, caches, the judge, reloads), read when /metrics is scraped.
//
// Names follow the OpenTelemetry GenAI semantic conventions where they
// have one, as OpenTelemetry's Prometheus exporter spells them
// (gen_ai.client.token.usage becomes gen_ai_client_token_usage, with
// gen_ai_token_type and the other attributes as labels), and Prometheus's
// naming rules elsewhere (switchyard_*, base units, _total on counters).
// Labels take only bounded values: route, provider and model names from
// the config or discovery, key names, decision kinds, statuses. Never
// request text or key secrets.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/usage"
)

// Bucket boundaries the GenAI conventions recommend.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	// routing decisions take microseconds (a cache hit) to seconds (a
	// judge that times out)
	decisionBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// GenAI attribute values.
const (
	operationChat = "chat"
	tokenInput    = "input"
	tokenOutput   = "output"
)

// Metrics holds every instrument. It is safe for concurrent use; one
// Metrics outlives reloads.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	refused        *prometheus.CounterVec
	serverDuration *prometheus.HistogramVec
	ttft           *prometheus.HistogramVec
	clientDuration *prometheus.HistogramVec
	tokenUsage     *prometheus.HistogramVec
	tokens         *prometheus.CounterVec
	cost           *prometheus.CounterVec
	decisions      *prometheus.HistogramVec
	judge          *prometheus.CounterVec
	judgeDuration  prometheus.Histogram
	attempts       *prometheus.CounterVec
	retries        prometheus.Counter
	failovers      prometheus.Counter
	reloads        *prometheus.CounterVec
	embedDuration  *prometheus.HistogramVec

	// The series Served touches, by the labels of a request and of an
	// attempt: resolving them costs a hash of every label value and a
	// lock per series, nine times a request, so each set is resolved once.
	// They hold as many entries as the vectors hold series, up to
	// maxCached each; past that, Served resolves as it goes.
	served cache[servedKey, *servedSeries]
	tried  cache[attemptKey, *attemptSeries]
}

// maxCached bounds each of Served's caches.
const maxCached = 10_000

// cache is a bounded map, read under a shared lock.
type cache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// get returns k's value, made by build and kept (room allowing) the first
// time.
func (c *cache[K, V]) get(k K, build func() V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if len(c.m) < maxCached {
		c.m[k] = v
	}
	return v
}

// servedKey is what picks the series of an answered request.
type servedKey struct {
	dialect, route, decidedBy, provider, model, key string
	status                                          int
}

// servedSeries are those series. The ones not every request touches are
// resolved on first use, so that a series appears in /metrics only once
// it has something to show.
type servedSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer

	ttftOnce sync.Once
	ttft     prometheus.Observer

	tokensOnce          sync.Once
	usageIn, usageOut   prometheus.Observer
	tokensIn, tokensOut prometheus.Counter
	costOnce            sync.Once
	cost                prometheus.Counter
}

// attemptKey and attemptSeries are the same for one attempt.
type attemptKey struct{ target, outcome, errType string }

type attemptSeries struct {
	attempts prometheus.Counter
	duration prometheus.Observer
}

// Snapshot is the process state read at each scrape.
type Snapshot struct {
	Circuits []providers.TargetStatus
	// The usage writer's counts since start; Usage false when the store
	// is off.
	Usage                                   bool
	UsageWritten, UsageDropped, UsageFailed uint64
	// The embedder's query cache, when there is one.
	Cache                   bool
	CacheHits, CacheMisses  uint64
	ConfigGeneration        int64
	SharedState, SharedDown bool // shared state configured, and unreachable
}

// New returns the instruments, registered with the Go and process
// collectors and with a collector that calls snapshot at each scrape
// (nil for none).
func New(snapshot func() Snapshot) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_requests_total",
		Help: "Chat requests answered after routing, by client dialect, route (empty for an explicit model), how the route was decided, the provider and upstream model that answered (empty when none did) and the HTTP status the client got.",
	}, []string{"dialect", "route", "decided_by", "provider", "model", "status"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_refused_requests_total",
		Help: "Chat requests refused before any upstream call, by client dialect, status and reason (unauthorized, forbidden, rate_limited, invalid_request, no_route).",
	}, []string{"dialect", "status", "reason"})
	m.serverDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_request_duration_seconds",
		Help:    "Time from a chat request's arrival to the end of its answer (GenAI gen_ai.server.request.duration).",
		Buckets: durationBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_response_model", "error_type"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_time_to_first_token_seconds",
		Help:    "Time from a streamed chat request's arrival to its first content (GenAI gen_ai.server.time_to_first_token).",
		Buckets: ttftBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_response_model"})
	m.clientDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_operation_duration_seconds",
		Help:    "Duration of each call switchyard made to an upstream, failed ones included (GenAI gen_ai.client.operation.duration).",
		Buckets: durationBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"})
	m.tokenUsage = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_token_usage",
		Help:    "Tokens per answered request as the upstream reported them (GenAI gen_ai.client.token.usage).",
		Buckets: tokenBuckets,
	}, []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_response_model", "gen_ai_token_type"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_tokens_total",
		Help: "Tokens the upstreams reported, by upstream model, client key (empty when the API is open) and type (input, output, cached_input, reasoning).",
	}, []string{"model", "key", "type"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_cost_usd_total",
		Help: "Cost of the answered requests in USD, from the price table, by upstream model and client key.",
	}, []string{"model", "key"})
	m.decisions = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchyard_routing_decision_duration_seconds",
		Help:    "Time to decide a request's route (embedding, classification and the judge included), by how it was decided.",
		Buckets: decisionBuckets,
	}, []string{"decided_by"})
	m.judge = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_judge_requests_total",
		Help: "Times the LLM judge was asked, by outcome: used (its answer decided the route), declined (it answered none or no candidate), cached (answered from its cache), error (failed or timed out).",
	}, []string{"outcome"})
	m.judgeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchyard_judge_duration_seconds",
		Help:    "Time the LLM judge took, per call made (cache hits excluded).",
		Buckets: durationBuckets,
	})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_upstream_attempts_total",
		Help: "Calls made to upstream targets, by provider, model and outcome (ok, or the upstream's status class: 4xx, 5xx, or error for no status).",
	}, []string{"provider", "model", "outcome"})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_upstream_retries_total",
		Help: "Upstream calls made after a first one failed, for the same request.",
	})
	m.failovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_upstream_failovers_total",
		Help: "Times a request moved on to a different target after one failed.",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_config_reloads_total",
		Help: "Configuration reloads, by trigger (file, signal, admin) and result (ok, failed).",
	}, []string{"trigger", "result"})
	m.embedDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchyard_embed_duration_seconds",
		Help:    "Time the embedding model took per call (query-cache hits make no call), by result (ok, error).",
		Buckets: decisionBuckets,
	}, []string{"result"})
	m.reg.MustRegister(m.requests, m.refused, m.serverDuration, m.ttft, m.clientDuration, m.tokenUsage, m.tokens, m.cost,
		m.decisions, m.judge, m.judgeDuration, m.attempts, m.retries, m.failovers, m.reloads, m.embedDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if snapshot != nil {
		m.reg.MustRegister(&stateCollector{snapshot: snapshot})
	}
	return m
}

// Handler serves the registry in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Decided records a routing decision.
func (m *Metrics) Decided(d router.Decision) {
	m.decisions.WithLabelValues(d.DecidedBy).Observe(d.Took.Seconds())
	j := d.Judge
	if j == nil {
		return
	}
	outcome := "declined"
	switch {
	case j.Cached:
		outcome = "cached"
	case j.Error != "":
		outcome = "error"
	case j.Used:
		outcome = "used"
	}
	m.judge.WithLabelValues(outcome).Inc()
	if !j.Cached {
		m.judgeDuration.Observe(j.TookMS / 1000)
	}
}

// Served records a chat request that was routed and sent upstream, with
// its usage row and the upstream calls it made.
func (m *Metrics) Served(rec usage.Record, attempts []providers.Attempt) {
	k := servedKey{rec.Dialect, rec.Route, rec.DecidedBy, rec.Provider, rec.Model, rec.Key, rec.Status}
	s := m.served.get(k, func() *servedSeries {
		status := strconv.Itoa(rec.Status)
		errType := ""
		if rec.Status >= 400 {
			errType = status
		}
		return &servedSeries{
			requests: m.requests.WithLabelValues(rec.Dialect, rec.Route, rec.DecidedBy, rec.Provider, rec.Model, status),
			duration: m.serverDuration.WithLabelValues(operationChat, rec.Model, errType),
		}
	})
	s.requests.Inc()
	s.duration.Observe(rec.Latency.Seconds())
	if rec.TTFT > 0 {
		s.ttftOnce.Do(func() { s.ttft = m.ttft.WithLabelValues(operationChat, rec.Model) })
		s.ttft.Observe(rec.TTFT.Seconds())
	}
	if rec.PromptTokens+rec.CompletionTokens > 0 {
		s.tokensOnce.Do(func() {
			s.usageIn = m.tokenUsage.WithLabelValues(operationChat, rec.Provider, rec.Model, tokenInput)
			s.usageOut = m.tokenUsage.WithLabelValues(operationChat, rec.Provider, rec.Model, tokenOutput)
			s.tokensIn = m.tokens.WithLabelValues(rec.Model, rec.Key, tokenInput)
			s.tokensOut = m.tokens.WithLabelValues(rec.Model, rec.Key, tokenOutput)
		})
		s.usageIn.Observe(float64(rec.PromptTokens))
		s.usageOut.Observe(float64(rec.CompletionTokens))
		s.tokensIn.Add(float64(rec.PromptTokens))
		s.tokensOut.Add(float64(rec.CompletionTokens))
		if rec.CachedTokens > 0 {
			m.tokens.WithLabelValues(rec.Model, rec.Key, "cached_input").Add(float64(rec.CachedTokens))
		}
		if rec.ReasoningTokens > 0 {
			m.tokens.WithLabelValues(rec.Model, rec.Key, "reasoning").Add(float64(rec.ReasoningTokens))
		}
	}
	if rec.Cost > 0 {
		s.costOnce.Do(func() { s.cost = m.cost.WithLabelValues(rec.Model, rec.Key) })
		s.cost.Add(rec.Cost)
	}
	for i, a := range attempts {
		outcome, errType := "ok", ""
		switch {
		case a.Err == nil:
		case a.Status >= 500:
			outcome, errType = "5xx", strconv.Itoa(a.Status)
		case a.Status >= 400:
			outcome, errType = "4xx", strconv.Itoa(a.Status)
		default:
			outcome, errType = "error", "error"
		}
		as := m.tried.get(attemptKey{a.Target, outcome, errType}, func() *attemptSeries {
			provider, model, _ := strings.Cut(a.Target, "/")
			return &attemptSeries{
				attempts: m.attempts.WithLabelValues(provider, model, outcome),
				duration: m.clientDuration.WithLabelValues(operationChat, provider, model, errType),
			}
		})
		as.attempts.Inc()
		as.duration.Observe(a.Duration.Seconds())
		if i > 0 {
			m.retries.Inc()
			if a.Target != attempts[i-1].Target {
				m.failovers.Inc()
			}
		}
	}
}

// Refused records a chat request refused before any upstream call.
func (m *Metrics) Refused(dialect string, status int, reason string) {
	m.refused.WithLabelValues(dialect, strconv.Itoa(status), reason).Inc()
}

// Reloaded records a configuration reload.
func (m *Metrics) Reloaded(trigger string, ok bool) {
	result := "ok"
	if !ok {
		result = "failed"
	}
	m.reloads.WithLabelValues(trigger, result).Inc()
}

// stateCollector turns a Snapshot into metrics at each scrape.
type stateCollector struct {
	snapshot func() Snapshot
}

var (
	circuitDesc = prometheus.NewDesc("switchyard_circuit_state",
		"1 for each target's circuit breaker state (closed, open, half-open, paused), 0 for the others.",
		[]string{"provider", "model", "state"}, nil)
	circuitFailuresDesc = prometheus.NewDesc("switchyard_circuit_consecutive_failures",
		"Each target's failures in a row.", []string{"provider", "model"}, nil)
	usageRowsDesc = prometheus.NewDesc("switchyard_usage_rows_total",
		"Usage rows since start, by outcome: written, dropped (the queue was full), failed (an insert failed).",
		[]string{"outcome"}, nil)
	cacheDesc = prometheus.NewDesc("switchyard_embed_cache_requests_total",
		"Lookups in the embedder's query cache by the runtime in force, by result (hit, miss); a new embedder starts from 0.",
		[]string{"result"}, nil)
	generationDesc = prometheus.NewDesc("switchyard_config_generation",
		"The generation of the configuration in force: 1 at start, one more per successful reload.", nil, nil)
	sharedDesc = prometheus.NewDesc("switchyard_shared_state_up",
		"1 when the shared state (Redis) is reachable, 0 when replicas run on local state; absent when none is configured.", nil, nil)
)

var circuitStates = []string{providers.CircuitClosed, providers.CircuitOpen, providers.CircuitHalfOpen, providers.CircuitPaused}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{circuitDesc, circuitFailuresDesc, usageRowsDesc, cacheDesc, generationDesc, sharedDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	for _, t := range s.Circuits {
		for _, st := range circuitStates {
			v := 0.0
			if t.State == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(circuitDesc, prometheus.GaugeValue, v, t.Provider, t.Model, st)
		}
		ch <- prometheus.MustNewConstMetric(circuitFailuresDesc, prometheus.GaugeValue, float64(t.ConsecutiveFailures), t.Provider, t.Model)
	}
	if s.Usage {
		ch <- prometheus.MustNewConstMetric(usageRowsDesc, prometheus.CounterValue, float64(s.UsageWritten), "written")
		ch <- prometheus.MustNewConstMetric(usageRowsDesc, prometheus.CounterValue, float64(s.UsageDropped), "dropped")
		ch <- prometheus.MustNewConstMetric(usageRowsDesc, prometheus.CounterValue, float64(s.UsageFailed), "failed")
	}
	if s.Cache {
		ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(s.CacheHits), "hit")
		ch <- prometheus.MustNewConstMetric(cacheDesc, prometheus.CounterValue, float64(s.CacheMisses), "miss")
	}
	ch <- prometheus.MustNewConstMetric(generationDesc, prometheus.GaugeValue, float64(s.ConfigGeneration))
	if s.SharedState {
		up := 1.0
		if s.SharedDown {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(sharedDesc, prometheus.GaugeValue, up)
	}
}

// Embedder times e's calls into switchyard_embed_duration_seconds. Put it
// under the query cache, so that it times the model, not the cache.
func (m *Metrics) Embedder(e embed.Embedder) embed.Embedder {
	return &timedEmbedder{Embedder: e, h: m.embedDuration}
}

type timedEmbedder struct {
	embed.Embedder
	h *prometheus.HistogramVec
}

func (t *timedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := t.Embedder.Embed(ctx, texts)
	result := "ok"
	if err != nil {
		result = "error"
	}
	t.h.WithLabelValues(result).Observe(time.Since(start).Seconds())
	return v, err
}
