// Package ollama is the provider for Ollama's native chat API (/api/chat):
// it translates canonical requests into Ollama's wire form, sends them with
// the github.com/ollama/ollama/api client, and translates the replies back.
//
// Honoured request fields, beside model, messages and the stream flag:
// temperature, top_p, seed, stop (string or array), max_completion_tokens
// (or max_tokens) as num_predict, presence_penalty, frequency_penalty,
// response_format (json_object as "json", json_schema as its schema), tools
// (function tools; Ollama's typed schema keeps type, description, enum,
// items, properties, required, anyOf and $defs), tool_choice "none" (the
// tools are then not offered; other choices cannot be enforced and are
// ignored) and reasoning_effort as think. Every other field is ignored: n,
// logit_bias, logprobs, user, stream_options, parallel_tool_calls and the
// like. Unset sampling fields leave the model's own defaults.
//
// Images must be base64 data: URIs: Ollama cannot fetch a URL, so a remote
// image is refused with a 400. Replies drop Ollama's thinking text and
// logprobs, and carry no Raw: Ollama is not an OpenAI upstream.
//
// Failures are *providers.Error: Ollama's error statuses with its message
// through providers.FromStatus, a request Ollama cannot be given as a 400,
// an unreachable server or a broken or cut reply as providers.Transport.
// The caller's own cancellation is returned as ctx.Err().
package ollama

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers"
)

var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Lister   = (*Client)(nil)
)

// Client talks to one Ollama server. Set its fields before the first call;
// after that it is safe for concurrent use.
type Client struct {
	// Timeout bounds each call: a whole non-streamed reply, or a stream's
	// wait for its first line. A call that runs out reports a retryable
	// 504. Zero means no bound beyond the caller's context.
	Timeout time.Duration
	// KeepAlive is how long Ollama keeps the model loaded after the
	// request. Zero leaves Ollama's default (5 minutes); negative keeps the
	// model loaded indefinitely.
	KeepAlive time.Duration
	// NumCtx is the context window, in tokens, to run the model with
	// (options.num_ctx). Zero leaves the model's default, which is often
	// much smaller than the model can take.
	NumCtx int
	// MaxLine bounds one line of a streamed reply (one chunk), in bytes:
	// a longer line fails the call as a broken reply, a retryable 502.
	// Zero means DefaultMaxLine (4 MiB). The ollama/api client stops at
	// 8 MB whatever this says.
	MaxLine int

	name   string
	client *api.Client
	base   *url.URL
	hc     *http.Client
	err    error // a bad base URL, reported by every call
}

// New returns a client for the Ollama server at baseURL (such as
// "http://localhost:11434"), named name in errors. hc carries the requests
// and should have no Timeout, since it would cut long streams; nil means a
// new http.Client.
func New(name, baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{name: name}
	u, err := url.Parse(baseURL)
	if err == nil && (u.Scheme == "" || u.Host == "") {
		err = errors.New("want scheme://host[:port]")
	}
	if err != nil {
		c.err = fmt.Errorf("ollama %s: base url %q: %w", name, baseURL, err)
		return c
	}
	c.client = api.NewClient(u, hc)
	c.base, c.hc = u, hc // for stream calls, whose lines chat bounds
	return c
}

// Complete sends req without streaming and returns Ollama's answer.
func (c *Client) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	cr, err := c.request(req, false)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := c.withTimeout(ctx)
	defer cancel()
	dec := c.decoder()
	var resp *providers.Response
	err = c.client.Chat(callCtx, cr, func(r api.ChatResponse) error {
		if !r.Done {
			return errors.New("reply without done")
		}
		var err error
		resp, err = dec.response(r)
		return err
	})
	if err != nil {
		return nil, c.failure(ctx, callCtx, err)
	}
	if resp == nil {
		return nil, c.failure(ctx, callCtx, errors.New("empty reply"))
	}
	return resp, nil
}

