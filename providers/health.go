package providers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Circuit states, as GET /admin/providers reports them.
const (
	CircuitClosed   = "closed"    // requests flow
	CircuitOpen     = "open"      // failing: skipped until the recovery interval has passed
	CircuitHalfOpen = "half-open" // one probe request decides
	// CircuitPaused is a closed circuit whose upstream asked, with
	// Retry-After on a 429 or 503, not to be called until Until. It is a
	// state of the report only: the breaker itself is closed.
	CircuitPaused = "paused"
)

// Health defaults, the values HealthPolicy's zero fields stand for.
const (
	DefaultMaxFailures      = 5
	DefaultRecoveryInterval = 30 * time.Second
)

// HealthPolicy tunes one target's circuit breaker.
type HealthPolicy struct {
	// MaxFailures is how many consecutive failures open the circuit.
	// 0 means DefaultMaxFailures.
	MaxFailures int
	// RecoveryInterval is how long an open circuit stays open before one
	// probe request may try the target again. 0 means
	// DefaultRecoveryInterval.
	RecoveryInterval time.Duration
}

func (p HealthPolicy) maxFailures() int {
	if p.MaxFailures > 0 {
		return p.MaxFailures
	}
	return DefaultMaxFailures
}

func (p HealthPolicy) recovery() time.Duration {
	if p.RecoveryInterval > 0 {
		return p.RecoveryInterval
	}
	return DefaultRecoveryInterval
}

// statsWindow is how many recent outcomes the error rate and latency
// median are computed over.
const statsWindow = 100

// Health is the circuit breaker and the recent record of one target (one
// model at one provider). It is safe for concurrent use.
//
// Closed, it lets every request through and counts consecutive failed
// requests; at MaxFailures it opens. A request counts once however many
// times the chain retries it on this target (Report's repeat), so a few
// requests whose content makes an upstream fail cannot open the circuit
// for everyone: it takes MaxFailures distinct requests in a row, with no
// success in between (Envoy's consecutive-5xx outlier detection, by
// request rather than by attempt). Open, it lets nothing through until
// RecoveryInterval has passed; then it is half-open and lets exactly one
// request through, a real one: success closes the circuit, failure opens
// it for another interval. Independently, an upstream's Retry-After on a
// 429 or 503 pauses the target for that long, and a 401 or 403 (a bad key)
// opens it at once, since repeating the request cannot help.
//
// A failure is what says the upstream is unwell: a retryable error (429,
// 408, 5xx, a timeout, a refused or cut connection, a malformed answer) or
// an authentication error. Any other 4xx is the request's fault and counts
// as a sign of life.
type Health struct {
	mu       sync.Mutex
	policy   HealthPolicy
	state    string
	failures int       // consecutive
	until    time.Time // open: when the probe may go; closed: end of a Retry-After pause
	probing  bool      // half-open: the probe is out

	// recent outcomes, a ring of statsWindow
	ring    [statsWindow]outcome
	n, next int

	lastErr   string
	lastErrAt time.Time
	total     uint64
	failed    uint64

	// notify, if set, hears every change of state (outside the lock).
	notify func(from, to string, reason error)
}

type outcome struct {
	ok      bool
	latency time.Duration
}

// NewHealth returns a closed circuit with policy p.
func NewHealth(p HealthPolicy) *Health {
	return &Health{policy: p, state: CircuitClosed}
}

// SetPolicy changes the policy; the state and record are kept (a reload
// that changes only the thresholds does not forget what it saw).
func (h *Health) SetPolicy(p HealthPolicy) {
	h.mu.Lock()
	h.policy = p
	h.mu.Unlock()
}

// Acquire reports whether a request may be sent to the target now. When it
// returns a half-open probe slot (probe true), the caller must Report the
// outcome, or Release the slot if it did not send the request.
func (h *Health) Acquire(now time.Time) (ok, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case CircuitOpen:
		if now.Before(h.until) {
			return false, false
		}
		h.state = CircuitHalfOpen
		fallthrough
	case CircuitHalfOpen:
		if h.probing {
			return false, false
		}
		h.probing = true
		return true, true
	}
	if now.Before(h.until) { // Retry-After pause
		return false, false
	}
	return true, false
}

