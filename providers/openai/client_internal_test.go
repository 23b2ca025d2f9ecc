package openai

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.openai.com/v1":                     "https://api.openai.com/v1",
		"https://api.openai.com/v1/":                    "https://api.openai.com/v1",
		"http://127.0.0.1:8000":                         "http://127.0.0.1:8000/v1",
		"http://127.0.0.1:8000/":                        "http://127.0.0.1:8000",
		"http://h/openai/v1/chat/completions":           "http://h/openai/v1",
		"https://gateway.example/proxy/openai":          "https://gateway.example/proxy/openai",
		"https://x.example/v1/chat/completions/":        "https://x.example/v1",
		"http://127.0.0.1:11434/v1?api-version=2024-10": "http://127.0.0.1:11434/v1?api-version=2024-10",
	} {
		if got := BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExcludeParams(t *testing.T) {
	req := &providers.Request{Model: "m", Fields: map[string]json.RawMessage{
		"model": json.RawMessage(`"auto"`), "messages": json.RawMessage(`[]`),
		"thinking": json.RawMessage(`{"type":"enabled"}`), "temperature": json.RawMessage(`0.2`),
	}}
	b, err := requestBody(req, false, []string{"thinking", "model", "messages", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["thinking"]; ok || string(got["model"]) != `"m"` || got["messages"] == nil || string(got["temperature"]) != "0.2" {
		t.Errorf("body %s", b)
	}
}
