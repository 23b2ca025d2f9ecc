package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/tokencount"
)

// HeaderTokenEstimate names the tokenizer a count_tokens answer was
// estimated with.
const HeaderTokenEstimate = "X-Switchyard-Token-Estimate"

// Overheads added to the text's tokens, as OpenAI's chat format spends
// them on message framing: per message (the system prompt counts as one),
// per tool definition, and once to prime the reply.
const (
	tokensPerMessage = 3
	tokensPerTool    = 3
	tokensPerReply   = 3
)

// handleCountTokens serves POST /v1/messages/count_tokens: the body is a
// Messages request (parsed, with the same errors, as for /v1/messages) and
// the answer {"input_tokens": N} an estimate; nothing is sent upstream.
// The work is bounded (see package tokencount), and stops when the
// client leaves.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	log := logOf(r.Context())

	if _, err := rt.authenticate(r); err != nil {
		log.Info().Err(err).Int("status", statusOf(err)).Msg("rejected key")
		writeAnthropicError(w, err)
		return
	}
	req, err := anthropic.ParseRequest(http.MaxBytesReader(w, r.Body, rt.maxBody()))
	if err != nil {
		err = requestError(err, rt.maxBody())
		log.Info().Err(err).Int("status", statusOf(err)).Msg("rejected request")
		writeAnthropicError(w, err)
		return
	}
	tok, err := tokencount.CL100K()
	if err != nil {
		log.Error().Err(err).Msg("count tokens")
		writeAnthropicError(w, err)
		return
	}
	n, err := countTokens(r.Context(), tok, req)
	if err != nil {
		// Only the context stops a count: the client left (499) or a
		// deadline passed (504).
		log.Info().Err(err).Int("status", statusOf(err)).Msg("count tokens stopped")
		writeAnthropicError(w, err)
		return
	}
	w.Header().Set(HeaderTokenEstimate, tokencount.Encoding)
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": n})
	log.Info().Int("input_tokens", n).Int("messages", len(req.Messages)).Msg("count tokens")
}

// countTokens estimates the tokens req's prompt takes: the text of every
// message (the system prompt and tool results included; images and
// documents are not counted), the name and arguments of every tool call, the name, description and
// input schema of every tool definition, plus the per-message, per-tool
// and reply overheads above. Special-token strings such as <|endoftext|>
// count as the plain text they are. It returns ctx's error, and no count,
// if ctx ends first.
func countTokens(ctx context.Context, tok *tokencount.Encoder, req *providers.Request) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c := tok.NewTally()
	c.Plus(tokensPerReply)
	for _, m := range req.Messages {
		c.Plus(tokensPerMessage)
		c.Add(ctx, m.Text())
		if len(m.ToolCalls) > 0 {
			// The canonical form keeps tool calls in OpenAI's shape; the
			// arguments are the tool_use input as JSON text.
			var calls []struct {
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			}
			if json.Unmarshal(m.ToolCalls, &calls) == nil {
				for _, call := range calls {
					c.Add(ctx, call.Function.Name)
					c.Add(ctx, call.Function.Arguments)
				}
			}
		}
	}
	if raw, ok := req.Fields["tools"]; ok {
		// Anthropic's tool definitions, the request's own Fields: count
		// what the model reads of them.
		var tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"input_schema"`
		}
		if json.Unmarshal(raw, &tools) == nil {
			for _, t := range tools {
				c.Plus(tokensPerTool)
				c.Add(ctx, t.Name)
				c.Add(ctx, t.Description)
				c.Add(ctx, compactJSON(t.InputSchema))
			}
		}
	}
	return c.Total()
}

// compactJSON returns raw without insignificant white space, so that a
// pretty-printed schema does not count more than a compact one.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}