// Release gives back a probe slot Acquire granted but the caller did not
// use.
func (h *Health) Release(probe bool) {
	if !probe {
		return
	}
	h.mu.Lock()
	h.probing = false
	h.mu.Unlock()
}

// Available reports, without reserving anything, whether Acquire would let
// a request through now.
func (h *Health) Available(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state {
	case CircuitOpen:
		return !now.Before(h.until)
	case CircuitHalfOpen:
		return !h.probing
	}
	return !now.Before(h.until)
}

// Report records the outcome of a request Acquire let through: err nil or
// not a failure (see Health) counts as success. repeat says this request
// already failed on this target (the chain's second round): the attempt
// is recorded in the statistics, and a refused key or a failed probe
// still opens the circuit, but it does not count towards MaxFailures
// again.
func (h *Health) Report(now time.Time, err error, latency time.Duration, probe, repeat bool) {
	fail := IsFailure(err)
	h.mu.Lock()
	from := h.state
	defer func() { h.changed(from, err) }()
	defer h.mu.Unlock()
	if probe {
		h.probing = false
	}
	h.total++
	h.ring[h.next] = outcome{ok: !fail, latency: latency}
	h.next = (h.next + 1) % statsWindow
	h.n = min(h.n+1, statsWindow)
	if !fail {
		h.failures = 0
		if h.state != CircuitClosed {
			h.state, h.until = CircuitClosed, time.Time{}
		}
		return
	}
	h.failed++
	h.lastErr, h.lastErrAt = err.Error(), now
	if !repeat {
		h.failures++
	}
	var pe *Error
	isPE := errors.As(err, &pe)
	switch {
	case isPE && (pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden):
		h.open(now, h.policy.recovery())
	case h.state == CircuitHalfOpen || h.failures >= h.policy.maxFailures():
		h.open(now, h.policy.recovery())
	}
	if isPE && pe.RetryAfter > 0 && (pe.Status == http.StatusTooManyRequests || pe.Status == http.StatusServiceUnavailable) {
		pause := min(time.Duration(pe.RetryAfter)*time.Second, MaxRetryAfterPause)
		if t := now.Add(pause); t.After(h.until) {
			h.until = t
		}
	}
}

// MaxRetryAfterPause bounds how long an upstream's Retry-After pauses a
// target: a hostile or broken upstream asking for years must not take a
// target out of service beyond what an operator would notice and fix.
const MaxRetryAfterPause = 10 * time.Minute

// changed tells notify, if the state moved away from from. It runs
// after the lock is released.
func (h *Health) changed(from string, reason error) {
	h.mu.Lock()
	to, notify := h.state, h.notify
	h.mu.Unlock()
	if notify != nil && to != from {
		notify(from, to, reason)
	}
}

// open opens the circuit for d from now.
func (h *Health) open(now time.Time, d time.Duration) {
	h.state = CircuitOpen
	h.until = now.Add(d)
	h.probing = false
}

// Trip opens the circuit for the recovery interval because of err, from
// outside the request path: an active health check that failed, or a
// provider whose key was refused on another model.
func (h *Health) Trip(now time.Time, err error) {
	h.mu.Lock()
	from := h.state
	h.lastErr, h.lastErrAt = err.Error(), now
	h.open(now, h.policy.recovery())
	h.mu.Unlock()
	h.changed(from, err)
}

// TripUntil opens the circuit until until, because of err: another
// replica saw the target fail (package shared announces it).
func (h *Health) TripUntil(now, until time.Time, err error) {
	h.mu.Lock()
	from := h.state
	h.lastErr, h.lastErrAt = err.Error(), now
	h.state, h.until, h.probing = CircuitOpen, until, false
	h.mu.Unlock()
	h.changed(from, err)
}

