package openai

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
	"github.com/switchyard-router/switchyard/providers/sse"
)

// maxBody bounds a model list (answers are bounded by MaxAnswer, error
// bodies by providers.Send).
const maxBody = 64 << 20

// Client is a providers.Provider for an OpenAI-compatible chat-completions
// upstream. Set its fields before first use; it is then safe for
// concurrent use.
type Client struct {
	// Timeout bounds one call: a whole Complete, or a Stream until the
	// upstream's response headers arrive (a stream then runs as long as
	// ctx allows). Hitting it is a retryable 504. 0 = no limit but ctx.
	Timeout time.Duration
	// Headers are added to every upstream request (OpenAI-Organization,
	// a proxy's own auth); nil = none.
	Headers http.Header
	// Exclude names top-level request fields never sent upstream, for
	// servers that reject fields others accept ("thinking", "logprobs").
	// "model" and "messages" are always sent.
	Exclude []string
	// MaxAnswer bounds a non-streamed answer, in bytes; 0 means
	// providers.DefaultMaxAnswer (16 MiB).
	MaxAnswer int64
	// MaxEvent bounds one event of a stream, in bytes; 0 means
	// sse.DefaultMaxEvent (4 MiB).
	MaxEvent int

	name string
	base string // API root, no trailing slash
	url  string // base + "/chat/completions"
	// parsed is url, parsed on first use and shared by every request.
	parsed struct {
		once sync.Once
		u    *url.URL
		err  error
	}
	apiKey string
	hc     *http.Client
	values headerValues
	// readers are the SSE readers of finished streams, kept for the next
	// ones (a reader's buffer is 64 KiB).
	readers sync.Pool
}

// headerValues are the values of the headers a Client sets on every
// request, shared by them all; they are never modified.
type headerValues struct {
	json, eventStream, auth []string
}

var _ providers.Provider = (*Client)(nil)

// New returns a client named name (for errors and logs) that posts to
// BaseURL(baseURL) + "/chat/completions" with "Authorization: Bearer
// apiKey" unless apiKey is "". hc nil means a new http.Client with no
// timeout; deadlines come from contexts.
func New(name, baseURL, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	base := BaseURL(baseURL)
	c := &Client{
		name:   name,
		base:   base,
		url:    base + "/chat/completions",
		apiKey: apiKey,
		hc:     hc,
	}
	c.values = headerValues{json: []string{"application/json"}, eventStream: []string{"text/event-stream"}}
	if apiKey != "" {
		c.values.auth = []string{"Bearer " + apiKey}
	}
	return c
}

// chatURL is c.url, parsed once.
func (c *Client) chatURL() (*url.URL, error) {
	c.parsed.once.Do(func() {
		c.parsed.u, c.parsed.err = url.Parse(c.url)
		if c.parsed.err == nil && (c.parsed.u.Scheme == "" || c.parsed.u.Host == "") {
			c.parsed.err = fmt.Errorf("base URL %q is not an absolute URL", c.base)
		}
	})
	return c.parsed.u, c.parsed.err
}

// BaseURL normalises a configured base URL to the API root that
// "/chat/completions" and "/models" are appended to: a full endpoint URL
// (ending in /chat/completions) loses that suffix; a URL with no path at
// all ("http://127.0.0.1:8000") gets "/v1", where OpenAI-compatible
// servers (vLLM, llama.cpp, LM Studio, LiteLLM) serve; a URL whose path is
// just "/" ("http://127.0.0.1:8000/") is a server that serves at its root.
func BaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return strings.TrimRight(raw, "/")
	}
	switch {
	case u.Path == "" && u.RawQuery == "":
		u.Path = "/v1"
	case u.Path == "/":
		u.Path = ""
	default:
		u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/chat/completions")
	}
	return strings.TrimRight(u.String(), "/")
}

// ListModels lists the models the upstream serves (GET /models), for
// health checks and model discovery.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	body, err := c.Get(ctx, c.base+"/models", maxBody)
	if err != nil {
		return nil, err
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, providers.Transport(c.name, fmt.Errorf("model list: %w", err))
	}
	out := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

// Get sends GET url with the client's headers and key, within its
// Timeout, and returns the 2xx answer's body, read up to max bytes; any
// other outcome is an error as providers.Send reports it. Providers of
// OpenAI-compatible APIs with lists of their own (an OCF node's table)
// use it.
func (c *Client) Get(ctx context.Context, url string, max int64) ([]byte, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, vs := range c.Headers {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hr.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := providers.Send(ctx, c.hc, hr, c.name, 0, errorMessage)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := providers.ReadAnswer(resp.Body, resp.ContentLength, max)
	if err != nil {
		return nil, providers.CallError(ctx, ctx, c.name, 0, err)
	}
	return body, nil
}

var _ providers.Lister = (*Client)(nil)

// Complete sends req and parses the chat.completion answer, keeping it in
// Raw. "stream" and "stream_options" are dropped from the body.
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
	out, err := parseCompletionFast(body)
	if err != nil {
		return nil, providers.Transport(c.name, fmt.Errorf("malformed chat.completion: %w", err))
	}
	return out, nil
}

