package proxy

import (
	"context"
	"net/http"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/router"
)

// handleAnthropicMessages serves POST /v1/messages (and
// /anthropic/v1/messages), Anthropic's Messages API: parse, decide, run the
// chain, encode (serveChat), as for OpenAI clients. The
// client's x-api-key, Authorization and anthropic-version headers are
// accepted and ignored: switchyard has no client keys, and it answers in
// the one Messages version there is (2023-06-01).
func (s *Server) handleAnthropicMessages(w http.ResponseWriter, r *http.Request) {
	s.serveChat(w, r, anthropicAPI)
}

var anthropicAPI = clientAPI{
	dialect:    providers.DialectAnthropic,
	parse:      anthropic.ParseRequest,
	writeError: writeAnthropicError,
	encode:     anthropic.Message,
	stream:     (*Server).streamAnthropic,
	inspect: func(ctx context.Context, req *providers.Request) {
		if extra := anthropic.Untranslated(req); len(extra) > 0 {
			logOf(ctx).Debug().Strs("fields", extra).Msg("request fields with no OpenAI equivalent: dropped unless an Anthropic upstream serves the request")
		}
	},
}

// streamAnthropic relays the chain's chunks as Anthropic's named events,
// through a StreamEncoder that keeps the event sequence (message_start,
// content blocks, message_delta, message_stop) well formed whatever the
// upstream's dialect. As for OpenAI clients, headers go out with the first
// event, so a chain that fails before it gets a real status and a JSON
// error; after it, the error is an "error" event and the stream ends
// without message_stop, so the client cannot mistake it for a complete
// answer.
func (s *Server) streamAnthropic(rt *Runtime, w http.ResponseWriter, r *http.Request, req *providers.Request, dec router.Decision, trace *providers.Trace, ended func()) (started bool, err error) {
	sse := newSSE(w, rt.WriteTimeout)
	enc := anthropic.NewStreamEncoder()
	write := func(evs []anthropic.Event) error {
		if len(evs) > 0 && !sse.started {
			w.Header().Set(HeaderModel, trace.Target)
		}
		for _, ev := range evs {
			if err := sse.event(ev.Name, ev.Data); err != nil {
				return err
			}
		}
		return nil
	}
	err = dec.Chain.Stream(r.Context(), req, func(c providers.Chunk) error {
		return write(enc.Encode(c))
	})
	switch {
	case err == nil:
		if !sse.started {
			// An upstream that ended at once with no chunk: still a stream.
			w.Header().Set(HeaderModel, trace.Target)
		}
		ended()
		return true, write(enc.Finish())
	case !sse.started:
		writeAnthropicError(w, err)
	default:
		ev := anthropic.ErrorEvent(statusOf(err), publicMessage(err))
		sse.event(ev.Name, ev.Data)
	}
	return sse.started, err
}

// writeAnthropicError writes err in Anthropic's error shape,
// {"type":"error","error":{"type":…,"message":…}}, with its status.
func writeAnthropicError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	w.Header().Set("Content-Type", "application/json")
	setRetryAfter(w.Header(), err)
	setLimitHeaders(w.Header(), err)
	w.WriteHeader(status)
	w.Write(anthropic.NewError(status, publicMessage(err), anthropicErrorType(err)))
}

// anthropicErrorType is the upstream's own error type when it is one of
// Anthropic's (an Anthropic upstream's, passed on); "" otherwise, so that
// anthropic.NewError picks the type from the status rather than showing an
// Anthropic client an OpenAI type such as server_error.
func anthropicErrorType(err error) string {
	switch t := errorType(err); t {
	case "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
		"request_too_large", "rate_limit_error", "api_error", "overloaded_error", "billing_error", "timeout_error":
		return t
	}
	return ""
}

// isAnthropicPath reports whether path belongs to the Anthropic API, so
// that its 404s and 405s come in Anthropic's error shape.
func isAnthropicPath(path string) bool {
	return strings.HasPrefix(path, "/anthropic/") || path == "/v1/messages" || strings.HasPrefix(path, "/v1/messages/")
}
