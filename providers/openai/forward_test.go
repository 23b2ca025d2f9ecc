package openai_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/openai"
)

func TestParseForward(t *testing.T) {
	tests := []struct {
		body       string
		wantModel  string
		wantStream bool
		wantErr    string
	}{
		{`{"model":"m","input":"x"}`, "m", false, ""},
		{`{"model":"m","prompt":"x","stream":true,"n":2}`, "m", true, ""},
		{`{"model":"m","stream":null}`, "m", false, ""},
		{`{"input":"x"}`, "", false, "model: required"},
		{`{"model":"AUTO"}`, "", false, "not routed semantically"},
		{`{"model":""}`, "", false, "not routed semantically"},
		{`{"model":5}`, "", false, "model"},
		{`{"model":"m","stream":"yes"}`, "", false, "stream: must be a boolean"},
		{`[]`, "", false, ""},
		{`{"model":"m"} {}`, "", false, ""},
	}
	for _, tt := range tests {
		req, err := openai.ParseForward(strings.NewReader(tt.body), "/embeddings")
		switch {
		case tt.wantModel == "" && err == nil:
			t.Errorf("%s: accepted", tt.body)
		case tt.wantModel == "":
			if !errors.Is(err, openai.ErrInvalidRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want an invalid request saying %q", tt.body, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.body, err)
		case req.Model != tt.wantModel || req.Stream != tt.wantStream || req.Path != "/embeddings":
			t.Errorf("%s: got %+v", tt.body, req)
		}
	}
}

func FuzzParseForward(f *testing.F) {
	for _, s := range []string{`{"model":"m","input":["a"]}`, `{"model":"m","prompt":"p","stream":true}`, `{"model":"auto"}`, `{}`, `[`, `{"model":"m","stream":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.ParseForward(strings.NewReader(string(body)), "/completions")
		if err != nil {
			if !errors.Is(err, openai.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if req.Model == "" || strings.EqualFold(req.Model, "auto") {
			t.Fatalf("accepted model %q", req.Model)
		}
		if _, err := json.Marshal(req.Body); err != nil {
			t.Fatalf("fields do not re-encode: %v", err)
		}
	})
}

func TestForwardedUsage(t *testing.T) {
	tests := []struct {
		data               string
		prompt, completion int
		none               bool
	}{
		{`{"object":"list","usage":{"prompt_tokens":6,"total_tokens":6}}`, 6, 0, false},
		{`{"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`, 5, 2, false},
		{`{"type":"response.completed","response":{"usage":{"input_tokens":9,"output_tokens":3}}}`, 9, 3, false},
		{`{"usage":null}`, 0, 0, true},
		{`{"choices":[]}`, 0, 0, true},
		{`[DONE]`, 0, 0, true},
	}
	for _, tt := range tests {
		u := openai.ForwardedUsage([]byte(tt.data))
		if tt.none != (u == nil) || u != nil && (u.PromptTokens != tt.prompt || u.CompletionTokens != tt.completion || u.TotalTokens != tt.prompt+tt.completion) {
			t.Errorf("ForwardedUsage(%s) = %+v", tt.data, u)
		}
	}
}
