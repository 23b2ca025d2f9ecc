package providers

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
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
}

// Chain runs a request over Targets in order: it retries a target on
// retryable errors, then fails over to the next one. A Chain implements
// Provider. It is immutable after construction and safe for concurrent use.
type Chain struct {
	Targets []Target
	// Retries is the number of extra attempts per target after a retryable
	// error (config routing.max_retries); 0 = one attempt per target.
	Retries int
	// Backoff is the longest first wait before a retry; 0 = 100ms. It
	// doubles on each retry, capped at 2s, and each wait is drawn uniformly
	// from [0, limit) ("full jitter"), so clients that failed together do
	// not retry together. An upstream's Retry-After of at most 5s replaces
	// it; a longer one moves on to the next target at once.
	Backoff time.Duration
}

var _ Provider = (*Chain)(nil)

// Complete returns the first target's answer that succeeds. It returns a
// non-retryable error at once, as the target reported it; when every
// target failed, the last error; ErrNoTargets for an empty chain; and
// ctx.Err() as soon as ctx is done.
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

// Stream is Complete for streams, with one difference: once a chunk has
// been emitted the stream is committed to its target, and a later failure
// is returned as is, with no retry or failover, because the client has
// already received part of an answer and a second one would duplicate it.
func (c *Chain) Stream(ctx context.Context, req *Request, emit func(Chunk) error) error {
	tr := TraceFrom(ctx)
	return c.run(ctx, req, func(ctx context.Context, t Target, r *Request) (bool, error) {
		committed := false
		err := t.Provider.Stream(ctx, r, func(ch Chunk) error {
			if !committed {
				committed = true // from here on, failover would duplicate output
				if tr != nil {
					tr.Target, tr.Model = t.Name, t.Model
				}
			}
			return emit(ch)
		})
		return committed, err
	})
}

// run calls try for each target in turn, up to 1+Retries times, until it
// succeeds, commits, or fails for good.
func (c *Chain) run(ctx context.Context, req *Request, try func(context.Context, Target, *Request) (committed bool, err error)) error {
	if len(c.Targets) == 0 {
		return ErrNoTargets
	}
	tr := TraceFrom(ctx)
	var last error
	for _, t := range c.Targets {
		r := req.WithModel(t.Model) // each target gets its own copy
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			start := time.Now()
			committed, err := try(ctx, t, r)
			if tr != nil {
				tr.Attempts = append(tr.Attempts, Attempt{Target: t.Name, Status: statusOf(err), Err: err, Duration: time.Since(start)})
				if err == nil && tr.Target == "" {
					tr.Target, tr.Model = t.Name, t.Model
				}
			}
			switch {
			case err == nil:
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case committed || !Retryable(err):
				return err
			}
			last = err
			if attempt >= c.Retries {
				break
			}
			wait, ok := c.wait(attempt, err)
			if !ok {
				break
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
	return last
}

// wait returns how long to wait before retry number attempt+1 after err,
// or false when the upstream asked for a pause too long to wait for.
func (c *Chain) wait(attempt int, err error) (time.Duration, bool) {
	var pe *Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		d := time.Duration(pe.RetryAfter) * time.Second
		return d, d <= maxRetryAfter
	}
	limit := c.Backoff
	if limit <= 0 {
		limit = defaultBackoff
	}
	for i := 0; i < attempt && limit < maxBackoff; i++ {
		limit *= 2
	}
	limit = min(limit, maxBackoff)
	return rand.N(limit), true
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

func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}
