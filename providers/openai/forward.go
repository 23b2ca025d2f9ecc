package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
)

var _ providers.Forwarder = (*Client)(nil)

// ParseForward decodes the body of a request on an OpenAI path that is
// forwarded as is (/embeddings, /completions, /responses) into a
// providers.ForwardRequest for path. The body must be one JSON object with
// a string "model" naming a model, route or alias: these paths are not
// routed semantically, so "auto" and no model are refused. "stream", when
// present, must be a boolean. Errors are as ParseRequest's.
func ParseForward(r io.Reader, path string) (*providers.ForwardRequest, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	fields, err := jsonbody.Object(body)
	if err != nil {
		return nil, err
	}
	req := &providers.ForwardRequest{Path: path, Body: fields}
	raw, ok := fields["model"]
	if !ok {
		return nil, invalid("model", "required: name a model (%s is not routed semantically)", path)
	}
	if req.Model, err = str(raw, "model"); err != nil {
		return nil, err
	}
	if req.Model == "" || equalFold(req.Model, "auto") {
		return nil, invalid("model", "name a model: %s is not routed semantically, so %q cannot choose one", path, req.Model)
	}
	if raw, ok := fields["stream"]; ok {
		switch kind(raw) {
		case 't':
			req.Stream = true
		case 'f', 'n':
		default:
			return nil, invalid("stream", "must be a boolean")
		}
	}
	return req, nil
}

// equalFold is strings.EqualFold for ASCII, enough for "auto".
func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// Forward posts req's body, with req.Model as "model", to the API root +
// req.Path, and returns the upstream's 2xx response. Timeout bounds a
// non-streamed answer until its body is read and closed, and a stream
// until its headers arrive; a non-streamed body fails to read past
// MaxAnswer. Headers, the key and Exclude apply as for chat.
func (c *Client) Forward(ctx context.Context, req *providers.ForwardRequest) (*http.Response, error) {
	fields := make(map[string]json.RawMessage, len(req.Body))
	for k, v := range req.Body {
		fields[k] = v
	}
	for _, k := range c.Exclude {
		if k != "model" {
			delete(fields, k)
		}
	}
	fields["model"] = mustMarshal(req.Model)
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	callCtx, stop := c.limit(ctx)
	hr, err := http.NewRequestWithContext(callCtx, http.MethodPost, c.base+req.Path, bytes.NewReader(body))
	if err != nil {
		stop(true)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, vs := range c.Headers {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hr.Header.Set("Content-Type", "application/json")
	if req.Stream {
		hr.Header.Set("Accept", "text/event-stream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	if c.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := providers.Send(ctx, c.hc, hr, c.name, c.Timeout, errorMessage)
	if err != nil {
		stop(true)
		return nil, err
	}
	max := c.MaxAnswer
	if req.Stream {
		stop(false) // Timeout covers the wait for headers only
		max = -1
	} else if max <= 0 {
		max = providers.DefaultMaxAnswer
	}
	resp.Body = &answerBody{ReadCloser: resp.Body, left: max, release: func() { stop(true) },
		fail: func(err error) error { return c.readError(ctx, callCtx, err) }}
	return resp, nil
}

// answerBody is a forwarded answer's body: bounded to left bytes (-1: no
// bound, a stream), its read errors classified as the client's are, and
// the call's context released on Close.
type answerBody struct {
	io.ReadCloser
	left    int64
	release func()
	fail    func(error) error
}

func (b *answerBody) Read(p []byte) (int, error) {
	if b.left >= 0 && int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	if b.left >= 0 {
		b.left -= int64(n)
		if b.left < 0 {
			return 0, b.fail(errors.New("answer over the bound of server.max_answer_bytes"))
		}
	}
	if err != nil && err != io.EOF {
		err = b.fail(err)
	}
	return n, err
}

func (b *answerBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// ForwardedUsage reads the token counts of a forwarded answer, or of one
// event of a forwarded stream: a top-level "usage" object (embeddings,
// completions: prompt_tokens, completion_tokens), or the Responses API's
// (input_tokens, output_tokens), at the top level or under "response" as
// its stream's response.completed event has it. Nil when there is none.
func ForwardedUsage(data []byte) *providers.Usage {
	if !bytes.Contains(data, []byte(`"usage"`)) {
		return nil // most stream events: no decoding
	}
	type counts struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
		InputTokens      int `json:"input_tokens"`
		OutputTokens     int `json:"output_tokens"`
		InputDetails     *struct {
			Cached int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		PromptDetails *struct {
			Cached int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
	var w struct {
		Usage    *counts `json:"usage"`
		Response *struct {
			Usage *counts `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &w) != nil {
		return nil
	}
	c := w.Usage
	if c == nil && w.Response != nil {
		c = w.Response.Usage
	}
	if c == nil {
		return nil
	}
	u := &providers.Usage{PromptTokens: c.PromptTokens + c.InputTokens, CompletionTokens: c.CompletionTokens + c.OutputTokens}
	u.TotalTokens = c.TotalTokens
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if d := c.InputDetails; d != nil {
		u.CachedTokens = d.Cached
	} else if d := c.PromptDetails; d != nil {
		u.CachedTokens = d.Cached
	}
	return u
}
