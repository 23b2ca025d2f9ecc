package jsonbody_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
)

func TestObject(t *testing.T) {
	for body, want := range map[string]string{
		"":                  "request body: empty",
		"  ":                "request body: empty",
		"[1]":               "request body: must be a JSON object",
		`{"a":1} {"b":2}`:   "request body: invalid JSON: invalid character '{' after top-level value (offset 9)",
		`{"a":"x"`:          "request body: invalid JSON: unexpected end of JSON input (offset 8)",
		`{"a":1,"b":[2]}`:   "",
		" \n{\"a\":null}\t": "",
	} {
		f, err := jsonbody.Object([]byte(body))
		switch {
		case want == "" && err != nil:
			t.Errorf("Object(%q): %v", body, err)
		case want != "" && (err == nil || err.Error() != want || !errors.Is(err, providers.ErrInvalidRequest)):
			t.Errorf("Object(%q) = %v, want %q wrapping ErrInvalidRequest", body, err, want)
		case want == "" && len(f) == 0:
			t.Errorf("Object(%q) lost its fields", body)
		}
	}
}

func TestTypedFields(t *testing.T) {
	if s, err := jsonbody.String(json.RawMessage(`"hi"`), "x"); s != "hi" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}
	if _, err := jsonbody.String(json.RawMessage(`3`), "messages[0].role"); err == nil || err.Error() != "messages[0].role: must be a string" {
		t.Errorf("String(3) = %v", err)
	}
	if s, err := jsonbody.OptString(json.RawMessage(`null`), "x"); s != "" || err != nil {
		t.Errorf("OptString(null) = %q, %v", s, err)
	}
	if _, err := jsonbody.Fields(json.RawMessage(`[]`), "metadata", "must be an object"); err == nil || err.Error() != "metadata: must be an object" {
		t.Errorf("Fields([]) = %v", err)
	}
	var typeErr error = &json.UnmarshalTypeError{Value: "number"}
	if got := jsonbody.Message(typeErr); got != "unexpected number" {
		t.Errorf("Message = %q", got)
	}
	if k := jsonbody.Kind(json.RawMessage(" \t-1")); k != '-' {
		t.Errorf("Kind = %q", k)
	}
}
