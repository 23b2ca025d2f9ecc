package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// LimitError reports a request refused by one of its key's limits.
type LimitError struct {
	Key    string        // the key's name
	Limit  string        // "requests per minute", "tokens per day", "USD per day", …
	Max    int           // the limit, for a count
	Budget float64       // the limit, for a budget
	Retry  time.Duration // when the request would fit again
}

func (e *LimitError) Error() string {
	if e.Budget > 0 {
		return fmt.Sprintf("API key %q has spent its budget of %.4g %s; retry in %ds", e.Key, e.Budget, e.Limit, e.RetryAfter())
	}
	return fmt.Sprintf("API key %q is over its limit of %d %s; retry in %ds", e.Key, e.Max, e.Limit, e.RetryAfter())
}

// RetryAfter is Retry in whole seconds, at least 1.
func (e *LimitError) RetryAfter() int { return max(1, int(math.Ceil(e.Retry.Seconds()))) }

// window counts what was spent in the last span (a minute, a day) as a
// sliding window over two fixed ones: the current one's count plus the
// previous one's, weighted by how much of it still overlaps the span.
// This is the approximation Cloudflare and nginx use; it never lets
// through more than the limit over any span-long interval that starts at
// a window boundary, and at most the limit plus the previous window's
// share otherwise.
type window struct {
	span      time.Duration
	start     time.Time // of the current fixed window
	prev, cur float64
}

func (w *window) advance(now time.Time) {
	if w.start.IsZero() {
		w.start = now.Truncate(w.span)
		return
	}
	for !now.Before(w.start.Add(w.span)) {
		w.prev, w.cur = w.cur, 0
		w.start = w.start.Add(w.span)
		if !now.Before(w.start.Add(w.span)) { // more than one window passed
			w.prev = 0
			w.start = now.Truncate(w.span)
		}
	}
}

// used is what the window counts at now.
func (w *window) used(now time.Time) float64 {
	w.advance(now)
	overlap := 1 - float64(now.Sub(w.start))/float64(w.span)
	return w.cur + w.prev*overlap
}

// retry is how long until n more fit under limit, if nothing else is
// spent: while the current window's own count leaves room, the previous
// window's share decays until it fits; otherwise the request waits at
// least for the next window.
func (w *window) retry(now time.Time, n, limit float64) time.Duration {
	w.advance(now)
	end := w.start.Add(w.span)
	if room := limit - w.cur - n; room >= 0 && w.prev > 0 {
		// Fits once prev × (1 - elapsed/span) ≤ room.
		at := w.start.Add(time.Duration((1 - room/w.prev) * float64(w.span)))
		return max(at.Sub(now), time.Second)
	}
	// At the next boundary the current count becomes the previous one,
	// and decays from there.
	wait := end.Sub(now)
	if w.cur > 0 {
		frac := min(1, max(0, 1-(limit-n)/w.cur))
		wait += time.Duration(frac * float64(w.span))
	}
	return max(wait, time.Second)
}

// keyState is one key's windows and spend.
type keyState struct {
	reqMin, reqDay, tokMin, tokDay window
	spend                          spend
}

// spend is a key's cost in the current calendar day and month (UTC).
type spend struct {
	day, month       int // 20061231 and 200612: which day and month the sums are of
	dayUSD, monthUSD float64
}

func (s *spend) roll(now time.Time) {
	y, m, d := now.UTC().Date()
	if day := y*10000 + int(m)*100 + d; day != s.day {
		s.day, s.dayUSD = day, 0
	}
	if month := y*100 + int(m); month != s.month {
		s.month, s.monthUSD = month, 0
	}
}

// Limiter applies each key's request and token limits. Tokens are
// reserved before the upstream call (an estimate) and settled after it
// with the real usage, so concurrent requests cannot overshoot a token
// limit by more than their estimates' error. It is safe for concurrent
// use; one Limiter serves every runtime, so a reload keeps the counts.
type Limiter struct {
	mu   sync.Mutex
	keys map[string]*keyState
	now  func() time.Time
	// shared, when set and up, counts instead of the windows above, for
	// every replica at once; read on every request without the lock.
	shared atomic.Pointer[SharedCounters]
}

// SharedCounters keep the limit counters and spend that several replicas
// share (package shared: Redis). While Up reports false, or a call fails,
// the Limiter counts on its own.
type SharedCounters interface {
	Up() bool
	// Reserve checks and counts, atomically, one request of tokens
	// against k's limits and budgets at now; a *LimitError when one is
	// hit, another error when the counters could not be reached.
	Reserve(ctx context.Context, k *Key, tokens int, now time.Time) error
	// Settle corrects the tokens counted for k's request reserved at at
	// by delta, and adds cost to k's spend.
	Settle(ctx context.Context, k *Key, at time.Time, delta int, cost float64) error
}

