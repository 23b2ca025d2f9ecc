package expand

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
)

// promptSample bounds the route's own examples shown to the model, and
// promptKept the items already kept that a later call is told not to
// repeat: enough to steer it, few enough to keep the prompt small.
const (
	promptSample = 8
	promptKept   = 40
)

// temperature favours variety: the filters and the thinning remove what
// a hot model gets wrong, not what a cold one repeats.
const temperature = "0.9"

const system = "You write realistic test data for the router of an AI chat assistant: " +
	"messages that users type. You answer with JSON only."

// prompt is the user message of one call: the route, how many requests
// and near misses to write, and what not to repeat (kept, from earlier
// calls).
func prompt(r Route, cond string, askReq, askNear int, kept []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "A router sends each user message to the route whose description fits it best.\n\n")
	fmt.Fprintf(&b, "Route %q: %s\n", r.Name, cond)
	if f := classifier.Facets(cond); len(f) > 0 {
		fmt.Fprintf(&b, "It covers: %s.\n", strings.Join(f, "; "))
	}
	b.WriteString("\n")
	if askReq > 0 {
		fmt.Fprintf(&b, "Write %d different messages that users would really send to an AI assistant and that this route should get. "+
			"Vary them: cover every part of the description, and mix topics, wording, length (from a few words to three sentences), "+
			"tone (casual, terse, polite, with typos) and expertise. Write each as the user would type it: a request or a question, "+
			"never an answer, and never the description itself.\n\n", askReq)
	}
	if askNear > 0 {
		fmt.Fprintf(&b, "Write %d near misses: messages that share words or a domain with this route but that it must NOT get, "+
			"because they ask for something else.", askNear)
		var others []string
		for _, o := range r.Others {
			if o = strings.Join(strings.Fields(o), " "); o != "" {
				others = append(others, "- "+o)
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(&b, " Other routes get:\n%s\n", strings.Join(others, "\n"))
		}
		b.WriteString("\n\n")
	}
	if n := min(len(r.Examples), promptSample); n > 0 {
		fmt.Fprintf(&b, "Messages this route already has (write different ones):\n")
		for _, ex := range r.Examples[:n] {
			fmt.Fprintf(&b, "- %s\n", strings.Join(strings.Fields(ex), " "))
		}
		b.WriteString("\n")
	}
	if n := min(len(kept), promptKept); n > 0 {
		fmt.Fprintf(&b, "Already written (do not repeat these):\n")
		for _, k := range kept[:n] {
			fmt.Fprintf(&b, "- %s\n", k)
		}
		b.WriteString("\n")
	}
	b.WriteString("Answer with only a JSON object, no other text:\n")
	switch {
	case askReq > 0 && askNear > 0:
		b.WriteString(`{"requests": ["...", "..."], "near_misses": ["...", "..."]}`)
	case askNear > 0:
		b.WriteString(`{"near_misses": ["...", "..."]}`)
	default:
		b.WriteString(`{"requests": ["...", "..."]}`)
	}
	return b.String()
}

// call sends one non-streamed chat request and returns the reply's text.
// The request is built in OpenAI's dialect, which every adapter
// translates, as the judge's is; asked is the number of items asked for,
// which sizes the answer budget.
func call(ctx context.Context, p providers.Provider, model, user string, opts Options, asked int) (string, error) {
	maxTokens := opts.MaxTokens
	if maxTokens <= 0 {
		maxTokens = min(40*asked+256, 4096)
	}
	msgs := []providers.Message{
		{Role: "system", Parts: []providers.Part{{Type: "text", Text: system}}},
		{Role: "user", Parts: []providers.Part{{Type: "text", Text: user}}},
	}
	wire := []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": user}}
	fields := map[string]json.RawMessage{
		"model":       mustJSON(model),
		"messages":    mustJSON(wire),
		"max_tokens":  mustJSON(maxTokens),
		"temperature": json.RawMessage(temperature),
	}
	req := &providers.Request{Model: model, Messages: msgs, Dialect: providers.DialectOpenAI, Fields: fields}
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	resp, err := p.Complete(cctx, req)
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("ask %s: no answer within %s: %w", model, opts.Timeout, err)
		}
		return "", fmt.Errorf("ask %s: %w", model, err)
	}
	return resp.Message.Text(), nil
}

// mustJSON encodes values that always encode (strings, ints, plain maps).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
