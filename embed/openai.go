package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// OpenAI embeds text with any server that speaks OpenAI's embeddings API
// (POST {base}/embeddings): OpenAI itself, vLLM, text-embeddings-inference,
// LM Studio, llama.cpp's server. It is safe for concurrent use.
type OpenAI struct {
	id     string
	url    string
	model  string
	apiKey string
	client *http.Client
	remote *remote
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns a backend for model at baseURL, the API root that
// "/embeddings" is appended to (such as "https://api.openai.com/v1" or
// "http://localhost:8000/v1"). An empty apiKey sends no Authorization
// header. Requests go through client, which should have no Timeout:
// RemoteOptions.Timeout bounds each attempt, and the caller's context the
// whole call. Nothing is sent until the first Embed or Probe.
func NewOpenAI(baseURL, model, apiKey string, client *http.Client, opts RemoteOptions) (*OpenAI, error) {
	_, base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("new openai embedder: %w", err)
	}
	if model == "" {
		return nil, errors.New("new openai embedder: no model")
	}
	if client == nil {
		return nil, errors.New("new openai embedder: nil http client")
	}
	o := &OpenAI{
		id:     "openai:" + model + "@" + base,
		url:    base + "/embeddings",
		model:  model,
		apiKey: apiKey,
		client: client,
	}
	o.remote = newRemote("openai "+model+" at "+base, opts, o.post)
	return o, nil
}

// ID is "openai:<model>@<base url>", the base URL as given to NewOpenAI
// without a trailing slash.
func (o *OpenAI) ID() string { return o.id }

// Dim reports the vector length: RemoteOptions.Dim if it was set, else the
// length learned from the first response, and 0 until then. Call Probe at
// start-up to learn it early.
func (o *OpenAI) Dim() int { return int(o.remote.dim.Load()) }

// Probe embeds one short text, to check that the server answers and serves
// the model, and to learn the vector length.
func (o *OpenAI) Probe(ctx context.Context) error { return o.remote.probe(ctx) }

// Embed returns one unit-length vector per text, in order.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return o.remote.embed(ctx, texts)
}

type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type openAIResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

func (o *OpenAI) post(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(openAIRequest{Model: o.model, Input: texts, EncodingFormat: "float"})
	if err != nil {
		return nil, permanent("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return nil, permanent("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if o.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.apiKey)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, newStatusError(resp.StatusCode, openAIMessage(b), resp.Header)
	}
	var r openAIResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		if ctx.Err() != nil {
			return nil, err // cut off mid-body: the attempt's deadline, not the server
		}
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) {
			return nil, permanent("decode response: %w", err)
		}
		return nil, fmt.Errorf("read response: %w", err)
	}
	// Servers may answer in any order; index says which input each is for.
	vecs := make([][]float32, len(r.Data))
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= len(vecs) {
			return nil, permanent("response index %d out of range for %d vectors", d.Index, len(vecs))
		}
		if vecs[d.Index] != nil {
			return nil, permanent("response index %d repeated", d.Index)
		}
		if d.Embedding == nil {
			d.Embedding = []float32{}
		}
		vecs[d.Index] = d.Embedding
	}
	return vecs, nil
}

// openAIMessage finds the message in an error body: OpenAI and vLLM send
// {"error": {"message": …}}, text-embeddings-inference {"error": "…"}, and
// proxies in between plain text.
func openAIMessage(body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		var obj struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &obj) == nil && obj.Message != "":
			return obj.Message
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return s
		case e.Message != "":
			return e.Message
		}
	}
	return string(body)
}
