package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
)

// HeaderTokenEstimate names the tokenizer a count_tokens answer was
// estimated with.
const HeaderTokenEstimate = "X-Switchyard-Token-Estimate"

// TokenEncoding is the tokenizer count_tokens estimates with. Claude's own
// tokenizer is not public; OpenAI's cl100k_base is a real BPE of similar
// vocabulary size, so its counts are close for English and code (and the
// header says so, so nobody mistakes them for Anthropic's).
const TokenEncoding = "cl100k_base"

// Overheads added to the text's tokens, as OpenAI's chat format spends
// them on message framing: per message (the system prompt counts as one),
// per tool definition, and once to prime the reply.
const (
	tokensPerMessage = 3
	tokensPerTool    = 3
	tokensPerReply   = 3
)

// encoder loads the cl100k_base ranks once, on the first count_tokens
// request, from the BPE file compiled into tiktoken-go-loader: never from
// the network. The result is immutable and safe for concurrent use.
var encoder = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	// tiktoken-go's default loader downloads the ranks; the offline one
	// reads its embedded copy (whose SHA-256 matches OpenAI's published
	// file).
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding(TokenEncoding)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", TokenEncoding, err)
	}
	return enc, nil
})

// handleCountTokens serves POST /v1/messages/count_tokens: the body is a
// Messages request (parsed, with the same errors, as for /v1/messages) and
// the answer {"input_tokens": N} an estimate; nothing is sent upstream.
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime()
	log := zerolog.Ctx(r.Context())

	req, err := anthropic.ParseRequest(http.MaxBytesReader(w, r.Body, rt.maxBody()))
	if err != nil {
		err = requestError(err, rt.maxBody())
		log.Info().Err(err).Int("status", statusOf(err)).Msg("rejected request")
		writeAnthropicError(w, err)
		return
	}
	enc, err := encoder()
	if err != nil {
		log.Error().Err(err).Msg("count tokens")
		writeAnthropicError(w, err)
		return
	}
	n := countTokens(enc, req)
	w.Header().Set(HeaderTokenEstimate, TokenEncoding)
	writeJSON(w, http.StatusOK, map[string]int{"input_tokens": n})
	log.Info().Int("input_tokens", n).Int("messages", len(req.Messages)).Msg("count tokens")
}

// countTokens estimates the tokens req's prompt takes: the text of every
// message (the system prompt and tool results included; images and
// documents are not counted), the name and arguments of every tool call, the name, description and
// input schema of every tool definition, plus the per-message, per-tool
// and reply overheads above. Special-token strings such as <|endoftext|>
// count as the plain text they are.
func countTokens(enc *tiktoken.Tiktoken, req *providers.Request) int {
	count := func(s string) int {
		if s == "" {
			return 0
		}
		return len(enc.EncodeOrdinary(s))
	}
	n := tokensPerReply
	for _, m := range req.Messages {
		n += tokensPerMessage + count(m.Text())
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
				for _, c := range calls {
					n += count(c.Function.Name) + count(c.Function.Arguments)
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
				n += tokensPerTool + count(t.Name) + count(t.Description) + count(compactJSON(t.InputSchema))
			}
		}
	}
	return n
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
