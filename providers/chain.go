package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-router/switchyard/tracing"
)

// Backoff limits. Retry-After is honoured up to maxRetryAfter: an upstream
// that asks for a longer pause is skipped, since the client is waiting and
// the next target may answer now.
const (
	defaultBackoff = 100 * time.Millisecond
	maxBackoff     = 2 * time.Second
	maxRetryAfter  = 5 * time.Second
)

// Target is one upstream model a Chain may send a request to.
type Target struct {
	Name     string // "provider/model", for logs, traces and headers
	Provider Provider
	Model    string // the model name the upstream knows
	// Priority orders targets: lower first. A chain moves to a higher
	// number only when every target of the lower one is unavailable or has
	// failed this request.
	Priority int
	// Weight is the target's share among targets of the same priority:
	// when any of them has a weight, each request tries them in a random
	// order in which a target comes first with probability weight / (sum
	// of weights), a weight of 0 counting as 1. When none has one, they
	// are tried in list order.
	Weight float64
	// Health is the target's circuit breaker; nil means always available
	// and nothing recorded.
	Health *Health
	// FirstByteTimeout bounds, for a stream, the wait for the first chunk
	// with content; on expiry the attempt is abandoned and the next target
	// tried. 0 means no bound (the provider's own timeout still applies).
	FirstByteTimeout time.Duration
	// IdleTimeout bounds, for a stream that has sent content, the wait for
	// each next chunk; on expiry the stream ends with a 504 (no failover:
	// the client has part of an answer). 0 means no bound.
	IdleTimeout time.Duration
}

// Chain runs a request over its targets: by priority, weighted at random
// within a priority, skipping targets whose circuit is open or paused. A
// retryable failure moves on to the next target; when every available
// target has been tried once, up to Retries more attempts go round the
// same order again, after a backoff. A Chain implements Provider. It is
// immutable after construction and safe for concurrent use.
type Chain struct {
	// Name says what the chain serves ("route code", "model gpt-4o") in
	// the error when every target is unavailable.
	Name    string
	Targets []Target
	// Retries is the number of attempts allowed beyond one per available
	// target (config routing.max_retries), so a request makes at most
	// len(Targets) + Retries attempts.
	Retries int
	// Backoff is the longest first wait before a second round; 0 = 100ms.
	// It doubles on each round, capped at 2s, and each wait is drawn
	// uniformly from [0, limit) ("full jitter"), so clients that failed
	// together do not retry together. An upstream's Retry-After of at most
	// 5s replaces it; a target that asked for a longer pause is skipped
	// until the pause ends (its Health keeps the time).
	Backoff time.Duration
	// Fallback is what the chain does after a target fails (see
	// Fallback); "" is FallbackPriority.
	Fallback Fallback
	// SameModel, for FallbackSameModel, returns the targets known to
	// serve an upstream model, on any provider (it may list the failed
	// target itself, which is skipped). It is asked only after a failure,
	// and must be safe for concurrent use; nil knows none.
	SameModel func(model string) []Target
	// Rand, if set, drives the weighted order; tests seed it. It is used
	// under a lock. Nil uses the global source.
	Rand *rand.Rand
	// rmu guards Rand.
	rmu sync.Mutex
}

var _ Provider = (*Chain)(nil)

// Fallback is a chain's fallback strategy: what it tries after a target
// failed with an error the next target may not share (a retryable status,
// a refused key, a timeout).
type Fallback string

// Fallback strategies.
const (
	// FallbackPriority tries every target in order (priority, then
	// weight), then goes round them again up to Retries times.
	FallbackPriority Fallback = "priority"
	// FallbackSameModel is FallbackPriority, except that after a target
	// fails (or is skipped, its circuit open) its model is tried first on
	// every other provider SameModel knows to serve it, in SameModel's
	// order, before the chain moves on to its next target. A target so
	// moved up is not tried again in its own place.
	FallbackSameModel Fallback = "same-model"
	// FallbackNone sends the request to one target, the first whose
	// circuit lets it through, once: its failure is the answer, with no
	// failover and no retry.
	FallbackNone Fallback = "none"
)

