package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
)

// ErrInvalidRequest is wrapped by every error ParseRequest reports for a
// body that is not a valid chat-completions request: the client's fault,
// a 400. The error's text names the offending field, e.g.
// "messages[1].content: must be a string or an array of parts", and is fit
// to send back to the client.
var ErrInvalidRequest = providers.ErrInvalidRequest

// The body-reading helpers of package jsonbody, under short local names:
// every value they read is part of a body already validated whole
// (jsonbody.Object, or an answer's jsonbody.Valid), so they do not validate
// again.
var (
	invalid     = jsonbody.Invalid
	kind        = jsonbody.Kind
	object      = jsonbody.FieldsOf
	str         = jsonbody.StringOf
	optString   = jsonbody.OptStringOf
	jsonMessage = jsonbody.Message
)

// ParseRequest decodes a chat-completions request body (client input).
//
// The body must be one JSON object and nothing after it. Every top-level
// field is kept byte for byte in Fields, so an OpenAI-compatible upstream
// receives what the client sent. "messages" is required: a non-empty array
// of objects, each with a string "role". "model" (a string) may be absent
// or empty, which asks the router to choose.
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

	req := &providers.Request{Fields: fields}
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
	raw, ok := fields["messages"]
	if !ok {
		return nil, invalid("messages", "required")
	}
	if req.Messages, err = parseMessages(raw); err != nil {
		return nil, err
	}
	return req, nil
}

func parseMessages(raw json.RawMessage) ([]providers.Message, error) {
	if kind(raw) != '[' {
		return nil, invalid("messages", "must be an array of messages")
	}
	n := 0
	for it := jsonbody.ArrayElements(raw); ; n++ {
		if _, ok := it.Next(); !ok {
			break
		}
	}
	if n == 0 {
		return nil, invalid("messages", "must not be empty")
	}
	msgs := make([]providers.Message, n)
	it := jsonbody.ArrayElements(raw)
	for i := range msgs {
		item, _ := it.Next()
		// Paths are built only for an error's text.
		m, err := parseMessage(item, func() string { return "messages[" + strconv.Itoa(i) + "]" })
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	return msgs, nil
}

// elements splits the JSON array raw (valid JSON) into its elements,
// slices of raw.
func elements(raw json.RawMessage) []json.RawMessage {
	n := 0
	for it := jsonbody.ArrayElements(raw); ; n++ {
		if _, ok := it.Next(); !ok {
			break
		}
	}
	items := make([]json.RawMessage, 0, n)
	for it := jsonbody.ArrayElements(raw); ; {
		el, ok := it.Next()
		if !ok {
			return items
		}
		items = append(items, el)
	}
}

// parseMessage decodes one message; path names it, for errors. Its
// fields are read as a map of them would be (the last of a key twice
// counts), without making one.
func parseMessage(raw json.RawMessage, path func() string) (providers.Message, error) {
	var m providers.Message
	if kind(raw) != '{' {
		return m, invalid(path(), "must be an object")
	}
	var role, content, toolCalls, toolCallID, name json.RawMessage
	for it := jsonbody.ObjectMembers(raw); ; {
		key, val, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case jsonbody.KeyIs(key, "role"):
			role = val
		case jsonbody.KeyIs(key, "content"):
			content = val
		case jsonbody.KeyIs(key, "tool_calls"):
			toolCalls = val
		case jsonbody.KeyIs(key, "tool_call_id"):
			toolCallID = val
		case jsonbody.KeyIs(key, "name"):
			name = val
		}
	}
	var err error
	if role == nil {
		return m, invalid(path()+".role", "required")
	}
	if kind(role) != '"' {
		return m, invalid(path()+".role", "must be a string")
	}
	if m.Role = jsonbody.Unquote(role); m.Role == "" {
		return m, invalid(path()+".role", "must not be empty")
	}
	if content != nil {
		if m.Parts, err = parseContent(content, func() string { return path() + ".content" }); err != nil {
			return m, err
		}
	}
	if toolCalls != nil {
		switch kind(toolCalls) {
		case '[':
			m.ToolCalls = toolCalls
		case 'n':
		default:
			return m, invalid(path()+".tool_calls", "must be an array")
		}
	}
	if m.ToolCallID, err = optStringAt(toolCallID, path, ".tool_call_id"); err != nil {
		return m, err
	}
	if m.Name, err = optStringAt(name, path, ".name"); err != nil {
		return m, err
	}
	return m, nil
}

// optStringAt decodes an optional string field (absent: raw nil) of the
// object at path.
func optStringAt(raw json.RawMessage, path func() string, field string) (string, error) {
	switch kind(raw) {
	case 0, 'n':
		return "", nil
	case '"':
		return jsonbody.Unquote(raw), nil
	}
	return "", invalid(path()+field, "must be a string")
}

// parseContent decodes a message's content: a string, null, or an array of
// parts. It serves upstream answers too, so it is as strict for them.
func parseContent(raw json.RawMessage, path func() string) ([]providers.Part, error) {
	switch kind(raw) {
	case 'n':
		return nil, nil
	case '"':
		return []providers.Part{{Type: "text", Text: jsonbody.Unquote(bytes.TrimSpace(raw))}}, nil
	case '[':
	default:
		return nil, invalid(path(), "must be a string or an array of parts")
	}
	items := elements(raw)
	parts := make([]providers.Part, 0, len(items))
	for i, item := range items {
		p, err := parsePart(item, path()+"["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func parsePart(raw json.RawMessage, path string) (providers.Part, error) {
	var p providers.Part
	fields, err := object(raw, path, "must be an object")
	if err != nil {
		return p, err
	}
	typ, ok := fields["type"]
	if !ok {
		return p, invalid(path+".type", "required")
	}
	if p.Type, err = str(typ, path+".type"); err != nil {
		return p, err
	}
	switch p.Type {
	case "":
		return p, invalid(path+".type", "must not be empty")
	case "text":
		text, ok := fields["text"]
		if !ok {
			return p, invalid(path+".text", "required")
		}
		p.Text, err = str(text, path+".text")
	case "image_url":
		img, ok := fields["image_url"]
		if !ok {
			return p, invalid(path+".image_url", "required")
		}
		var inner map[string]json.RawMessage
		if inner, err = object(img, path+".image_url", "must be an object with a url"); err != nil {
			return p, err
		}
		url, ok := inner["url"]
		if !ok {
			return p, invalid(path+".image_url.url", "required")
		}
		p.URL, err = str(url, path+".image_url.url")
	}
	// Other types (input_audio, file, refusal, ...) pass through in Fields;
	// the canonical form keeps only their type.
	return p, err
}