// SetShared makes l count with c while c is up; nil counts locally.
func (l *Limiter) SetShared(c SharedCounters) {
	if c == nil {
		l.shared.Store(nil)
		return
	}
	l.shared.Store(&c)
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter {
	return &Limiter{keys: map[string]*keyState{}, now: time.Now}
}

// Reservation is what Reserve took for one request; Settle gives back
// the difference between the estimate and the real tokens.
type Reservation struct {
	k       *Key
	tokens  int
	at      time.Time
	settled bool
	limiter *Limiter
	shared  SharedCounters // counted there, not locally
}

// ReserveContext is Reserve, with the shared counters when they are set
// and up (ctx bounds the call); when they fail, the request is counted
// locally.
func (l *Limiter) ReserveContext(ctx context.Context, k *Key, tokens int) (*Reservation, error) {
	if p := l.shared.Load(); p != nil && (*p).Up() {
		sh := *p
		now := l.now()
		err := sh.Reserve(ctx, k, tokens, now)
		var le *LimitError
		switch {
		case err == nil:
			return &Reservation{k: k, tokens: tokens, at: now, limiter: l, shared: sh}, nil
		case errors.As(err, &le):
			return nil, err
		}
		// unreachable: count here
	}
	return l.Reserve(k, tokens)
}

// Reserve counts one request of about tokens tokens against k's limits,
// or returns a *LimitError naming the first limit it would break (and
// counts nothing).
func (l *Limiter) Reserve(k *Key, tokens int) (*Reservation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	st := l.state(k.Name)
	st.spend.roll(now)
	day := now.UTC().Truncate(24 * time.Hour)
	if k.BudgetDay > 0 && st.spend.dayUSD >= k.BudgetDay {
		return nil, &LimitError{Key: k.Name, Limit: "USD per day", Budget: k.BudgetDay, Retry: day.Add(24 * time.Hour).Sub(now)}
	}
	if k.BudgetMonth > 0 && st.spend.monthUSD >= k.BudgetMonth {
		y, m, _ := now.UTC().Date()
		next := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
		return nil, &LimitError{Key: k.Name, Limit: "USD per month", Budget: k.BudgetMonth, Retry: next.Sub(now)}
	}
	checks := []struct {
		w     *window
		limit int
		n     float64
		name  string
	}{
		{&st.reqMin, k.RequestsPerMinute, 1, "requests per minute"},
		{&st.reqDay, k.RequestsPerDay, 1, "requests per day"},
		{&st.tokMin, k.TokensPerMinute, float64(tokens), "tokens per minute"},
		{&st.tokDay, k.TokensPerDay, float64(tokens), "tokens per day"},
	}
	for _, c := range checks {
		if c.limit <= 0 {
			continue
		}
		// A request always fits an empty window, however large: a token
		// limit below one request's size must not lock the key out.
		used := c.w.used(now)
		if used > 0 && used+c.n > float64(c.limit) {
			return nil, &LimitError{Key: k.Name, Limit: c.name, Max: c.limit, Retry: c.w.retry(now, c.n, float64(c.limit))}
		}
	}
	for _, c := range checks {
		c.w.cur += c.n
	}
	return &Reservation{k: k, tokens: tokens, at: now, limiter: l}, nil
}

// Estimate is the tokens the reservation counted.
func (r *Reservation) Estimate() int { return r.tokens }

// state returns key's state, made on first use. Call with mu held.
func (l *Limiter) state(key string) *keyState {
	st := l.keys[key]
	if st == nil {
		st = &keyState{
			reqMin: window{span: time.Minute}, tokMin: window{span: time.Minute},
			reqDay: window{span: 24 * time.Hour}, tokDay: window{span: 24 * time.Hour},
		}
		l.keys[key] = st
	}
	return st
}

// Spent records what keys spent earlier today and this month (UTC), as
// the usage store has it, so that budgets hold across restarts.
func (l *Limiter) Spent(day, month map[string]float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k, v := range day {
		st := l.state(k)
		st.spend.roll(now)
		st.spend.dayUSD += v
	}
	for k, v := range month {
		st := l.state(k)
		st.spend.roll(now)
		st.spend.monthUSD += v
	}
}

// Settle replaces the reservation's estimate with the tokens the request
// really used (from the upstream's usage; the estimate when it reported
// none), and adds its cost in USD to the key's spend. It is safe to call
// once; later calls do nothing.
func (r *Reservation) Settle(tokens int, cost float64) {
	if r == nil {
		return
	}
	if r.shared != nil {
		if r.settled {
			return
		}
		r.settled = true
		// Off the request path: the answer does not wait for Redis. The
		// correction lands a round trip later (lost if Redis is down).
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			r.shared.Settle(ctx, r.k, r.at, tokens-r.tokens, cost)
		}()
		return
	}
	l := r.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	st := l.keys[r.k.Name]
	if st == nil {
		return
	}
	st.spend.roll(l.now())
	st.spend.dayUSD += cost
	st.spend.monthUSD += cost
	d := float64(tokens - r.tokens)
	for _, w := range []*window{&st.tokMin, &st.tokDay} {
		w.advance(l.now())
		// The reservation was counted in the window of its time: correct
		// that window, or the current one if it has moved on (the
		// difference then lands a little late, never lost).
		if r.at.Before(w.start) && !r.at.Before(w.start.Add(-w.span)) {
			w.prev = max(0, w.prev+d)
		} else {
			w.cur = max(0, w.cur+d)
		}
	}
}