// Fallbacks lists the strategies, for messages.
func Fallbacks() []Fallback { return []Fallback{FallbackPriority, FallbackSameModel, FallbackNone} }

// Complete returns the first target's answer that succeeds. It returns a
// non-retryable error at once, as the target reported it; when every
// target failed, the last error; a 503 *Error wrapping ErrUnavailable when
// no target could be tried; ErrNoTargets for an empty chain; and ctx.Err()
// as soon as ctx is done.
func (c *Chain) Complete(ctx context.Context, req *Request) (*Response, error) {
	var resp *Response
	err := c.run(ctx, req, func(ctx context.Context, t Target, r *Request) (bool, error) {
		var err error
		resp, err = t.Provider.Complete(ctx, r)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Errors an attempt's context is cancelled with.
var (
	errFirstByte = errors.New("first byte timeout")  // no content in time
	errIdle      = errors.New("stream idle timeout") // no chunk in time, after content
)

// Held-back chunks are bounded: of the chunks without content (role-only
// deltas, pings) an upstream sends before its first content, the first
// maxHeldChunks, up to maxHeldBytes, are kept for the client and the rest
// dropped, so an upstream that sends them forever costs no memory and can
// still be failed over when FirstByteTimeout expires.
const (
	maxHeldChunks = 64
	maxHeldBytes  = 1 << 20
)

// Stream states of one attempt.
const (
	streamWaiting   int32 = iota // no content yet: chunks are held back
	streamCommitted              // content sent: the client has part of an answer
	streamTimedOut               // FirstByteTimeout fired first
)

// Stream is Complete for streams. Chunks without content (a role-only
// first delta) are held back until the first chunk with content (text,
// reasoning, a tool call, a finish reason, usage) arrives; until then the
// attempt can still fail over, on an error or when the target's
// FirstByteTimeout expires. At most 64 chunks or 1 MiB are held; further
// chunks without content are dropped. Once content has been emitted the
// stream is committed to its target, and a later failure is returned as
// is, with no retry or failover, because the client has already received
// part of an answer and a second one would duplicate it. After content,
// IdleTimeout bounds the wait for each next chunk.
func (c *Chain) Stream(ctx context.Context, req *Request, emit func(Chunk) error) error {
	tr := TraceFrom(ctx)
	return c.run(ctx, req, func(ctx context.Context, t Target, r *Request) (bool, error) {
		actx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var state atomic.Int32
		if t.FirstByteTimeout > 0 {
			timer := time.AfterFunc(t.FirstByteTimeout, func() {
				if state.CompareAndSwap(streamWaiting, streamTimedOut) {
					cancel(errFirstByte)
				}
			})
			defer timer.Stop()
		}
		var idle *time.Timer
		defer func() {
			if idle != nil {
				idle.Stop()
			}
		}()
		var held []Chunk
		heldBytes := 0
		commit := func() error {
			if !state.CompareAndSwap(streamWaiting, streamCommitted) {
				return errFirstByte
			}
			if tr != nil {
				tr.Target, tr.Model, tr.FirstContent = t.Name, t.Model, time.Now()
			}
			for _, h := range held {
				if err := emit(h); err != nil {
					return err
				}
			}
			held = nil
			if t.IdleTimeout > 0 {
				idle = time.AfterFunc(t.IdleTimeout, func() { cancel(errIdle) })
			}
			return nil
		}
		err := t.Provider.Stream(actx, r, func(ch Chunk) error {
			if state.Load() != streamCommitted {
				if !ch.HasContent() {
					if len(held) < maxHeldChunks && heldBytes+len(ch.Raw) <= maxHeldBytes {
						held = append(held, ch)
						heldBytes += len(ch.Raw)
					}
					return nil
				}
				if err := commit(); err != nil {
					return err
				}
			} else if idle != nil {
				idle.Reset(t.IdleTimeout)
			}
			if tr != nil {
				if ch.Usage != nil {
					tr.Usage = ch.Usage
				}
				if tr.Observe != nil {
					tr.Observe(ch)
				}
			}
			return emit(ch)
		})
		if err == nil && state.Load() == streamWaiting {
			// A stream that ended properly without content (an empty
			// answer) is still an answer.
			err = commit()
		}
		switch {
		case ctx.Err() != nil:
		case state.Load() == streamTimedOut:
			err = Timeout(t.Name, fmt.Errorf("no content within first_byte_timeout %v", t.FirstByteTimeout))
		case err != nil && context.Cause(actx) == errIdle:
			err = Timeout(t.Name, fmt.Errorf("no chunk for stream_idle_timeout %v", t.IdleTimeout))
		}
		return state.Load() == streamCommitted, err
	})
}

// HasContent reports whether a chunk carries part of the answer: text,
// reasoning, a tool call, a finish reason or usage.
func (ch Chunk) HasContent() bool {
	return ch.Text != "" || ch.Reasoning != "" || len(ch.ToolCalls) > 0 || ch.FinishReason != "" || ch.Usage != nil
}

// order returns targets in the order this request tries them.
func (c *Chain) order(targets []Target) []Target {
	ts := slices.Clone(targets)
	if len(ts) < 2 {
		return ts
	}
	weighted := map[int]bool{}
	for _, t := range ts {
		if t.Weight > 0 {
			weighted[t.Priority] = true
		}
	}
	// Efraimidis-Spirakis: sorting by u^(1/w) descending puts each target
	// first with probability w / sum(w) among its priority. Unweighted
	// priorities keep list order (the stable sort, all keys equal).
	keys := make([]float64, len(ts))
	if len(weighted) > 0 {
		c.rmu.Lock()
		for i, t := range ts {
			if !weighted[t.Priority] {
				continue
			}
			w := t.Weight
			if w <= 0 {
				w = 1
			}
			u := rand.Float64()
			if c.Rand != nil {
				u = c.Rand.Float64()
			}
			keys[i] = math.Pow(u, 1/w)
		}
		c.rmu.Unlock()
	}
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if ts[a].Priority != ts[b].Priority {
			return cmp.Compare(ts[a].Priority, ts[b].Priority)
		}
		return cmp.Compare(keys[b], keys[a])
	})
	out := make([]Target, len(ts))
	for i, j := range idx {
		out[i] = ts[j]
	}
	return out
}

// run tries the targets in order until one succeeds, commits, or fails for
// good; see Chain.
func (c *Chain) run(ctx context.Context, req *Request, try func(context.Context, Target, *Request) (committed bool, err error)) error {
	return c.runOn(ctx, c.Targets, nil, req, try)
}

// runOn is run over targets, a subset of c.Targets (Forward leaves out
// the targets that cannot forward); accept, if set, also filters the
// targets FallbackSameModel adds.
func (c *Chain) runOn(ctx context.Context, targets []Target, accept func(Target) bool, req *Request, try func(context.Context, Target, *Request) (committed bool, err error)) error {
	if len(targets) == 0 {
		return ErrNoTargets
	}
	tr := TraceFrom(ctx)
	order := c.order(targets)
	var expanded map[string]bool // FallbackSameModel: models whose other providers are in order
	if c.Fallback == FallbackSameModel {
		expanded = map[string]bool{}
	}
	var last error
	var failedOn []string // targets this request failed on: a retry there is not another failure
	retries := 0
	for round := 0; ; round++ {
		if round > 0 {
			if last == nil || retries >= c.Retries {
				return last
			}
			wait := c.wait(round-1, last)
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
		tried := false
		var skipped []string
		for i := 0; i < len(order); i++ {
			t := order[i]
			if err := ctx.Err(); err != nil {
				return err
			}
			ok, probe := true, false
			start := time.Now() // the attempt's, when it goes ahead
			if t.Health != nil {
				ok, probe = t.Health.Acquire(start)
			}
			if !ok {
				skipped = append(skipped, t.Name)
				order = c.sameModel(order, i, expanded, accept)
				continue
			}
			if round > 0 {
				if retries >= c.Retries {
					t.Health.Release(probe)
					return last
				}
				retries++
			}
			r := req.WithModel(t.Model) // each target gets its own copy
			actx, span := tracing.Start(ctx, "chat", tracing.Client...)
			traced := span.IsRecording() // with tracing off, nothing is built per attempt
			if traced {
				span.SetName("chat " + t.Model)
				span.SetAttributes(tracing.OperationName.String(tracing.OperationChat), tracing.ProviderName.String(tracing.ProviderOf(t.Name)),
					tracing.RequestModel.String(t.Model), tracing.Target.String(t.Name), tracing.Attempt.Int(retries))
			}
			committed, err := try(actx, t, r)
			end := time.Now()
			took := end.Sub(start)
			if st := upstreamStatusOf(err); err != nil && traced {
				span.SetAttributes(tracing.ErrorType.String(errorTypeOf(st)))
				if st != 0 {
					span.SetAttributes(tracing.HTTPStatus.Int(st))
				}
			}
			tracing.End(span, err)
			if t.Health != nil {
				if ctx.Err() != nil {
					t.Health.Release(probe) // the client left: says nothing of the upstream
				} else {
					t.Health.Report(end, err, took, probe, slices.Contains(failedOn, t.Name))
				}
			}
			if err != nil {
				failedOn = append(failedOn, t.Name)
			}
			if tr != nil {
				tr.Attempts = append(tr.Attempts, Attempt{Target: t.Name, Status: upstreamStatusOf(err), Err: err, Duration: took})
				if err == nil && tr.Target == "" {
					tr.Target, tr.Model = t.Name, t.Model
				}
			}
			switch {
			case err == nil:
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case committed || !(Retryable(err) || isAuth(err)) || c.Fallback == FallbackNone:
				return err
			}
			last, tried = err, true
			order = c.sameModel(order, i, expanded, accept)
		}
		if !tried {
			if last == nil {
				return unavailable(cmp.Or(c.Name, "chain"), skipped)
			}
			return last
		}
	}
}

// sameModel, for FallbackSameModel, puts right after order[i] the targets
// serving order[i]'s model on other providers that it has not tried yet,
// taking them out of their later places; once per model and request
// (expanded records which). Other strategies get order unchanged.
func (c *Chain) sameModel(order []Target, i int, expanded map[string]bool, accept func(Target) bool) []Target {
	if c.Fallback != FallbackSameModel || c.SameModel == nil || expanded == nil {
		return order
	}
	model := order[i].Model
	if expanded[model] {
		return order
	}
	expanded[model] = true
	var alts []Target
	for _, a := range c.SameModel(model) {
		done := slices.ContainsFunc(order[:i+1], func(t Target) bool { return t.Name == a.Name })
		dup := slices.ContainsFunc(alts, func(t Target) bool { return t.Name == a.Name })
		if !done && !dup && a.Provider != nil && (accept == nil || accept(a)) {
			alts = append(alts, a)
		}
	}
	if len(alts) == 0 {
		return order
	}
	rest := slices.DeleteFunc(slices.Clone(order[i+1:]), func(t Target) bool {
		return slices.ContainsFunc(alts, func(a Target) bool { return a.Name == t.Name })
	})
	out := make([]Target, 0, i+1+len(alts)+len(rest))
	out = append(out, order[:i+1]...)
	out = append(out, alts...)
	return append(out, rest...)
}

// isAuth reports an upstream that refused its key (401, 403): the
// provider's fault, not the request's, so the next target may serve it;
// the target's Health has opened its circuit, so it is not asked again.
func isAuth(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && (pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden)
}

// wait returns how long to wait before retry number attempt+1 after err:
// the upstream's Retry-After when it is at most maxRetryAfter, else the
// jittered backoff. A longer Retry-After is not waited for (the client
// would hang for it): the target's Health keeps the pause, so the next
// round skips that target and tries the others, or ends at once.
func (c *Chain) wait(attempt int, err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		if d := time.Duration(pe.RetryAfter) * time.Second; d <= maxRetryAfter {
			return d
		}
	}
	limit := c.Backoff
	if limit <= 0 {
		limit = defaultBackoff
	}
	for i := 0; i < attempt && limit < maxBackoff; i++ {
		limit *= 2
	}
	limit = min(limit, maxBackoff)
	return rand.N(limit)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func upstreamStatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Upstream
	}
	return 0
}

// errorTypeOf is error.type for an attempt that failed with upstream
// status st (0: no status).
func errorTypeOf(st int) string {
	if st == 0 {
		return "error"
	}
	return strconv.Itoa(st)
}
