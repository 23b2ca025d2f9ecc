package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RemoteOptions tunes a backend that reaches an embedding server (Ollama,
// OpenAI). The zero value is the default.
type RemoteOptions struct {
	// Timeout bounds one attempt: the request and reading its response.
	// 0 means 30s. The caller's context still bounds the whole call.
	Timeout time.Duration
	// Attempts is how many times one batch is tried before giving up. Only
	// transport errors, per-attempt timeouts, 429 and 5xx are tried again.
	// 0 means 3.
	Attempts int
	// Backoff is the wait before the first retry; each further retry
	// doubles it, and a random half of it is jitter so clients that failed
	// together do not retry together. 0 means 200ms.
	Backoff time.Duration
	// MaxWait caps any one wait between attempts, from Backoff or from a
	// server's Retry-After header. 0 means 10s.
	MaxWait time.Duration
	// MaxBatch is the most texts sent in one request; a longer input is
	// sent as several requests, one after another, and reassembled in
	// order. 0 means 64.
	MaxBatch int
	// Dim is the vector length the model must return. 0 means it is
	// learned from the first response; either way, once known, a vector of
	// another length is an error.
	Dim int
}

func (o RemoteOptions) withDefaults() RemoteOptions {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 10 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.Dim < 0 {
		o.Dim = 0
	}
	return o
}

// StatusError is an embedding server's answer with a non-2xx status.
type StatusError struct {
	Status    int    // the HTTP status code
	Message   string // the server's own error message, or the start of its body
	Retryable bool   // 429 or 5xx: another attempt may succeed

	retryAfter time.Duration // from the Retry-After header; -1 if absent
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("status %d: %s", e.Status, e.Message)
}

// newStatusError is the one place that decides which statuses are worth
// another attempt: rate limits and server faults pass, while any other 4xx
// (a bad key, an unknown model, an input too long) will fail the same way.
func newStatusError(status int, msg string, h http.Header) *StatusError {
	return &StatusError{
		Status:     status,
		Message:    clip(strings.TrimSpace(msg)),
		Retryable:  status == http.StatusTooManyRequests || status >= 500,
		retryAfter: parseRetryAfter(h.Get("Retry-After"), time.Now()),
	}
}

// permanentError marks a failure that another attempt would repeat, such as
// a response that does not decode or holds the wrong number of vectors.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// maxMessage bounds an upstream message in an error: a proxy in front of
// the server may answer with a whole HTML page.
const maxMessage = 512

func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return strings.ToValidUTF8(s[:maxMessage], "") + "…"
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
// It returns -1 if the value is absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// parseBaseURL checks that base is an absolute http(s) URL, and returns it
// without a trailing slash for IDs and messages.
func parseBaseURL(base string) (*url.URL, string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("base url %q is not an absolute http(s) url", base)
	}
	return u, strings.TrimRight(base, "/"), nil
}

// remote is what the server backends share: batching, retries, and the
// checks on what comes back. post makes one attempt at one batch.
type remote struct {
	desc string // "ollama nomic-embed-text at http://…", for errors
	opts RemoteOptions
	dim  atomic.Int64
	post func(ctx context.Context, texts []string) ([][]float32, error)
}

func newRemote(desc string, opts RemoteOptions, post func(context.Context, []string) ([][]float32, error)) *remote {
	r := &remote{desc: desc, opts: opts.withDefaults(), post: post}
	r.dim.Store(int64(r.opts.Dim))
	return r
}

func (r *remote) embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += r.opts.MaxBatch {
		batch := texts[start:min(start+r.opts.MaxBatch, len(texts))]
		vecs, err := r.retry(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("embed with %s: %w", r.desc, err)
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (r *remote) probe(ctx context.Context) error {
	_, err := r.embed(ctx, []string{"switchyard probe"})
	return err
}

func (r *remote) retry(ctx context.Context, batch []string) ([][]float32, error) {
	var last error
	for attempt := 1; ; attempt++ {
		vecs, err := r.attempt(ctx, batch)
		if err == nil {
			return vecs, nil
		}
		if ctx.Err() != nil {
			return nil, gaveUp(ctx, err)
		}
		last = err
		if attempt >= r.opts.Attempts || !retryable(err) {
			return nil, last
		}
		wait := r.wait(attempt, err)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, last // waiting could not end in time to help
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, gaveUp(ctx, last)
		case <-t.C:
		}
	}
}

// gaveUp reports that the caller's context ended the call: its error says
// why, and the last attempt's what had happened until then.
func gaveUp(ctx context.Context, last error) error {
	cause := context.Cause(ctx)
	if errors.Is(last, cause) {
		return last // the attempt was cut short, and says so
	}
	return fmt.Errorf("%w after %v", cause, last)
}

func (r *remote) attempt(ctx context.Context, batch []string) ([][]float32, error) {
	actx, cancel := context.WithTimeoutCause(ctx, r.opts.Timeout,
		fmt.Errorf("attempt timed out after %v: %w", r.opts.Timeout, context.DeadlineExceeded))
	defer cancel()
	vecs, err := r.post(actx, batch)
	if err != nil {
		if ctx.Err() == nil && actx.Err() != nil {
			return nil, context.Cause(actx)
		}
		return nil, err
	}
	if err := r.check(vecs, len(batch)); err != nil {
		return nil, err
	}
	return vecs, nil
}

// wait is how long to sleep after the given failed attempt (1-based).
func (r *remote) wait(attempt int, err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.retryAfter >= 0 {
		return min(se.retryAfter, r.opts.MaxWait)
	}
	d := r.opts.Backoff << min(attempt-1, 30)
	if d <= 0 || d > r.opts.MaxWait {
		d = r.opts.MaxWait
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Retryable
	}
	var pe *permanentError
	return !errors.As(err, &pe) // transport errors and timed-out attempts
}

// check verifies a response against its request and normalises it in
// place: servers differ on whether they return unit vectors.
func (r *remote) check(vecs [][]float32, n int) error {
	if len(vecs) != n {
		return permanent("server returned %d vectors for %d inputs", len(vecs), n)
	}
	want := int(r.dim.Load())
	if want == 0 && len(vecs[0]) > 0 {
		// The first response teaches the dimension; a racing call may have
		// learned it first, and then this response must agree.
		r.dim.CompareAndSwap(0, int64(len(vecs[0])))
		want = int(r.dim.Load())
	}
	for i, v := range vecs {
		if len(v) != want {
			return permanent("vector %d has dimension %d, want %d", i, len(v), want)
		}
		if err := normalize(v); err != nil {
			return permanent("vector %d %w", i, err)
		}
	}
	return nil
}

// normalize scales v to unit length in place.
func normalize(v []float32) error {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) {
		return errors.New("is not finite")
	}
	if sum == 0 {
		return errors.New("is zero")
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return nil
}
