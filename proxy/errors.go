package proxy

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/router"
)

// statusClientClosed is nginx's convention for a client that went away.
const statusClientClosed = 499

// httpError is a failure the proxy itself detected, with its status and a
// message safe to show the client.
type httpError struct {
	status int
	msg    string
	err    error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.err }

// statusOf is the one mapping from errors to HTTP statuses.
func statusOf(err error) int {
	var he *httpError
	var pe *providers.Error
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &pe):
		if pe.Status > 0 {
			return pe.Status
		}
		return http.StatusBadGateway
	case errors.Is(err, router.ErrNoRoute):
		return http.StatusNotFound
	case errors.Is(err, providers.ErrNoTargets):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// publicMessage is what the client is told. Upstream messages are passed
// on (a client needs to know its context was too long); internal errors are
// not (the detail goes to the log).
func publicMessage(err error) string {
	var he *httpError
	var pe *providers.Error
	switch {
	case errors.As(err, &he):
		return he.msg
	case errors.As(err, &pe):
		return "upstream " + pe.Provider + ": " + pe.Err.Error()
	case errors.Is(err, router.ErrNoRoute):
		return err.Error()
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "upstream timed out"
	}
	return "internal error"
}

// errorType is the upstream's own error type when it sent one.
func errorType(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe.Type
	}
	return ""
}

func writeOpenAIError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(openai.NewError(status, publicMessage(err), errorType(err)))
}
