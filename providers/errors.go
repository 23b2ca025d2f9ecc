package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRequest is wrapped by every error a dialect's request parser
// reports for a body that is not a valid request: the client's fault, a
// 400 (see package jsonbody).
var ErrInvalidRequest = errors.New("invalid request")

// ErrNoTargets reports a chain with nothing to try.
var ErrNoTargets = errors.New("no targets")

// Error is every upstream failure an adapter reports.
type Error struct {
	Provider string // adapter name from config
	// Status is the HTTP status of the failure: the upstream's own when it
	// answered with an error status, 502 for garbage, a redirect or a cut
	// connection, 504 for a timeout. What a client is shown is decided by
	// the proxy from Status and Upstream (see Public).
	Status int
	// Upstream is the HTTP status the upstream answered with (its error
	// status, a redirect's 3xx, or the code of an in-band stream error); 0
	// when it sent none: a refused or cut connection, a timeout, a
	// malformed answer, or a failure switchyard detected itself.
	Upstream int
	// Retryable: another attempt, here or on the next target, may succeed.
	Retryable bool
	// Type and Message are the upstream's own error type and message when it
	// sent one (OpenAI's error.type / error.message), else empty and the
	// wrapped error's text.
	Type string
	// Code is the upstream's own error code when its body had one as a
	// string (OpenAI's error.code: context_length_exceeded,
	// model_not_found, …), else empty.
	Code string
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
// status is what the upstream answered (Upstream).
func FromStatus(provider string, status int, msg string) *Error {
	retry := status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
	return &Error{Provider: provider, Status: status, Upstream: status, Retryable: retry, Err: errors.New(msg)}
}

// Timeout is a retryable 504 for an upstream that did not answer within
// its bound; nothing came from the upstream (Upstream 0).
func Timeout(provider string, err error) *Error {
	return &Error{Provider: provider, Status: http.StatusGatewayTimeout, Retryable: true, Err: err}
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

// ErrCallTimeout is the cause an adapter cancels a call's context with
// when its own timeout expires, so CallError can tell it from the
// caller's cancellation.
var ErrCallTimeout = errors.New("upstream call timeout")

// CallError classifies a failure to reach an upstream or read its answer:
// ctx.Err() when the caller's ctx is done (no *Error: nobody is waiting
// for a retry), a retryable 504 when callCtx was cancelled with
// ErrCallTimeout (the adapter's timeout), anything else as Transport.
func CallError(ctx, callCtx context.Context, provider string, timeout time.Duration, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case context.Cause(callCtx) == ErrCallTimeout:
		return Timeout(provider, fmt.Errorf("no answer within %v", timeout))
	default:
		return Transport(provider, err)
	}
}

// StatusError is FromStatus for an upstream's error answer: msg and typ as
// its body gave them (an empty msg becomes the status text), and the
// Retry-After of h, if any.
func StatusError(provider string, status int, msg, typ string, h http.Header) *Error {
	if msg == "" {
		msg = http.StatusText(status)
		if msg == "" {
			msg = "status " + strconv.Itoa(status)
		}
	}
	e := FromStatus(provider, status, msg)
	e.Type = typ
	if h != nil {
		e.RetryAfter = RetryAfter(h.Get("Retry-After"), time.Now())
	}
	return e
}

// RetryAfter parses a Retry-After header, in seconds or as an HTTP date,
// into whole seconds from now (rounded up); 0 when absent, unparsable or
// past.
func RetryAfter(v string, now time.Time) int {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return max(n, 0)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// maxErrorBody bounds how much of an upstream's error body is read.
const maxErrorBody = 1 << 20

// Send sends hr (whose context is ctx, or a child of it that an adapter
// cancels with ErrCallTimeout after timeout) and returns a 2xx response
// for the caller to read and close. A failure to send is classified by
// CallError; any other status becomes a StatusError, its message and type
// read from the body (up to 1 MiB) by errorBody, the dialect's reader of
// its error shape, and the body closed.
//
// Redirects are never followed, whatever hc's policy: a redirected request
// would carry the conversation, the provider's key and every configured
// header to wherever the upstream points (Go drops Authorization across
// hosts, not x-api-key or custom headers), and a 302 would turn the POST
// into a GET. A 3xx is a retryable 502 that names the provider.
func Send(ctx context.Context, hc *http.Client, hr *http.Request, provider string, timeout time.Duration, errorBody func([]byte) (msg, typ string)) (*http.Response, error) {
	resp, err := sendOnce(hc, hr)
	if err != nil {
		return nil, CallError(ctx, hr.Context(), provider, timeout, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	if resp.StatusCode/100 == 3 {
		resp.Body.Close()
		return nil, &Error{Provider: provider, Status: http.StatusBadGateway, Upstream: resp.StatusCode, Retryable: true,
			Err: fmt.Errorf("upstream answered %d, a redirect; upstream redirects are not followed", resp.StatusCode)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg, typ := errorBody(body)
	e := StatusError(provider, resp.StatusCode, msg, typ, resp.Header)
	e.Code = ErrorCode(body)
	return nil, e
}

// ErrorCode reads an error body's code in OpenAI's shape,
// {"error":{"code":"…"}}, when it is a string; "" otherwise (a number, as
// some compatible servers send, or another dialect's body).
func ErrorCode(body []byte) string {
	var w struct {
		Error struct {
			Code json.RawMessage `json:"code"`
		} `json:"error"`
	}
	var code string
	if json.Unmarshal(body, &w) != nil || json.Unmarshal(w.Error.Code, &code) != nil || len(code) > 64 {
		return ""
	}
	return code
}

// sendOnce sends hr as hc.Do would with redirects refused (returned as
// they are). A client with nothing Do must handle per request (a cookie
// jar, a Timeout, credentials in the URL) is skipped for its transport,
// as httputil.ReverseProxy does: Do's setup (a copy of the headers for
// redirects that are never followed) is most of what sending costs beside
// the transport. Errors are *url.Error, as Do's are.
func sendOnce(hc *http.Client, hr *http.Request) (*http.Response, error) {
	if hc.Jar != nil || hc.Timeout != 0 || hr.URL == nil || hr.URL.User != nil || hr.Header == nil {
		noRedirect := *hc
		noRedirect.CheckRedirect = refuseRedirect
		return noRedirect.Do(hr)
	}
	t := hc.Transport
	if t == nil {
		t = http.DefaultTransport // what Do uses for a nil Transport
	}
	resp, err := t.RoundTrip(hr)
	if err == nil && resp == nil {
		err = fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", t)
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		op := "Get"
		if hr.Method != "" {
			op = hr.Method[:1] + strings.ToLower(hr.Method[1:])
		}
		return nil, &url.Error{Op: op, URL: hr.URL.String(), Err: err}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, nil
}

// refuseRedirect makes a client return a redirect response as it is.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// DefaultMaxAnswer bounds an upstream's non-streamed answer when an
// adapter's MaxAnswer is 0: 16 MiB.
const DefaultMaxAnswer = 16 << 20

// ReadAnswer reads a non-streamed answer of at most max bytes (0 means
// DefaultMaxAnswer), reading no further than max+1 bytes: an endless or
// huge answer is never buffered. A longer one is an error for the
// adapter to classify (CallError makes it a retryable 502).
//
// size is the answer's Content-Length (-1 when unknown).
func ReadAnswer(r io.Reader, size, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxAnswer
	}
	if size > 0 && size <= max {
		// The announced length, read into one buffer of its size: no
		// doubling growth that leaves twice the answer behind as garbage.
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err // cut short: io.ErrUnexpectedEOF or the transport's error
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("answer over %d bytes (server.max_answer_bytes)", max)
	}
	return body, nil
}

// NewPost is a POST of body to u within ctx, with a header map sized for
// headers entries; what http.NewRequestWithContext makes, for less. u is
// parsed once by the caller and shared by its requests: a RoundTripper
// must not modify its request, and nothing between does. The request can
// be sent again (GetBody), as the transport does on a keep-alive
// connection that the upstream had closed.
func NewPost(ctx context.Context, u *url.URL, body []byte, headers int) *http.Request {
	// What http.NewRequestWithContext would make of u, without parsing
	// a URL already parsed: WithContext is the one way to set a context.
	base := http.Request{Method: http.MethodPost, URL: u, Host: strings.TrimSuffix(u.Host, ":"), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	hr := base.WithContext(ctx)
	hr.Header = make(http.Header, headers)
	b := &postBody{data: body}
	b.Reset(body)
	hr.Body, hr.GetBody, hr.ContentLength = b, b.again, int64(len(body))
	if len(body) == 0 {
		hr.Body = http.NoBody
	}
	return hr
}

// postBody is a request body that can be read again from the start.
type postBody struct {
	bytes.Reader
	data []byte
}

func (b *postBody) Close() error { return nil }

func (b *postBody) again() (io.ReadCloser, error) {
	return &postBody{Reader: *bytes.NewReader(b.data), data: b.data}, nil
}
