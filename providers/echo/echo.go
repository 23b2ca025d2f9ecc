// Package echo is a provider that calls no model: it answers every chat
// request with the routing decision that brought the request to it and the
// request it would have sent upstream, in OpenAI's form. It makes a first
// run answer on a machine with no provider keys and no local model, and
// shows what switchyard does with a request, streamed or not, to clients
// of either dialect (the proxy encodes its canonical answer for each).
package echo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/tokencount"
)

// DefaultMaxEcho is how much of a request's JSON an answer repeats, in
// bytes, when Client.MaxEcho is 0.
const DefaultMaxEcho = 64 << 10

// chunkBytes is about how much text one streamed chunk carries: the
// answer is cut at line ends into chunks of at least this size.
const chunkBytes = 200

// Client is the echo provider. It is immutable after New and safe for
// concurrent use.
type Client struct {
	name string
	// MaxEcho bounds the request JSON an answer repeats, in bytes; a
	// longer request is shown cut, as a JSON string. 0 means
	// DefaultMaxEcho.
	MaxEcho int
}

var _ providers.Provider = (*Client)(nil)

// New returns the echo provider named name (its name in config, shown in
// answers).
func New(name string) *Client { return &Client{name: name} }

// Complete answers req at once.
func (c *Client) Complete(ctx context.Context, req *providers.Request) (*providers.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text := c.answer(ctx, req)
	return &providers.Response{
		ID:           newID(),
		Model:        req.Model,
		Created:      time.Now().Unix(),
		Message:      providers.Message{Role: "assistant", Parts: []providers.Part{{Type: "text", Text: text}}},
		FinishReason: "stop",
		Usage:        usage(ctx, req, text),
	}, nil
}

// Stream sends the answer Complete gives as several chunks, cut at line
// ends: the first carries the role, the last the finish reason, and a
// final chunk carries only the usage, as OpenAI's does.
func (c *Client) Stream(ctx context.Context, req *providers.Request, emit func(providers.Chunk) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	text := c.answer(ctx, req)
	id, created := newID(), time.Now().Unix()
	pieces := split(text, chunkBytes)
	for i, p := range pieces {
		ch := providers.Chunk{ID: id, Model: req.Model, Created: created, Text: p}
		if i == 0 {
			ch.Role = "assistant"
		}
		if i == len(pieces)-1 {
			ch.FinishReason = "stop"
		}
		if err := emit(ch); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	u := usage(ctx, req, text)
	return emit(providers.Chunk{ID: id, Model: req.Model, Created: created, Usage: &u})
}

// answer is the assistant message: a few lines for people, then a JSON
// block with the decision and the request.
func (c *Client) answer(ctx context.Context, req *providers.Request) string {
	r := providers.RoutingFrom(ctx)
	var b strings.Builder
	b.WriteString(headline(r))
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "This answer comes from the echo provider %q: no model was called. ", c.name)
	b.WriteString("Below are the decision and the request switchyard would have sent upstream (OpenAI's form). ")
	b.WriteString("Give a provider a key in the config to get real answers.\n\n```json\n")
	b.Write(c.report(r, req))
	b.WriteString("\n```\n")
	return b.String()
}

// headline says in one or two lines what the router did.
func headline(r *providers.Routing) string {
	if r == nil {
		return "No routing decision reached the echo provider (it was called directly)."
	}
	var b strings.Builder
	switch {
	case r.Route != "":
		fmt.Fprintf(&b, "switchyard routed this request to route `%s` (%s", r.Route, r.DecidedBy)
		if len(r.Scores) > 0 {
			fmt.Fprintf(&b, ", score %.3f", r.Score)
		}
		b.WriteString(").")
	case r.Model != "":
		fmt.Fprintf(&b, "switchyard served the model `%s` that the request named (%s).", r.Model, r.DecidedBy)
	default:
		fmt.Fprintf(&b, "switchyard served this request (%s).", r.DecidedBy)
	}
	if r.Fallback != "" {
		fmt.Fprintf(&b, " Why: %s.", strings.TrimSuffix(r.Fallback, "."))
	}
	if len(r.Scores) > 0 {
		b.WriteString("\nBest routes:")
		for i, s := range r.Scores {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s %.3f", s.Route, s.Score)
		}
		b.WriteString(".")
	}
	return b.String()
}

// report is the JSON block: {"routing": …, "request": …}. A request over
// MaxEcho bytes is shown as the start of its JSON, in a string.
func (c *Client) report(r *providers.Routing, req *providers.Request) []byte {
	type routing struct {
		Route     string                 `json:"route,omitempty"`
		Model     string                 `json:"model,omitempty"`
		DecidedBy string                 `json:"decided_by"`
		Score     *float64               `json:"score,omitempty"`
		Scores    []providers.RouteScore `json:"scores,omitempty"`
		Fallback  string                 `json:"fallback,omitempty"`
	}
	out := struct {
		Routing     *routing        `json:"routing"`
		Request     json.RawMessage `json:"request,omitempty"`
		RequestCut  string          `json:"request_cut,omitempty"`
		RequestSize int             `json:"request_bytes,omitempty"`
	}{}
	if r != nil {
		out.Routing = &routing{Route: r.Route, Model: r.Model, DecidedBy: r.DecidedBy, Fallback: r.Fallback}
		if len(r.Scores) > 0 {
			s := round(r.Score)
			out.Routing.Score = &s
			for _, x := range r.Scores {
				out.Routing.Scores = append(out.Routing.Scores, providers.RouteScore{Route: x.Route, Score: round(x.Score)})
			}
		}
	}
	fields := req.OpenAI()
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	body, err := json.Marshal(fields)
	if err != nil {
		body = []byte(`{}`) // fields are valid JSON by construction; never reached
	}
	max := c.MaxEcho
	if max <= 0 {
		max = DefaultMaxEcho
	}
	if len(body) > max {
		out.RequestCut, out.RequestSize = cut(string(body), max), len(body)
	} else {
		out.Request = body
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

// usage counts the prompt's and the answer's tokens in cl100k_base, as
// count_tokens estimates them; zero if the encoder cannot load.
func usage(ctx context.Context, req *providers.Request, answer string) providers.Usage {
	enc, err := tokencount.CL100K()
	if err != nil {
		return providers.Usage{}
	}
	in := enc.NewTally()
	for _, m := range req.Messages {
		in.Plus(3) // OpenAI's per-message framing
		in.Add(ctx, m.Role)
		in.Add(ctx, m.Text())
	}
	in.Plus(3) // the reply's priming
	out := enc.NewTally()
	out.Add(ctx, answer)
	p, _ := in.Total()
	n, _ := out.Total()
	return providers.Usage{PromptTokens: p, CompletionTokens: n, TotalTokens: p + n}
}

// split cuts s at line ends into pieces of at least n bytes (the last may
// be shorter); their concatenation is s.
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := strings.IndexByte(s[n:], '\n')
		if i < 0 {
			break
		}
		out = append(out, s[:n+i+1])
		s = s[n+i+1:]
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// cut returns the first n bytes of s at most, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// round keeps 4 decimals of a score, enough to read.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return "chatcmpl-echo-" + hex.EncodeToString(b[:])
}
