// Package jsonbody reads the JSON bodies clients send: the top-level
// object and typed fields inside it, each failure naming the field's path
// ("messages[1].content") and wrapping providers.ErrInvalidRequest, so a
// handler can answer 400 with the error's text. Every dialect's request
// parser uses it. Beneath it are a validator (Valid) and a scanner that
// slices members and elements out of valid JSON without copying them
// (ObjectMembers, ArrayElements), which the hot paths also read upstream
// answers and stream chunks with, and the writers of a body's re-encoded
// values (AppendCompact, AppendString).
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard-router/switchyard/providers"
)

// FieldError is a client error about one field of a request body.
type FieldError struct {
	Path string // "messages[1].content", or "request body"
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Is makes every FieldError match providers.ErrInvalidRequest.
func (e *FieldError) Is(target error) bool { return target == providers.ErrInvalidRequest }

// Invalid returns a FieldError for path with a formatted message.
func Invalid(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Object decodes a whole request body that must be one JSON object, and
// nothing after it, into its top-level fields, byte for byte.
func Object(body []byte) (map[string]json.RawMessage, error) {
	switch Kind(body) {
	case 0:
		return nil, Invalid("request body", "empty")
	case '{':
	default:
		return nil, Invalid("request body", "must be a JSON object")
	}
	if !Valid(body) {
		var fields map[string]json.RawMessage
		err := json.Unmarshal(body, &fields) // for its message
		return nil, Invalid("request body", "invalid JSON: %s", Message(err))
	}
	return members(body), nil
}

// members decodes the valid JSON object raw into its fields, as
// json.Unmarshal into a map of json.RawMessage does, but with the values
// slices of raw (capped, so that appending to one copies it) rather than
// copies.
func members(raw []byte) map[string]json.RawMessage {
	n := 0
	for it := ObjectMembers(raw); ; n++ {
		if _, _, ok := it.Next(); !ok {
			break
		}
	}
	fields := make(map[string]json.RawMessage, n)
	for it := ObjectMembers(raw); ; {
		key, val, ok := it.Next()
		if !ok {
			return fields
		}
		fields[Unquote(key)] = val
	}
}

// Unquote decodes the JSON string raw (quotes included; valid JSON), as
// encoding/json does.
func Unquote(raw []byte) string {
	if Plain(raw) {
		return intern(raw[1 : len(raw)-1])
	}
	return string(AppendUnquoted(nil, raw))
}

// Kind returns the first byte of a JSON value, which names its type: '{',
// '[', '"', 't', 'f', 'n', or a digit or '-' for a number; 0 for nothing.
// raw must be valid JSON, as every value out of json.Unmarshal is.
func Kind(raw json.RawMessage) byte {
	if i := skipSpace(raw, 0); i < len(raw) {
		return raw[i]
	}
	return 0
}

// Fields decodes raw, which must be a JSON object, into its fields; msg
// says what path should have been.
func Fields(raw json.RawMessage, path, msg string) (map[string]json.RawMessage, error) {
	if Kind(raw) != '{' {
		return nil, Invalid(path, "%s", msg)
	}
	if !Valid(raw) {
		var m map[string]json.RawMessage
		err := json.Unmarshal(raw, &m) // for its message
		return nil, Invalid(path, "%s", Message(err))
	}
	return members(raw), nil
}

// String decodes raw, which must be a JSON string.
func String(raw json.RawMessage, path string) (string, error) {
	if Kind(raw) != '"' {
		return "", Invalid(path, "must be a string")
	}
	if Valid(raw) {
		return Unquote(bytes.TrimSpace(raw)), nil
	}
	var s string
	err := json.Unmarshal(raw, &s) // for its message
	return "", Invalid(path, "%s", Message(err))
}

// OptString is String that takes null for "".
func OptString(raw json.RawMessage, path string) (string, error) {
	if Kind(raw) == 'n' {
		return "", nil
	}
	return String(raw, path)
}

// Message turns encoding/json's errors into text for the client, without
// Go type names.
func Message(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (offset %d)", se, se.Offset)
	}
	var ue *json.UnmarshalTypeError
	if errors.As(err, &ue) {
		return "unexpected " + ue.Value
	}
	return err.Error()
}

// intern returns b as a string, without an allocation for the keys every
// chat request has and the roles of its messages.
func intern(b []byte) string {
	switch string(b) { // compiled without converting b
	case "model":
		return "model"
	case "messages":
		return "messages"
	case "role":
		return "role"
	case "content":
		return "content"
	case "stream":
		return "stream"
	case "stream_options":
		return "stream_options"
	case "max_tokens":
		return "max_tokens"
	case "temperature":
		return "temperature"
	case "type":
		return "type"
	case "text":
		return "text"
	case "tools":
		return "tools"
	case "tool_calls":
		return "tool_calls"
	case "system":
		return "system"
	case "user": // roles, the values every message has
		return "user"
	case "assistant":
		return "assistant"
	case "developer":
		return "developer"
	case "tool":
		return "tool"
	}
	return string(b)
}

// FieldsOf is Fields for raw known to be valid JSON (a value out of
// Object, Fields or FieldsOf): it is not validated again, which would
// cost a pass over it per level of nesting.
func FieldsOf(raw json.RawMessage, path, msg string) (map[string]json.RawMessage, error) {
	if Kind(raw) != '{' {
		return nil, Invalid(path, "%s", msg)
	}
	return members(raw), nil
}

// StringOf is String for raw known to be valid JSON (see FieldsOf).
func StringOf(raw json.RawMessage, path string) (string, error) {
	if Kind(raw) != '"' {
		return "", Invalid(path, "must be a string")
	}
	return Unquote(bytes.TrimSpace(raw)), nil
}

// OptStringOf is StringOf that takes null for "".
func OptStringOf(raw json.RawMessage, path string) (string, error) {
	if Kind(raw) == 'n' {
		return "", nil
	}
	return StringOf(raw, path)
}