// Stream sends req with "stream": true and emits each chunk of the
// server-sent events, keeping it in Raw. It returns nil at "data: [DONE]";
// a body that ends before it, or a malformed event, is a retryable 502; an
// in-band error event is an *providers.Error.
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
		return providers.Transport(c.name, errors.New("expected text/event-stream, got application/json"))
	}
	events, _ := c.readers.Get().(*sse.Reader)
	if events == nil {
		events = sse.NewReaderSize(resp.Body, c.MaxEvent)
	} else {
		events.Reset(resp.Body)
	}
	defer func() {
		events.Reset(nil) // holds nothing of this stream
		c.readers.Put(events)
	}()
	var chunks chunkDecoder
	for {
		ev, err := events.NextShared()
		if err == io.EOF {
			return providers.Transport(c.name, errors.New("stream ended before [DONE]"))
		}
		if err != nil {
			return c.readError(ctx, callCtx, err)
		}
		data := bytes.TrimSpace(ev.Data)
		if string(data) == "[DONE]" {
			return nil
		}
		ch, err := chunks.decode(data)
		if err != nil {
			var ue *upstreamError
			if errors.As(err, &ue) {
				return c.statusError(ue.status, ue.body, nil)
			}
			return providers.Transport(c.name, fmt.Errorf("malformed stream event: %w", err))
		}
		if ev.Name == "error" {
			return c.statusError(http.StatusBadGateway, data, nil)
		}
		if err := emit(ch); err != nil {
			return err
		}
	}
}

