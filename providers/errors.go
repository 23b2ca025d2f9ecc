package providers

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNoTargets reports a chain with nothing to try.
var ErrNoTargets = errors.New("no targets")

// Error is every upstream failure an adapter reports.
type Error struct {
	Provider string // adapter name from config
	// Status is the HTTP status to report downstream: the upstream's own
	// for its 4xx, 502 for garbage or a cut connection, 504 for a timeout.
	Status int
	// Retryable: another attempt, here or on the next target, may succeed.
	Retryable bool
	// Type and Message are the upstream's own error type and message when it
	// sent one (OpenAI's error.type / error.message), else empty and the
	// wrapped error's text.
	Type string
	// RetryAfter is the upstream's Retry-After in seconds, 0 if none.
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: upstream status %d: %v", e.Provider, e.Status, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// FromStatus is the one place that decides which upstream statuses are
// worth another attempt: rate limits, request timeouts and server errors.
func FromStatus(provider string, status int, msg string) *Error {
	retry := status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
	return &Error{Provider: provider, Status: status, Retryable: retry, Err: errors.New(msg)}
}

// Transport wraps a failure to reach the upstream or to read its answer (a
// refused connection, a reset, a malformed body): 502, worth another try.
func Transport(provider string, err error) *Error {
	return &Error{Provider: provider, Status: http.StatusBadGateway, Retryable: true, Err: err}
}

// Retryable reports whether err is worth another attempt.
func Retryable(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Retryable
}
