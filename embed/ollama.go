package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ollama/ollama/api"
)

// Ollama embeds text with a model served by Ollama, through its /api/embed
// endpoint, many texts per request. It is safe for concurrent use.
type Ollama struct {
	id     string
	model  string
	client *api.Client
	remote *remote
}

var _ Embedder = (*Ollama)(nil)

// NewOllama returns a backend for model on the Ollama server at baseURL
// (such as "http://localhost:11434"). Requests go through client, which
// should have no Timeout: RemoteOptions.Timeout bounds each attempt, and
// the caller's context the whole call. Nothing is sent until the first
// Embed or Probe.
func NewOllama(baseURL, model string, client *http.Client, opts RemoteOptions) (*Ollama, error) {
	u, base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("new ollama embedder: %w", err)
	}
	if model == "" {
		return nil, errors.New("new ollama embedder: no model")
	}
	if client == nil {
		return nil, errors.New("new ollama embedder: nil http client")
	}
	// api.Client keeps the response to itself, so a wrapper on the
	// transport hands Retry-After back through the request's context.
	hc := *client
	hc.Transport = retryAfterTransport{next: client.Transport}
	o := &Ollama{
		id:     "ollama:" + model + "@" + base,
		model:  model,
		client: api.NewClient(u, &hc),
	}
	o.remote = newRemote("ollama "+model+" at "+base, opts, o.post)
	return o, nil
}

// ID is "ollama:<model>@<base url>", the base URL as given to NewOllama
// without a trailing slash.
func (o *Ollama) ID() string { return o.id }

// Dim reports the vector length: RemoteOptions.Dim if it was set, else the
// length learned from the first response, and 0 until then. Call Probe at
// start-up to learn it early.
func (o *Ollama) Dim() int { return int(o.remote.dim.Load()) }

// Probe embeds one short text, to check that the server answers and serves
// the model, and to learn the vector length.
func (o *Ollama) Probe(ctx context.Context) error { return o.remote.probe(ctx) }

// Embed returns one unit-length vector per text, in order. Texts longer
// than the model's context are truncated by the server.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return o.remote.embed(ctx, texts)
}

func (o *Ollama) post(ctx context.Context, texts []string) ([][]float32, error) {
	var retryAfter string
	ctx = context.WithValue(ctx, retryAfterKey{}, &retryAfter)
	resp, err := o.client.Embed(ctx, &api.EmbedRequest{Model: o.model, Input: texts})
	if err != nil {
		var se api.StatusError
		var ae api.AuthorizationError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		h := http.Header{"Retry-After": {retryAfter}}
		switch {
		case errors.As(err, &se):
			return nil, newStatusError(se.StatusCode, se.ErrorMessage, h)
		case errors.As(err, &ae):
			return nil, newStatusError(ae.StatusCode, ae.Status, h)
		case errors.As(err, &syntax), errors.As(err, &typ):
			return nil, permanent("decode response: %w", err)
		}
		return nil, err
	}
	return resp.Embeddings, nil
}

type retryAfterKey struct{}

// retryAfterTransport records each response's Retry-After header in the
// *string that the request's context holds under retryAfterKey.
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport // what http.Client itself uses
	}
	resp, err := next.RoundTrip(req)
	if p, ok := req.Context().Value(retryAfterKey{}).(*string); ok && resp != nil {
		*p = resp.Header.Get("Retry-After")
	}
	return resp, err
}
