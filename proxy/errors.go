package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/router"
)

// statusClientClosed is nginx's convention for a client that went away.
const statusClientClosed = 499

// statusOverloaded is Anthropic's "overloaded", which its SDKs retry.
const statusOverloaded = 529

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

// What a client sees of an upstream's failure is decided here, in one
// place, by one policy:
//
//   - an upstream 4xx about the request (a context too long, a bad
//     parameter) passes through with its status, type and message, since
//     the client must fix its request;
//   - a refused key (401, 403, 407) is a 502: the client's own
//     credentials were never the problem, the gateway's were;
//   - a 429 stays a 429 (with Retry-After when the upstream sent one);
//   - a 5xx, a redirect, a transport failure or a malformed answer becomes
//     switchyard's own error, naming the provider and saying what happened
//     in switchyard's words: no upstream body, URL or address. 503, 504
//     and Anthropic's 529 keep their status (clients retry them); the rest
//     are 502.
//
// The full detail (the upstream's body, the URL, the address) goes to the
// log with the request's line. Every message shown is clipped to
// maxPublicMessage bytes of valid UTF-8 and scrubbed of URLs, IP
// addresses and API-key-like tokens, whatever its source.

// statusOf is the one mapping from errors to HTTP statuses.
func statusOf(err error) int {
	var he *httpError
	var pe *providers.Error
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &pe):
		return upstreamStatus(pe)
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

// upstreamStatus is the status a client gets for an upstream failure.
func upstreamStatus(pe *providers.Error) int {
	switch u := pe.Upstream; {
	case u == 0:
		if pe.Status > 0 {
			return pe.Status // switchyard's own: 502, 503 unavailable, 504 timeout, 400 untranslatable
		}
		return http.StatusBadGateway
	case refusedKey(u):
		return http.StatusBadGateway
	case u == http.StatusTooManyRequests:
		return u
	case u == http.StatusServiceUnavailable, u == http.StatusGatewayTimeout, u == statusOverloaded:
		return u // clients and their SDKs retry these
	case u >= 400 && u < 500:
		return u
	}
	return http.StatusBadGateway // 5xx, 3xx, anything odd
}

func refusedKey(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusProxyAuthRequired
}

// passesThrough reports an upstream 4xx whose message is about the
// request, shown to the client as the upstream wrote it.
func passesThrough(pe *providers.Error) bool {
	u := pe.Upstream
	return u >= 400 && u < 500 && !refusedKey(u) && u != http.StatusTooManyRequests
}

// publicMessage is what the client is told. Upstream 4xx messages are
// passed on (a client needs to know its context was too long); anything
// else is said in switchyard's words, and internal errors are not
// described at all (the detail goes to the log).
func publicMessage(err error) string {
	var he *httpError
	var pe *providers.Error
	switch {
	case errors.As(err, &he):
		return scrub(he.msg)
	case errors.As(err, &pe) && errors.Is(pe.Err, providers.ErrUnavailable):
		return scrub(pe.Err.Error()) // switchyard's own: the chain and its target names
	case errors.As(err, &pe):
		return scrub("upstream " + pe.Provider + ": " + describeUpstream(pe))
	case errors.Is(err, router.ErrNoRoute):
		return scrub(err.Error())
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "upstream timed out"
	}
	return "internal error"
}

// describeUpstream says what happened at an upstream, safe to show.
func describeUpstream(pe *providers.Error) string {
	u := pe.Upstream
	switch {
	case passesThrough(pe):
		return pe.Err.Error()
	case refusedKey(u):
		return fmt.Sprintf("refused switchyard's credentials for it (HTTP %d); the gateway's operator must check its key", u)
	case u == http.StatusTooManyRequests:
		return "is rate limiting switchyard (HTTP 429); retry later"
	case u >= 300 && u < 400:
		return fmt.Sprintf("answered with a redirect (HTTP %d), which switchyard does not follow", u)
	case u == http.StatusServiceUnavailable, u == statusOverloaded:
		return fmt.Sprintf("is overloaded or unavailable (HTTP %d); retry later", u)
	case u >= 500:
		return fmt.Sprintf("failed (HTTP %d)", u)
	case u != 0:
		return fmt.Sprintf("answered with HTTP %d", u)
	case pe.Status == http.StatusGatewayTimeout:
		return "did not answer in time: " + pe.Err.Error()
	case pe.Status >= 400 && pe.Status < 500:
		return pe.Err.Error() // switchyard's own finding about the request
	}
	return transportReason(pe.Err)
}