// Recover closes the circuit after an active health check succeeded.
func (h *Health) Recover() {
	h.mu.Lock()
	from := h.state
	if h.state != CircuitClosed {
		h.state, h.until, h.failures, h.probing = CircuitClosed, time.Time{}, 0, false
	}
	h.mu.Unlock()
	h.changed(from, nil)
}

// HealthStatus is a snapshot of one target's Health.
type HealthStatus struct {
	State string `json:"state"` // CircuitClosed, CircuitOpen, CircuitHalfOpen or CircuitPaused
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Until is when an open circuit half-opens, or a Retry-After pause
	// ends; zero when neither applies.
	Until time.Time `json:"until,omitzero"`
	// Recent is how many of the last (up to 100) requests ErrorRate and
	// LatencyP50 are computed over.
	Recent     int     `json:"recent"`
	ErrorRate  float64 `json:"error_rate"`
	LatencyP50 float64 `json:"latency_p50_ms"`
	// Requests and Failures count every request since start.
	Requests    uint64    `json:"requests"`
	Failures    uint64    `json:"failures"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Status returns a snapshot.
func (h *Health) Status(now time.Time) HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := HealthStatus{
		State:               h.state,
		ConsecutiveFailures: h.failures,
		Recent:              h.n,
		Requests:            h.total,
		Failures:            h.failed,
		LastError:           h.lastErr,
		LastErrorAt:         h.lastErrAt,
	}
	if h.state == CircuitOpen && !now.Before(h.until) {
		s.State = CircuitHalfOpen // it would let a probe through now
	}
	if now.Before(h.until) {
		s.Until = h.until
		if h.state == CircuitClosed {
			s.State = CircuitPaused
		}
	}
	if h.n > 0 {
		lat := make([]time.Duration, 0, h.n)
		var bad int
		for _, o := range h.ring[:h.n] {
			if !o.ok {
				bad++
			}
			lat = append(lat, o.latency)
		}
		slices.Sort(lat)
		s.ErrorRate = float64(bad) / float64(h.n)
		s.LatencyP50 = float64(lat[(len(lat)-1)/2].Microseconds()) / 1000
	}
	return s
}

// IsFailure reports whether err says the upstream is unwell (see Health).
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Retryable || pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden
	}
	return false // not an upstream error: the caller's own (a cancelled context)
}

// HealthKey names one target: a provider and a model.
type HealthKey struct {
	Provider string
	Model    string
}

func (k HealthKey) String() string { return k.Provider + "/" + k.Model }

// Registry holds the Health of every target, keyed by provider and model,
// so that a configuration reload keeps what was learnt about upstreams
// that are still configured. It is safe for concurrent use.
type Registry struct {
	mu sync.Mutex
	m  map[HealthKey]*Health
	// OnChange, if set before the first Get, hears every circuit state
	// change of every target: from and to are Circuit* states, reason the
	// error that opened it (nil when it closed). It must not block.
	OnChange func(k HealthKey, from, to string, reason error)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[HealthKey]*Health{}} }

// Get returns the Health of k, creating it with policy p if k has none.
// An existing one keeps its policy: a runtime under construction takes
// its breakers from a Pending instead, whose Commit applies the new
// policies only once the runtime is sure to serve.
func (r *Registry) Get(k HealthKey, p HealthPolicy) *Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.m[k]
	if !ok {
		h = r.newHealth(k, p)
		r.m[k] = h
	}
	return h
}

func (r *Registry) newHealth(k HealthKey, p HealthPolicy) *Health {
	h := NewHealth(p)
	if r.OnChange != nil {
		h.notify = func(from, to string, reason error) { r.OnChange(k, from, to, reason) }
	}
	return h
}

// Pending is the set of circuit breakers a runtime under construction
// will use. Building it changes nothing in the Registry: a reload that
// fails leaves every policy, and the list of targets, as they were. Its
// methods are not safe for concurrent use.
type Pending struct {
	r        *Registry
	health   map[HealthKey]*Health
	policies map[HealthKey]HealthPolicy
}

// Pending starts a set of breakers for a new runtime.
func (r *Registry) Pending() *Pending {
	return &Pending{r: r, health: map[HealthKey]*Health{}, policies: map[HealthKey]HealthPolicy{}}
}

// Get returns the breaker of k for the new runtime: the Registry's own
// when it has one (what was learnt is kept), else a new one, registered
// only by Commit. The policy p is applied by Commit.
func (p *Pending) Get(k HealthKey, pol HealthPolicy) *Health {
	p.policies[k] = pol
	if h, ok := p.health[k]; ok {
		return h
	}
	p.r.mu.Lock()
	h, ok := p.r.m[k]
	p.r.mu.Unlock()
	if !ok {
		h = p.r.newHealth(k, pol)
	}
	p.health[k] = h
	return h
}

// Commit installs the new runtime's breakers: it registers the new ones,
// applies every policy, and forgets the targets neither in the set nor
// in keep (the discovering providers' models, whose breakers are made
// later). Call it once the runtime will be swapped in.
func (p *Pending) Commit(keep map[HealthKey]bool) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	for k, h := range p.health {
		p.r.m[k] = h
		h.SetPolicy(p.policies[k])
	}
	for k := range p.r.m {
		if _, ok := p.health[k]; !ok && !keep[k] {
			delete(p.r.m, k)
		}
	}
}

// TripProvider opens the circuit of every known model of provider, for a
// failure that concerns the provider as a whole (a refused key, a failed
// health check).
func (r *Registry) TripProvider(now time.Time, provider string, err error) {
	for _, h := range r.ofProvider(provider) {
		h.Trip(now, err)
	}
}

// TripTarget opens k's circuit until until, if k is a known target.
func (r *Registry) TripTarget(now time.Time, k HealthKey, until time.Time, err error) {
	r.mu.Lock()
	h := r.m[k]
	r.mu.Unlock()
	if h != nil {
		h.TripUntil(now, until, err)
	}
}

// RecoverTarget closes k's circuit, if k is a known target.
func (r *Registry) RecoverTarget(k HealthKey) {
	r.mu.Lock()
	h := r.m[k]
	r.mu.Unlock()
	if h != nil {
		h.Recover()
	}
}

// RecoverProvider closes the circuit of every known model of provider.
func (r *Registry) RecoverProvider(provider string) {
	for _, h := range r.ofProvider(provider) {
		h.Recover()
	}
}

func (r *Registry) ofProvider(provider string) []*Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Health
	for k, h := range r.m {
		if k.Provider == provider {
			out = append(out, h)
		}
	}
	return out
}

// TargetStatus is one target's entry in Registry.Status.
type TargetStatus struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	HealthStatus
}

// Status lists every target's snapshot, by provider then model.
func (r *Registry) Status(now time.Time) []TargetStatus {
	r.mu.Lock()
	keys := make([]HealthKey, 0, len(r.m))
	for k := range r.m {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	slices.SortFunc(keys, func(a, b HealthKey) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
	})
	out := make([]TargetStatus, 0, len(keys))
	for _, k := range keys {
		r.mu.Lock()
		h := r.m[k]
		r.mu.Unlock()
		if h != nil {
			out = append(out, TargetStatus{Provider: k.Provider, Model: k.Model, HealthStatus: h.Status(now)})
		}
	}
	return out
}

// ErrUnavailable reports a chain none of whose targets may be tried now:
// every circuit is open or paused. It wraps into an *Error with status 503.
var ErrUnavailable = errors.New("every target is unavailable")

// unavailable builds the 503 for a chain whose targets are all skipped.
func unavailable(chain string, skipped []string) *Error {
	return &Error{Provider: chain, Status: http.StatusServiceUnavailable, Retryable: false,
		Err: fmt.Errorf("%s: %w (circuit open or paused): %v", chain, ErrUnavailable, skipped)}
}
