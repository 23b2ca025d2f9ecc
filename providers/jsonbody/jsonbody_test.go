package jsonbody_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
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

// FuzzObject checks that Object makes of a body what json.Unmarshal into
// a map of json.RawMessage makes of it, values compacted alike.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		` { "a" : 1 , "a" : [ 2 , { "b" : "}" } ] , "c\u0041" : "\"" } `,
		`{"k` + "\xff" + `":null,"\ud800":"x"}`, `{}`, `{"a":}`, `[1]`, `{"a":1} x`, `"s"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := jsonbody.Object(body)
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(body, &want)
		if jsonbody.Kind(body) != '{' {
			if err == nil {
				t.Fatalf("%q: no error", body)
			}
			return
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, json.Unmarshal's %v", body, err, wantErr)
		}
		if err != nil {
			if want := "request body: invalid JSON: " + jsonbody.Message(wantErr); err.Error() != want {
				t.Fatalf("%q: error %q, want %q", body, err, want)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d fields, want %d", body, len(got), len(want))
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(bytes.TrimSpace(g), bytes.TrimSpace(v)) {
				t.Fatalf("%q: field %q = %q, want %q", body, k, g, v)
			}
		}
	})
}

// FuzzValid checks Valid against json.Valid.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-0.5e+3,true,false,null,"\u00e9\n\"",{}],"b":{"c":[]}}`, ` [ ] `, `01`, `1.`, `-`, `1e`, `"\x"`, "\"\x01\"",
		`{"a" 1}`, `{"a":1,}`, `[1,]`, `nul`, `"\ud800"`, `"\u12g4"`, "\"\xff\"", `{}{}`, `1 2`, `[[[[]]]]`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := jsonbody.Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
