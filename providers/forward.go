package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// ForwardRequest is a request on an OpenAI API path switchyard does not
// model (/embeddings, /completions, /responses): its body is forwarded as
// the client sent it, but for "model", which each target replaces with
// its own upstream name.
type ForwardRequest struct {
	// Path is the API path below the upstream's API root, with its
	// leading slash: "/embeddings", "/completions", "/responses".
	Path string
	// Model is the model the client asked for; Stream its "stream" flag.
	Model  string
	Stream bool
	// Body holds every top-level field of the client's JSON body, byte
	// for byte. A Forwarder must not modify the map.
	Body map[string]json.RawMessage
}

// Forwarder is implemented by providers that can forward a request on
// another path of their API (OpenAI-compatible upstreams, and Ollama's
// OpenAI-compatible /v1). Forward sends req (whose Model is already the
// upstream model name) and returns the upstream's 2xx response for the
// caller to read and close; any other outcome is an error as Send reports
// it. A non-streamed answer's body fails to read past the provider's
// answer bound.
type Forwarder interface {
	Forward(ctx context.Context, req *ForwardRequest) (*http.Response, error)
}

// ErrCannotForward reports a chain none of whose targets can forward a
// request on another API path (they all speak Anthropic's API, say).
var ErrCannotForward = errors.New("no target can serve this API path")

// Relay hands a forwarded answer to the client. It reads resp.Body (a
// read that fails because an attempt's timeout fired has a *Error as
// context.Cause(ctx)), and
// calls commit just before it writes anything to the client: until then a
// failure (a body that cannot be read, say) may still move the request
// to the next target; after it, the chain returns relay's error as is.
// commit's error means the attempt was given up (its first-byte timeout
// fired): relay must return it without writing.
type Relay func(ctx context.Context, t Target, resp *http.Response, commit func() error) error

// Forward runs req over the chain's targets whose provider is a
// Forwarder, in the chain's order, with its health, retries and
// failover: a retryable failure before relay commits moves on to the
// next target. Targets that cannot forward are left out; when none can,
// the error wraps ErrCannotForward. A stream's first bytes must come
// within the target's FirstByteTimeout, and each later read within its
// IdleTimeout, as for Stream.
func (c *Chain) Forward(ctx context.Context, req *ForwardRequest, relay Relay) error {
	forwards := func(t Target) bool {
		_, ok := t.Provider.(Forwarder)
		return ok
	}
	var targets []Target
	for _, t := range c.Targets {
		if forwards(t) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 && len(c.Targets) > 0 {
		return fmt.Errorf("%s: %w", c.Name, ErrCannotForward)
	}
	tr := TraceFrom(ctx)
	// run copies each target's request with its own model (WithModel), so
	// Fields carry the body with "model" replaced.
	base := &Request{Model: req.Model, Stream: req.Stream, Fields: req.Body}
	return c.runOn(ctx, targets, forwards, base, func(ctx context.Context, t Target, r *Request) (bool, error) {
		actx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var state atomic.Int32
		if req.Stream && t.FirstByteTimeout > 0 {
			timer := time.AfterFunc(t.FirstByteTimeout, func() {
				if state.CompareAndSwap(streamWaiting, streamTimedOut) {
					cancel(errFirstByte)
				}
			})
			defer timer.Stop()
		}
		// The idle timer cancels the attempt with this error as the cause,
		// so that a relay reading the body can tell the client why
		// (context.Cause) rather than report a cancelled request.
		idleErr := Timeout(t.Name, fmt.Errorf("no data for stream_idle_timeout %v", t.IdleTimeout))
		fr := &ForwardRequest{Path: req.Path, Model: t.Model, Stream: req.Stream, Body: r.Fields}
		resp, err := t.Provider.(Forwarder).Forward(actx, fr)
		if err == nil {
			var idle *time.Timer
			defer func() {
				if idle != nil {
					idle.Stop()
				}
			}()
			if req.Stream && t.IdleTimeout > 0 {
				resp.Body = &idleBody{ReadCloser: resp.Body, touch: func() {
					if idle != nil {
						idle.Reset(t.IdleTimeout)
					}
				}}
			}
			commit := func() error {
				if !state.CompareAndSwap(streamWaiting, streamCommitted) {
					return errFirstByte
				}
				if tr != nil {
					tr.Target, tr.Model = t.Name, t.Model
					if req.Stream {
						tr.FirstContent = time.Now()
					}
				}
				if req.Stream && t.IdleTimeout > 0 {
					idle = time.AfterFunc(t.IdleTimeout, func() { cancel(idleErr) })
				}
				return nil
			}
			err = relay(actx, t, resp, commit)
			resp.Body.Close()
		}
		switch {
		case ctx.Err() != nil:
		case state.Load() == streamTimedOut:
			err = Timeout(t.Name, fmt.Errorf("no answer within first_byte_timeout %v", t.FirstByteTimeout))
		case err != nil && context.Cause(actx) == idleErr:
			err = idleErr
		}
		return state.Load() == streamCommitted, err
	})
}

// idleBody re-arms a stream's idle timer (touch) on every read that
// brought data. Reads happen on the relay's goroutine, as commit does.
type idleBody struct {
	io.ReadCloser
	touch func()
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.touch()
	}
	return n, err
}
