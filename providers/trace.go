package providers

import (
	"context"
	"time"
)

// Attempt is one call a Chain made to one target.
type Attempt struct {
	Target string // the target's Name, "provider/model"
	// Status is 200 for a success, the status the upstream answered with
	// for a failure (the *Error's Upstream), and 0 for a failure with no
	// upstream status (a refused or cut connection, a timeout, a malformed
	// answer, a cancelled context, an error from emit).
	Status   int
	Err      error // nil for a success
	Duration time.Duration
}

// Trace records what a Chain did with one request, in the spirit of
// net/http/httptrace: the caller puts an empty Trace in the context with
// WithTrace, runs the chain, and reads the Trace afterwards, or from inside
// emit. A Trace is written by one chain call at a time, on the caller's
// goroutine; it is not safe for concurrent use.
type Trace struct {
	// Target is the Name of the target that answered, or that is streaming.
	// A Chain sets it (and Model) before it emits the first chunk, so the
	// proxy can put it in the response headers it writes with that chunk.
	// Empty when no target answered.
	Target string
	Model  string // that target's upstream model
	// Attempts are every call made, in order, the failed ones included.
	Attempts []Attempt
	// Usage is the last usage a stream's chunks reported (cumulative, as
	// upstreams send it); nil when none did.
	Usage *Usage
	// FirstContent is when a stream's first content was emitted; zero for
	// a whole answer or a stream that sent none.
	FirstContent time.Time
	// Observe, if the caller sets it, sees every chunk a stream emits,
	// before the chain's emit does (for the conversation log).
	Observe func(Chunk)
}

type traceKey struct{}

// WithTrace returns a context that makes a Chain record into t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// TraceFrom returns the Trace put in ctx by WithTrace, or nil.
func TraceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}
