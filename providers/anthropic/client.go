package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/sse"
)

// Body limits: a model list over maxBody is treated as garbage rather
// than buffered (answers are bounded by MaxAnswer); an error body is only
// read for its message.
const (
	maxBody      = 64 << 20
	maxErrorBody = 1 << 20
)

// DefaultBaseURL is Anthropic's API root, used when New gets "".
const DefaultBaseURL = "https://api.anthropic.com"

// Client is a providers.Provider for an Anthropic Messages upstream. Set
// its fields before first use; it is then safe for concurrent use.
type Client struct {
	// Timeout bounds one call: a whole Complete, or a Stream until the
	// upstream's response headers arrive (a stream then runs as long as
	// ctx allows). Hitting it is a retryable 504. 0 = no limit but ctx.
	Timeout time.Duration
	// Headers are added to every upstream request (anthropic-beta, a
	// proxy's own auth); nil = none.
	Headers http.Header
	// Exclude names top-level fields never sent upstream, for servers that
	// reject fields others accept ("thinking", "top_k"). "model" and
	// "messages" are always sent.
	Exclude []string
	// Version is the anthropic-version header; "" = DefaultVersion.
	Version string
	// Dropped, when set, is called with the name of each OpenAI field (or
	// "content part <type>") that translating a request of another
	// dialect leaves out, for a debug log. It is called during Complete
	// and Stream, possibly concurrently for concurrent calls.
	Dropped func(field string)
	// MaxAnswer bounds a non-streamed answer, in bytes; 0 means
	// providers.DefaultMaxAnswer (16 MiB).
	MaxAnswer int64
	// MaxEvent bounds one event of a stream, in bytes; 0 means
	// sse.DefaultMaxEvent (4 MiB).
	MaxEvent int

	name   string
	base   string // API root, no trailing slash and no /v1
	apiKey string
	hc     *http.Client
}

var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Lister   = (*Client)(nil)
)

// New returns a client named name (for errors and logs) that posts to
// baseURL + "/v1/messages" with "x-api-key: apiKey" unless apiKey is "".
// baseURL "" is DefaultBaseURL; a base that already ends in /v1 (or in
// /v1/messages) is taken as the same root. hc nil means a new http.Client
// with no timeout; deadlines come from contexts.
func New(name, baseURL, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{name: name, base: baseRoot(baseURL), apiKey: apiKey, hc: hc}
}