// limit derives the context for one call. stop(true) releases it; stop(false)
// only disarms the Timeout.
func (c *Client) limit(ctx context.Context) (context.Context, func(release bool)) {
	if c.Timeout <= 0 {
		// Nothing to bound: the caller's context is the call's, and its
		// body, closed on return, releases the call.
		return ctx, func(bool) {}
	}
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

// post sends the request and returns a 2xx response; anything else is an
// error, the body closed.
func (c *Client) post(ctx, callCtx context.Context, req *providers.Request, stream bool) (*http.Response, error) {
	body, err := requestBody(req, stream, c.Exclude)
	if err != nil {
		return nil, err
	}
	u, err := c.chatURL()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	hr := providers.NewPost(callCtx, u, body, 3+len(c.Headers))
	for k, vs := range c.Headers {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	// The values are the client's, made once: a request's headers are
	// only read on their way out (a RoundTripper that adds some clones
	// them first), so they can be shared.
	h := hr.Header
	h["Content-Type"] = c.values.json
	if stream {
		h["Accept"] = c.values.eventStream
	} else {
		h["Accept"] = c.values.json
	}
	if c.values.auth != nil {
		h["Authorization"] = c.values.auth
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
// type, keeping OpenAI's error.message and error.type when the body has
// them and Retry-After when h has it.
func (c *Client) statusError(status int, body []byte, h http.Header) *providers.Error {
	msg, typ := errorMessage(body)
	e := providers.StatusError(c.name, status, msg, typ, h)
	e.Code = providers.ErrorCode(body)
	return e
}

// errorMessage reads OpenAI's {"error":{"message","type"}}, the
// {"error":"text"} some compatible servers send, or falls back to the
// body's text.
func errorMessage(body []byte) (msg, typ string) {
	var w struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &w) == nil {
		var obj struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		}
		var s string
		switch {
		case json.Unmarshal(w.Error, &obj) == nil && obj.Message != "":
			return obj.Message, obj.Type
		case json.Unmarshal(w.Error, &s) == nil && s != "":
			return s, ""
		case w.Message != "":
			return w.Message, ""
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 512 {
		text = text[:512] + "…"
	}
	return text, ""
}

// requestBody re-encodes req.Fields with req.Model as "model". A request
// from another dialect, with no "messages" field, gets its messages
// encoded from the canonical form. The body is written as json.Marshal
// writes the map of fields (keys sorted, values compacted), but straight
// into one buffer: the client's values are copied through, not decoded.
func requestBody(req *providers.Request, stream bool, exclude []string) ([]byte, error) {
	src := req.OpenAI()
	var overrides [4]struct {
		key string
		val json.RawMessage
	}
	n := 0
	override := func(k string, v json.RawMessage) {
		overrides[n].key, overrides[n].val = k, v
		n++
	}
	var model [128]byte
	override("model", jsonbody.AppendString(model[:0], req.Model))
	if _, ok := src["messages"]; !ok {
		msgs := make([]wireMessage, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = encodeMessage(m)
		}
		override("messages", mustMarshal(msgs))
	}
	if stream {
		override("stream", json.RawMessage("true"))
		if !slices.Contains(exclude, "stream_options") {
			// Ask for the final usage chunk, whatever the client asked:
			// token limits and accounting need the real counts. The proxy
			// drops the chunk for a client that did not ask for it.
			override("stream_options", withIncludeUsage(src["stream_options"]))
		}
	}
	value := func(k string) (json.RawMessage, bool) {
		for _, o := range overrides[:n] {
			if o.key == k {
				return o.val, true
			}
		}
		if !stream && (k == "stream" || k == "stream_options") {
			return nil, false // a stream_options without stream is a 400 at OpenAI
		}
		if k != "model" && k != "messages" && slices.Contains(exclude, k) {
			return nil, false
		}
		v, ok := src[k]
		return v, ok
	}
	var keyBuf [32]string
	keys := keyBuf[:0]
	size := 2
	for k := range src {
		if v, ok := value(k); ok {
			keys = append(keys, k)
			size += len(k) + len(v) + 4
		}
	}
	for _, o := range overrides[:n] {
		if _, ok := src[o.key]; !ok {
			keys = append(keys, o.key)
			size += len(o.key) + len(o.val) + 4
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, size+size/16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		v, _ := value(k)
		if v == nil {
			v = jsonNull // as json.RawMessage(nil) encodes
		}
		if !jsonbody.Valid(v) {
			return nil, fmt.Errorf("encode request: invalid JSON in field %q", k)
		}
		b = jsonbody.AppendString(b, k)
		b = append(b, ':')
		b = jsonbody.AppendCompact(b, v)
	}
	return append(b, '}'), nil
}

// withIncludeUsage returns a stream_options object with include_usage
// true and the client's other options kept.
func withIncludeUsage(raw json.RawMessage) json.RawMessage {
	if kind(raw) != '{' {
		return json.RawMessage(`{"include_usage":true}`) // as the map alone encodes
	}
	opts := map[string]json.RawMessage{}
	if kind(raw) == '{' {
		json.Unmarshal(raw, &opts)
	}
	opts["include_usage"] = json.RawMessage("true")
	return mustMarshal(opts)
}

// upstreamError is an error object found where an answer was expected.
type upstreamError struct {
	status int
	body   []byte
}

func (e *upstreamError) Error() string { return "upstream error event" }

// parseCompletion decodes a chat.completion body.
func parseCompletion(body []byte) (*providers.Response, error) {
	if kind(body) != '{' {
		return nil, errors.New("not a JSON object")
	}
	var w wireCompletion
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if len(w.Choices) == 0 || w.Choices[0].Message == nil {
		if w.Error != nil {
			msg, _ := errorMessage(body)
			return nil, fmt.Errorf("error in a 2xx answer: %s", msg)
		}
		return nil, errors.New("no choices")
	}
	ch := w.Choices[0]
	msg, err := parseWireMessage(ch.Message)
	if err != nil {
		return nil, err
	}
	out := &providers.Response{
		Raw:     body,
		ID:      w.ID,
		Model:   w.Model,
		Created: w.Created,
		Message: msg,
	}
	if ch.FinishReason != nil {
		out.FinishReason = *ch.FinishReason
	}
	if w.Usage != nil {
		out.Usage = *w.Usage
	}
	return out, nil
}

func parseWireMessage(w *wireMessage) (providers.Message, error) {
	m := providers.Message{Role: w.Role, ToolCallID: w.ToolCallID, Name: w.Name}
	if kind(w.ToolCalls) == '[' {
		m.ToolCalls = w.ToolCalls
	}
	if w.Content != nil {
		parts, err := parseContent(w.Content, func() string { return "content" })
		if err != nil {
			return m, err
		}
		m.Parts = parts
	}
	return m, nil
}

// parseChunk decodes one chat.completion.chunk event. An event holding an
// error object is reported as an *upstreamError.
func parseChunk(data []byte) (providers.Chunk, error) {
	if kind(data) != '{' {
		return providers.Chunk{}, errors.New("not a JSON object")
	}
	var w wireCompletion
	if err := json.Unmarshal(data, &w); err != nil {
		return providers.Chunk{}, err
	}
	if w.Error != nil && kind(w.Error) != 'n' {
		return providers.Chunk{}, &upstreamError{status: inBandStatus(w.Error), body: data}
	}
	ch := providers.Chunk{
		Raw:     json.RawMessage(bytes.Clone(data)),
		ID:      w.ID,
		Model:   w.Model,
		Created: w.Created,
		Usage:   w.Usage,
	}
	for _, c := range w.Choices {
		if c.Index != 0 || c.Delta == nil {
			continue // the canonical form follows the first choice; Raw has all
		}
		ch.Role = c.Delta.Role
		if kind(c.Delta.Content) == '"' {
			if err := json.Unmarshal(c.Delta.Content, &ch.Text); err != nil {
				return providers.Chunk{}, err
			}
		}
		if kind(c.Delta.ToolCalls) == '[' {
			ch.ToolCalls = c.Delta.ToolCalls
		}
		ch.Reasoning = c.Delta.ReasoningContent + c.Delta.Reasoning
		if c.FinishReason != nil {
			ch.FinishReason = *c.FinishReason
		}
		break
	}
	return ch, nil
}

// inBandStatus picks the status of an error sent inside a stream: its
// numeric "code" when that is an HTTP error status (vLLM and others send
// one), else 502.
func inBandStatus(raw json.RawMessage) int {
	var e struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &e) == nil {
		if n, err := strconv.Atoi(string(e.Code)); err == nil && n >= 400 && n <= 599 {
			return n
		}
	}
	return http.StatusBadGateway
}
