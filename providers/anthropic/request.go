package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
)

// ErrInvalidRequest is wrapped by every error ParseRequest reports for a
// body that is not a valid Messages request: the client's fault, a 400.
// The error's text names the offending field, e.g.
// "messages[1].content[0].type: required", and is fit to send back to the
// client.
var ErrInvalidRequest = providers.ErrInvalidRequest

// The body-reading helpers of package jsonbody, under short local names.
var (
	invalid     = jsonbody.Invalid
	kind        = jsonbody.Kind
	object      = jsonbody.Fields
	str         = jsonbody.String
	optString   = jsonbody.OptString
	jsonMessage = jsonbody.Message
)

// ParseRequest decodes a Messages request body (client input).
//
// The body must be one JSON object and nothing after it. Every top-level
// field is kept byte for byte in Fields, so an Anthropic upstream receives
// what the client sent. "messages" is required: a non-empty array of
// objects with role "user" or "assistant" and content that is a string or
// an array of blocks. "model" may be absent or empty (or "auto"), which
// asks the router to choose; "max_tokens", which Anthropic requires, may
// be absent too, and the upstream adapter fills it.
//
// The canonical Messages follow OpenAI's model: "system" becomes a leading
// system message; text and image blocks become parts (a base64 image a
// data: URI); tool_use blocks become the assistant's tool_calls; each
// tool_result block becomes a "tool" message, placed before the rest of
// its user turn as OpenAI wants tool answers right after the call, its
// text joined with newlines. Other blocks (thinking, document, …) keep
// only their type.
//
// Translated holds the same request as OpenAI chat-completions fields, for
// upstreams of that dialect: model, messages, max_tokens, temperature,
// top_p, stop (from stop_sequences), stream (with stream_options asking
// for usage), tools, tool_choice, parallel_tool_calls (from
// disable_parallel_tool_use) and user (from metadata.user_id). Fields
// with no OpenAI equivalent (top_k, thinking, service_tier, cache_control
// and server tools) are left out.
//
// An error wraps ErrInvalidRequest when the body is malformed (report 400
// with its text); any other error is r's own, returned as is: an
// *http.MaxBytesError for a body over the limit (report 413), or a failure
// to read from the client.
func ParseRequest(r io.Reader) (*providers.Request, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	fields, err := jsonbody.Object(body)
	if err != nil {
		return nil, err
	}
	req := &providers.Request{Fields: fields, Dialect: providers.DialectAnthropic}
	if raw, ok := fields["model"]; ok {
		if req.Model, err = optString(raw, "model"); err != nil {
			return nil, err
		}
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
	for _, k := range []string{"max_tokens", "temperature", "top_p", "top_k"} {
		if raw, ok := fields[k]; ok && !isNumber(raw) && kind(raw) != 'n' {
			return nil, invalid(k, "must be a number")
		}
	}
	if raw, ok := fields["system"]; ok {
		sys, err := parseSystem(raw)
		if err != nil {
			return nil, err
		}
		if sys != nil {
			req.Messages = append(req.Messages, *sys)
		}
	}
	raw, ok := fields["messages"]
	if !ok {
		return nil, invalid("messages", "required")
	}
	msgs, err := parseMessages(raw)
	if err != nil {
		return nil, err
	}
	req.Messages = append(req.Messages, msgs...)
	if req.Translated, err = translate(fields, req.Messages, req.Stream); err != nil {
		return nil, err
	}
	return req, nil
}

// parseSystem decodes "system": a string, or an array of text blocks; nil
// for null.
func parseSystem(raw json.RawMessage) (*providers.Message, error) {
	switch kind(raw) {
	case 'n':
		return nil, nil
	case '"':
		s, err := str(raw, "system")
		if err != nil {
			return nil, err
		}
		return &providers.Message{Role: "system", Parts: []providers.Part{{Type: "text", Text: s}}}, nil
	case '[':
	default:
		return nil, invalid("system", "must be a string or an array of text blocks")
	}
	items, err := array(raw, "system")
	if err != nil {
		return nil, err
	}
	m := &providers.Message{Role: "system", Parts: make([]providers.Part, 0, len(items))}
	for i, item := range items {
		path := "system[" + strconv.Itoa(i) + "]"
		b, err := block(item, path)
		if err != nil {
			return nil, err
		}
		p := providers.Part{Type: b.typ}
		if b.typ != "text" {
			return nil, invalid(path+".type", "must be \"text\"")
		}
		if p.Text, err = b.text(path); err != nil {
			return nil, err
		}
		m.Parts = append(m.Parts, p)
	}
	return m, nil
}

func parseMessages(raw json.RawMessage) ([]providers.Message, error) {
	if kind(raw) != '[' {
		return nil, invalid("messages", "must be an array of messages")
	}
	items, err := array(raw, "messages")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, invalid("messages", "must not be empty")
	}
	msgs := make([]providers.Message, 0, len(items))
	for i, item := range items {
		if msgs, err = parseMessage(msgs, item, "messages["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// parseMessage appends the canonical messages of one Anthropic message to
// msgs: the tool messages of its tool_result blocks, then the rest.
func parseMessage(msgs []providers.Message, raw json.RawMessage, path string) ([]providers.Message, error) {
	fields, err := object(raw, path, "must be an object")
	if err != nil {
		return nil, err
	}
	roleRaw, ok := fields["role"]
	if !ok {
		return nil, invalid(path+".role", "required")
	}
	role, err := str(roleRaw, path+".role")
	if err != nil {
		return nil, err
	}
	if role != "user" && role != "assistant" {
		return nil, invalid(path+".role", "must be \"user\" or \"assistant\"")
	}
	m := providers.Message{Role: role}
	content, ok := fields["content"]
	if !ok {
		return nil, invalid(path+".content", "required")
	}
	switch kind(content) {
	case '"':
		s, err := str(content, path+".content")
		if err != nil {
			return nil, err
		}
		m.Parts = []providers.Part{{Type: "text", Text: s}}
		return append(msgs, m), nil
	case '[':
	default:
		return nil, invalid(path+".content", "must be a string or an array of content blocks")
	}
	items, err := array(content, path+".content")
	if err != nil {
		return nil, err
	}
	m.Parts = make([]providers.Part, 0, len(items))
	var calls []oaToolCall
	for i, item := range items {
		bpath := path + ".content[" + strconv.Itoa(i) + "]"
		b, err := block(item, bpath)
		if err != nil {
			return nil, err
		}
		switch b.typ {
		case "text":
			t, err := b.text(bpath)
			if err != nil {
				return nil, err
			}
			m.Parts = append(m.Parts, providers.Part{Type: "text", Text: t})
		case "image":
			url, err := b.image(bpath)
			if err != nil {
				return nil, err
			}
			m.Parts = append(m.Parts, providers.Part{Type: "image_url", URL: url})
		case "tool_use":
			if role != "assistant" {
				return nil, invalid(bpath+".type", "tool_use blocks belong to assistant messages")
			}
			c, err := b.toolUse(bpath)
			if err != nil {
				return nil, err
			}
			calls = append(calls, c)
		case "tool_result":
			if role != "user" {
				return nil, invalid(bpath+".type", "tool_result blocks belong to user messages")
			}
			t, err := b.toolResult(bpath)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, t)
		default:
			// thinking, document, server tool blocks, …: Fields keep them
			// for an Anthropic upstream; the canonical form keeps the type.
			m.Parts = append(m.Parts, providers.Part{Type: b.typ})
		}
	}
	if calls != nil {
		m.ToolCalls = mustMarshal(calls)
	}
	// A user turn of tool results only needs no empty user message after
	// its tool messages.
	if len(m.Parts) == 0 && m.ToolCalls == nil && len(msgs) > 0 && msgs[len(msgs)-1].Role == "tool" && len(items) > 0 {
		return msgs, nil
	}
	return append(msgs, m), nil
}

// contentBlock is one decoded content block: its type and fields.
type contentBlock struct {
	typ    string
	fields map[string]json.RawMessage
}

func block(raw json.RawMessage, path string) (contentBlock, error) {
	fields, err := object(raw, path, "must be an object")
	if err != nil {
		return contentBlock{}, err
	}
	t, ok := fields["type"]
	if !ok {
		return contentBlock{}, invalid(path+".type", "required")
	}
	typ, err := str(t, path+".type")
	if err != nil {
		return contentBlock{}, err
	}
	if typ == "" {
		return contentBlock{}, invalid(path+".type", "must not be empty")
	}
	return contentBlock{typ: typ, fields: fields}, nil
}

// field returns a required string field of the block.
func (b contentBlock) field(path, name string) (string, error) {
	raw, ok := b.fields[name]
	if !ok {
		return "", invalid(path+"."+name, "required")
	}
	return str(raw, path+"."+name)
}

func (b contentBlock) text(path string) (string, error) { return b.field(path, "text") }

// image returns an image block's source as a URL: a data: URI for base64
// data, the URL for a url source.
func (b contentBlock) image(path string) (string, error) {
	raw, ok := b.fields["source"]
	if !ok {
		return "", invalid(path+".source", "required")
	}
	src, err := block(raw, path+".source")
	if err != nil {
		return "", err
	}
	switch src.typ {
	case "base64":
		mt, err := src.field(path+".source", "media_type")
		if err != nil {
			return "", err
		}
		data, err := src.field(path+".source", "data")
		if err != nil {
			return "", err
		}
		return "data:" + mt + ";base64," + data, nil
	case "url":
		return src.field(path+".source", "url")
	default:
		// A file source (Files API) cannot travel as an OpenAI URL.
		return "", invalid(path+".source.type", "must be \"base64\" or \"url\"")
	}
}

// toolUse returns a tool_use block as an OpenAI tool call, its input
// encoded as the arguments string.
func (b contentBlock) toolUse(path string) (oaToolCall, error) {
	id, err := b.field(path, "id")
	if err != nil {
		return oaToolCall{}, err
	}
	name, err := b.field(path, "name")
	if err != nil {
		return oaToolCall{}, err
	}
	input, ok := b.fields["input"]
	if !ok {
		return oaToolCall{}, invalid(path+".input", "required")
	}
	if kind(input) != '{' {
		return oaToolCall{}, invalid(path+".input", "must be an object")
	}
	var args bytes.Buffer
	if err := json.Compact(&args, input); err != nil {
		return oaToolCall{}, invalid(path+".input", "%s", jsonMessage(err))
	}
	return oaToolCall{ID: id, Type: "function", Function: oaFunctionCall{Name: name, Arguments: args.String()}}, nil
}

// toolResult returns a tool_result block as a "tool" message, its text
// blocks joined with newlines (OpenAI's tool messages carry text only).
func (b contentBlock) toolResult(path string) (providers.Message, error) {
	id, err := b.field(path, "tool_use_id")
	if err != nil {
		return providers.Message{}, err
	}
	m := providers.Message{Role: "tool", ToolCallID: id}
	raw, ok := b.fields["content"]
	if !ok {
		m.Parts = []providers.Part{{Type: "text", Text: ""}}
		return m, nil
	}
	switch kind(raw) {
	case 'n':
		m.Parts = []providers.Part{{Type: "text", Text: ""}}
		return m, nil
	case '"':
		s, err := str(raw, path+".content")
		if err != nil {
			return m, err
		}
		m.Parts = []providers.Part{{Type: "text", Text: s}}
		return m, nil
	case '[':
	default:
		return m, invalid(path+".content", "must be a string or an array of content blocks")
	}
	items, err := array(raw, path+".content")
	if err != nil {
		return m, err
	}
	var texts []string
	for i, item := range items {
		ipath := path + ".content[" + strconv.Itoa(i) + "]"
		ib, err := block(item, ipath)
		if err != nil {
			return m, err
		}
		if ib.typ == "text" {
			t, err := ib.text(ipath)
			if err != nil {
				return m, err
			}
			texts = append(texts, t)
		}
	}
	m.Parts = []providers.Part{{Type: "text", Text: strings.Join(texts, "\n")}}
	return m, nil
}

func isNumber(raw json.RawMessage) bool {
	k := kind(raw)
	return k == '-' || (k >= '0' && k <= '9')
}

func array(raw json.RawMessage, path string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalid(path, "%s", jsonMessage(err))
	}
	return items, nil
}