// baseRoot normalises a configured base URL to the root that
// "/v1/messages" and "/v1/models" are appended to.
func baseRoot(raw string) string {
	if raw == "" {
		return DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return strings.TrimRight(raw, "/")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/messages")
	p = strings.TrimSuffix(p, "/v1")
	u.Path = p
	return strings.TrimRight(u.String(), "/")
}

// Complete sends req and parses the message answer, keeping it in Raw.
func (c *Client) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	callCtx, stop := c.limit(ctx)
	defer stop(true)
	resp, err := c.post(ctx, callCtx, req, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := providers.ReadAnswer(resp.Body, resp.ContentLength, c.MaxAnswer)
	if err != nil {
		return nil, c.readError(ctx, callCtx, err)
	}
	out, err := parseAnswer(body)
	if err != nil {
		var ue *upstreamError
		if errors.As(err, &ue) {
			return nil, c.eventError(ue.body)
		}
		return nil, providers.Transport(c.name, fmt.Errorf("malformed message: %w", err))
	}
	out.Created = time.Now().Unix()
	return out, nil
}

// Stream sends req with "stream": true and emits a chunk for each event,
// keeping the event's data in Raw (pings and block stops included, for an
// Anthropic client). It returns nil after message_stop; a body that ends
// before it, or a malformed event, is a retryable 502; an error event is
// an *providers.Error with the status of its type (overloaded_error 529
// and api_error 500 are retryable).
func (c *Client) Stream(ctx context.Context, req *providers.Request, emit func(providers.Chunk) error) error {
	callCtx, stop := c.limit(ctx)
	defer stop(true)
	resp, err := c.post(ctx, callCtx, req, true)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	stop(false) // Timeout covers the wait for headers only
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var w wireError
		if json.Unmarshal(body, &w) == nil && w.Type == "error" {
			return c.eventError(body)
		}
		return providers.Transport(c.name, errors.New("expected text/event-stream, got application/json"))
	}
	events := sse.NewReaderSize(resp.Body, c.MaxEvent)
	dec := &streamDecoder{created: time.Now().Unix()}
	for {
		ev, err := events.Next()
		if err == io.EOF {
			return providers.Transport(c.name, errors.New("stream ended before message_stop"))
		}
		if err != nil {
			return c.readError(ctx, callCtx, err)
		}
		ch, done, err := dec.decode(ev.Data)
		if err != nil {
			var ue *upstreamError
			if errors.As(err, &ue) {
				return c.eventError(ue.body)
			}
			return providers.Transport(c.name, fmt.Errorf("malformed stream event %q: %w", ev.Name, err))
		}
		if err := emit(ch); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// ListModels lists the models the upstream serves (GET /v1/models,
// following its pages), for health checks and model discovery.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var out []string
	after := ""
	for range 20 { // at 1000 a page, far more models than anyone serves
		u := c.base + "/v1/models?limit=1000"
		if after != "" {
			u += "&after_id=" + url.QueryEscape(after)
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		c.setHeaders(hr)
		resp, err := providers.Send(ctx, c.hc, hr, c.name, 0, errorMessage)
		if err != nil {
			return nil, err
		}
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&list)
		resp.Body.Close()
		if err != nil {
			return nil, providers.Transport(c.name, fmt.Errorf("model list: %w", err))
		}
		for _, m := range list.Data {
			if m.ID != "" {
				out = append(out, m.ID)
			}
		}
		if !list.HasMore || list.LastID == "" || list.LastID == after {
			break
		}
		after = list.LastID
	}
	return out, nil
}

// limit derives the context for one call. stop(true) releases it; stop(false)
// only disarms the Timeout.
func (c *Client) limit(ctx context.Context) (context.Context, func(release bool)) {
	callCtx, cancel := context.WithCancelCause(ctx)
	var t *time.Timer
	if c.Timeout > 0 {
		t = time.AfterFunc(c.Timeout, func() { cancel(providers.ErrCallTimeout) })
	}
	return callCtx, func(release bool) {
		if t != nil {
			t.Stop()
		}
		if release {
			cancel(context.Canceled)
		}
	}
}

func (c *Client) setHeaders(hr *http.Request) {
	for k, vs := range c.Headers {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	v := c.Version
	if v == "" {
		v = DefaultVersion
	}
	hr.Header.Set("Anthropic-Version", v)
	hr.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		hr.Header.Set("X-Api-Key", c.apiKey)
	}
}

// post sends the request and returns a 2xx response; anything else is an
// error, the body closed.
func (c *Client) post(ctx, callCtx context.Context, req *providers.Request, stream bool) (*http.Response, error) {
	body, err := requestBody(req, stream, c.Exclude, c.Dropped)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(callCtx, http.MethodPost, c.base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	c.setHeaders(hr)
	hr.Header.Set("Content-Type", "application/json")
	if stream {
		hr.Header.Set("Accept", "text/event-stream")
	}
	return providers.Send(ctx, c.hc, hr, c.name, c.Timeout, errorMessage)
}

// readError classifies a failure to reach the upstream or read its answer:
// the caller's cancellation as ctx.Err() (no *Error: nobody is waiting for
// a retry), Timeout as a retryable 504, anything else as Transport.
func (c *Client) readError(ctx, callCtx context.Context, err error) error {
	return providers.CallError(ctx, callCtx, c.name, c.Timeout, err)
}

// statusError turns an upstream error status and body into the one error
// type, keeping Anthropic's error.message and error.type when the body has
// them and Retry-After when h has it.
func (c *Client) statusError(status int, body []byte, h http.Header) *providers.Error {
	msg, typ := errorMessage(body)
	return providers.StatusError(c.name, status, msg, typ, h)
}

// eventError turns an error object that came with a 2xx status (an
// "error" event, or an error body) into the one error type, its status
// chosen from its type.
func (c *Client) eventError(body []byte) *providers.Error {
	_, typ := errorMessage(body)
	return c.statusError(errorStatus(typ), body, nil)
}

// errorMessage reads Anthropic's {"type":"error","error":{"type",
// "message"}}, or falls back to the body's text.
func errorMessage(body []byte) (msg, typ string) {
	var w wireError
	if json.Unmarshal(body, &w) == nil && (w.Error.Message != "" || w.Error.Type != "") {
		return w.Error.Message, w.Error.Type
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 512 {
		text = text[:512] + "…"
	}
	return text, ""
}
