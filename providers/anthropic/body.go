package anthropic

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
)

// Outbound wire types: the request body an Anthropic upstream receives.

type reqMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type reqBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   *string         `json:"content,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type reqTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type reqToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// consumed reports the OpenAI fields the translation reads (or knowingly
// replaces); any other field is reported as dropped.
func consumed(field string) bool {
	switch field {
	case "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
		"temperature", "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls", "user":
		return true
	}
	return false
}

// requestBody encodes the body sent upstream. An Anthropic request
// (same-dialect hop) keeps its Fields but for "model", Exclude, "stream"
// (set as the call needs), and a missing max_tokens (filled with
// DefaultMaxTokens); any other request is translated from its OpenAI form.
// dropped, when not nil, is called with each OpenAI field or content
// part the translation leaves out.
func requestBody(req *providers.Request, stream bool, exclude []string, dropped func(string)) ([]byte, error) {
	var fields map[string]json.RawMessage
	if req.Dialect == providers.DialectAnthropic {
		fields = make(map[string]json.RawMessage, len(req.Fields)+2)
		for k, v := range req.Fields {
			fields[k] = v
		}
		if raw, ok := fields["max_tokens"]; !ok || kind(raw) == 'n' {
			fields["max_tokens"] = mustMarshal(DefaultMaxTokens)
		}
	} else {
		fields = fromOpenAI(req.OpenAI(), req.Messages, dropped)
	}
	for _, k := range exclude {
		if k != "model" && k != "messages" {
			delete(fields, k)
		}
	}
	fields["model"] = mustMarshal(req.Model)
	if stream {
		fields["stream"] = json.RawMessage("true")
	} else {
		delete(fields, "stream")
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}

// fromOpenAI translates OpenAI chat-completions fields into Messages
// fields. The conversation comes from msgs, the canonical messages parsed
// from the same request. System and developer messages, wherever they
// are, become the top-level system prompt; the rest become alternating
// user and assistant turns (see turns).
func fromOpenAI(src map[string]json.RawMessage, msgs []providers.Message, dropped func(string)) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, 10)
	report := func(what string) {
		if dropped != nil {
			dropped(what)
		}
	}
	var system []string
	var convo []providers.Message
	for _, m := range msgs {
		if m.Role == "system" || m.Role == "developer" {
			if t := m.Text(); t != "" {
				system = append(system, t)
			}
			continue
		}
		convo = append(convo, m)
	}
	if len(system) > 0 {
		out["system"] = mustMarshal(strings.Join(system, "\n\n"))
	}
	out["messages"] = mustMarshal(turns(convo, report))

	maxTokens := json.RawMessage(nil)
	for _, k := range []string{"max_tokens", "max_completion_tokens"} {
		if raw := src[k]; isNumber(raw) {
			maxTokens = raw
			break
		}
	}
	if maxTokens == nil {
		maxTokens = mustMarshal(DefaultMaxTokens)
	}
	out["max_tokens"] = maxTokens
	if raw := src["temperature"]; isNumber(raw) {
		// OpenAI's range is 0 to 2, Anthropic's 0 to 1.
		var t float64
		if json.Unmarshal(raw, &t) == nil && t > 1 {
			raw = json.RawMessage("1")
		}
		out["temperature"] = raw
	}
	if raw := src["top_p"]; isNumber(raw) {
		out["top_p"] = raw
	}
	if stop := stopSequences(src["stop"]); len(stop) > 0 {
		out["stop_sequences"] = mustMarshal(stop)
	}
	var user string
	if json.Unmarshal(src["user"], &user) == nil && user != "" {
		out["metadata"] = mustMarshal(map[string]string{"user_id": user})
	}
	if tools := anthropicTools(src["tools"], report); len(tools) > 0 {
		out["tools"] = mustMarshal(tools)
		if tc := anthropicToolChoice(src["tool_choice"], kind(src["parallel_tool_calls"]) == 'f'); tc != nil {
			out["tool_choice"] = mustMarshal(tc)
		}
	}
	var names []string
	for k := range src {
		if !consumed(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		report(k)
	}
	return out
}

// turns groups canonical messages into Anthropic turns: user and tool
// messages make user turns (a tool message a tool_result block), assistant
// messages assistant turns (tool calls tool_use blocks), and consecutive
// turns of one role merge, as Anthropic requires roles to alternate. A
// turn left without content is dropped, as Anthropic rejects empty ones.
func turns(msgs []providers.Message, report func(string)) []reqMessage {
	type turn struct {
		role   string
		blocks []reqBlock
	}
	var ts []turn
	for _, m := range msgs {
		role := "user"
		if m.Role == "assistant" {
			role = "assistant"
		}
		var blocks []reqBlock
		switch m.Role {
		case "tool":
			text := m.Text()
			blocks = append(blocks, reqBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: &text})
		default:
			blocks = contentBlocks(m.Parts, report)
			blocks = append(blocks, toolUses(m.ToolCalls)...)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(ts); n > 0 && ts[n-1].role == role {
			ts[n-1].blocks = append(ts[n-1].blocks, blocks...)
			continue
		}
		ts = append(ts, turn{role: role, blocks: blocks})
	}
	out := make([]reqMessage, len(ts))
	for i, t := range ts {
		out[i].Role = t.role
		if len(t.blocks) == 1 && t.blocks[0].Type == "text" {
			out[i].Content = mustMarshal(*t.blocks[0].Text)
		} else {
			out[i].Content = mustMarshal(t.blocks)
		}
	}
	return out
}

// contentBlocks turns text and image parts into blocks: an image's data:
// URI a base64 source, any other URL a url source. Empty text, which
// Anthropic rejects, is left out, and so are parts of other types.
func contentBlocks(parts []providers.Part, report func(string)) []reqBlock {
	var out []reqBlock
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, reqBlock{Type: "text", Text: &p.Text})
			}
		case "image_url":
			out = append(out, reqBlock{Type: "image", Source: source(p.URL)})
		default:
			report("content part " + p.Type)
		}
	}
	return out
}

// source returns an image source for an OpenAI image URL.
func source(url string) *imageSource {
	if rest, ok := strings.CutPrefix(url, "data:"); ok {
		if meta, data, ok := strings.Cut(rest, ","); ok {
			if mt, ok := strings.CutSuffix(meta, ";base64"); ok {
				return &imageSource{Type: "base64", MediaType: mt, Data: data}
			}
		}
	}
	return &imageSource{Type: "url", URL: url}
}

// toolUses turns OpenAI tool calls into tool_use blocks, each call's
// arguments string parsed as its input ({} when it is empty or not a JSON
// object, which Anthropic would reject).
func toolUses(raw json.RawMessage) []reqBlock {
	if kind(raw) != '[' {
		return nil
	}
	var calls []oaToolCall
	if json.Unmarshal(raw, &calls) != nil {
		return nil
	}
	out := make([]reqBlock, 0, len(calls))
	for _, c := range calls {
		out = append(out, reqBlock{Type: "tool_use", ID: c.ID, Name: c.Function.Name, Input: toolInput(c.Function.Arguments)})
	}
	return out
}

// toolInput parses OpenAI tool-call arguments into an Anthropic input
// object, "{}" when they are empty or not an object.
func toolInput(args string) json.RawMessage {
	raw := json.RawMessage(strings.TrimSpace(args))
	if kind(raw) != '{' || !json.Valid(raw) {
		return json.RawMessage("{}")
	}
	return raw
}

// stopSequences reads OpenAI's stop: a string or an array of strings.
func stopSequences(raw json.RawMessage) []string {
	switch kind(raw) {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return []string{s}
		}
	case '[':
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			return ss
		}
	}
	return nil
}

// anthropicTools translates OpenAI function tools; other tool types
// (OpenAI's built-in ones) are reported and left out.
func anthropicTools(raw json.RawMessage, report func(string)) []reqTool {
	if kind(raw) != '[' {
		return nil
	}
	var tools []struct {
		Type     string     `json:"type"`
		Function oaFunction `json:"function"`
	}
	if json.Unmarshal(raw, &tools) != nil {
		report("tools")
		return nil
	}
	out := make([]reqTool, 0, len(tools))
	for _, t := range tools {
		if t.Type != "function" || t.Function.Name == "" {
			report("tools: type " + t.Type)
			continue
		}
		schema := t.Function.Parameters
		if kind(schema) != '{' {
			schema = json.RawMessage(`{"type":"object"}`) // Anthropic requires one
		}
		out = append(out, reqTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	return out
}

// anthropicToolChoice translates OpenAI's tool_choice ("auto", "required",
// "none", or a named function) and parallel_tool_calls false; nil when
// neither says anything.
func anthropicToolChoice(raw json.RawMessage, noParallel bool) *reqToolChoice {
	var tc *reqToolChoice
	switch kind(raw) {
	case '"':
		var s string
		json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			tc = &reqToolChoice{Type: "auto"}
		case "required":
			tc = &reqToolChoice{Type: "any"}
		case "none":
			tc = &reqToolChoice{Type: "none"}
		}
	case '{':
		var f struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &f) == nil && f.Function.Name != "" {
			tc = &reqToolChoice{Type: "tool", Name: f.Function.Name}
		}
	}
	if noParallel {
		if tc == nil {
			tc = &reqToolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	return tc
}