// transportReason describes a failure to reach an upstream or to read its
// answer without the URL or addresses Go's errors carry.
func transportReason(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &dnsErr):
		return "host name did not resolve"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return "its TLS certificate was not accepted"
	case errors.As(err, &recErr):
		return "TLS handshake failed (is it plain HTTP?)"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the connection closed before the answer was complete"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "the connection timed out"
	case errors.As(err, &opErr):
		return "connection failed (" + opErr.Op + ")"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return transportReason(uerr.Err) // its text starts with the method and URL
	}
	// An adapter's own finding: "stream ended before [DONE]", "malformed
	// stream event: …", "answer over N bytes". scrub still applies.
	return err.Error()
}

// maxPublicMessage bounds any message a client is shown, in bytes.
const maxPublicMessage = 1024

// maxEchoed bounds what of a client's own input (a model name, a path)
// is repeated in an error or a log line, in bytes.
const maxEchoed = 200

var (
	reURL     = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s"'<>]+`)
	reIPv4    = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`)
	reIPv6    = regexp.MustCompile(`\[[0-9a-fA-F.]*:[0-9a-fA-F.]*:[0-9a-fA-F:.]*\](?::\d+)?`)
	reLocal   = regexp.MustCompile(`\blocalhost(?::\d+)?\b`)
	reAPIKeys = regexp.MustCompile(`\b(?:sk|pk|rk|sess|key)-[A-Za-z0-9_\-*]{6,}`)
)

// scrub makes a message safe to show: valid UTF-8, at most
// maxPublicMessage bytes, one line, with URLs, IP addresses and key-like
// tokens replaced.
func scrub(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 4*maxPublicMessage {
		s = s[:4*maxPublicMessage] // bound the regexp work
	}
	s = reURL.ReplaceAllString(s, "[url]")
	s = reIPv6.ReplaceAllString(s, "[address]")
	s = reIPv4.ReplaceAllString(s, "[address]")
	s = reLocal.ReplaceAllString(s, "[address]")
	s = reAPIKeys.ReplaceAllString(s, "[redacted]")
	s = strings.Join(strings.Fields(s), " ")
	return clip(s, maxPublicMessage)
}

// clip cuts s to at most n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// errorType is the upstream's own error type, for a failure whose message
// is passed through; "" otherwise, so the dialect picks it from the
// status (an upstream's authentication_error must not tell a client that
// its own key was wrong).
func errorType(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) && passesThrough(pe) {
		return pe.Type
	}
	return ""
}

// setRetryAfter passes on an upstream's Retry-After with a 429 or 503,
// capped as the target's pause is (providers.MaxRetryAfterPause).
func setRetryAfter(h http.Header, err error) {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		if s := upstreamStatus(pe); s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
			h.Set("Retry-After", strconv.Itoa(min(pe.RetryAfter, int(providers.MaxRetryAfterPause/time.Second))))
		}
	}
}

func writeOpenAIError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	w.Header().Set("Content-Type", "application/json")
	setRetryAfter(w.Header(), err)
	setLimitHeaders(w.Header(), err)
	w.WriteHeader(status)
	w.Write(openAIError(status, err))
}

// openAIError is err's body for an OpenAI client, with status.
func openAIError(status int, err error) []byte {
	return openai.NewErrorCode(status, publicMessage(err), errorType(err), openAICode(err, status))
}

// openAICode is the error code an OpenAI client gets, as OpenAI's own API
// sends it: model_not_found for a model nothing serves, the upstream's own
// code for a failure passed through (context_length_exceeded, …),
// invalid_api_key for a refused client key, rate_limit_exceeded for a 429;
// "" (null) otherwise, as OpenAI sends for server errors.
func openAICode(err error, status int) string {
	var pe *providers.Error
	switch {
	case errors.Is(err, router.ErrNoRoute):
		return "model_not_found"
	case errors.As(err, &pe) && passesThrough(pe):
		return pe.Code
	case status == http.StatusUnauthorized:
		return "invalid_api_key"
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	}
	return ""
}