// Stream sends req and emits one chunk per line of Ollama's NDJSON reply
// that carries text, tool calls or the end; the last chunk has the finish
// reason and usage. A reply that ends without Ollama's done line is cut, a
// retryable 502.
func (c *Client) Stream(ctx context.Context, req *providers.Request, emit func(providers.Chunk) error) error {
	cr, err := c.request(req, true)
	if err != nil {
		return err
	}
	// Timeout covers the wait for the first line only, as for the other
	// dialects: a long generation is not cut by it (the chain's
	// stream_idle_timeout bounds the gaps after it).
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first *time.Timer
	if c.Timeout > 0 {
		first = time.AfterFunc(c.Timeout, cancel)
		defer first.Stop()
	}
	dec := c.decoder()
	var emitErr error
	done := false
	err = c.chat(callCtx, cr, func(r api.ChatResponse) error {
		if first != nil {
			first.Stop()
		}
		if done {
			return nil // nothing follows done; ignore it if something does
		}
		done = r.Done
		ch, ok, err := dec.chunk(r)
		if err != nil || !ok {
			return err
		}
		// Returning an error from here makes Chat stop reading and return it.
		if err := emit(ch); err != nil {
			emitErr = err
			return err
		}
		return nil
	})
	switch {
	case emitErr != nil:
		return emitErr
	case err != nil:
		return c.failure(ctx, callCtx, err)
	case !done:
		// Chat does not report read errors, so a reset connection looks
		// like a clean end without the done line.
		return c.failure(ctx, callCtx, errors.New("stream ended without done"))
	}
	return nil
}

// ListModels lists the models the server has (GET /api/tags), named as
// Ollama reports them ("llama3.2:latest"), for health checks and model
// discovery. Failures are reported like Complete's.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	if c.err != nil {
		return nil, c.err
	}
	callCtx, cancel := c.withTimeout(ctx)
	defer cancel()
	lr, err := c.client.List(callCtx)
	if err != nil {
		return nil, c.failure(ctx, callCtx, err)
	}
	out := make([]string, 0, len(lr.Models))
	for _, m := range lr.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		if name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// request translates req, with the client's knobs; a request Ollama cannot
// be given is the client's fault, a 400 no other attempt will fix.
func (c *Client) request(req *providers.Request, stream bool) (*api.ChatRequest, error) {
	if c.err != nil {
		return nil, c.err
	}
	cr, err := chatRequest(req, stream)
	if err != nil {
		return nil, providers.FromStatus(c.name, http.StatusBadRequest, err.Error())
	}
	if c.KeepAlive != 0 {
		cr.KeepAlive = &api.Duration{Duration: c.KeepAlive}
	}
	if c.NumCtx > 0 {
		if cr.Options == nil {
			cr.Options = make(map[string]any, 1)
		}
		cr.Options["num_ctx"] = c.NumCtx
	}
	return cr, nil
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.Timeout > 0 {
		return context.WithTimeout(ctx, c.Timeout)
	}
	return context.WithCancel(ctx)
}

func (c *Client) decoder() *decoder {
	return &decoder{
		id:    "chatcmpl-" + rand.Text(),
		now:   time.Now(),
		newID: func() string { return "call_" + rand.Text() },
	}
}

// failure classifies err from a call made with callCtx, derived from the
// caller's ctx. The caller's own cancellation is returned as is, so the
// proxy can tell a client that left from an upstream that failed.
func (c *Client) failure(ctx, callCtx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if callCtx.Err() != nil {
		return providers.Timeout(c.name, fmt.Errorf("no complete answer within %s", c.Timeout))
	}
	var se api.StatusError
	if errors.As(err, &se) {
		msg := se.ErrorMessage
		if msg == "" {
			msg = http.StatusText(se.StatusCode)
		}
		return providers.StatusError(c.name, se.StatusCode, msg, "", nil)
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return providers.StatusError(c.name, ae.StatusCode, "", "", nil)
	}
	return providers.Transport(c.name, err)
}
