package embed

import (
	"net/http"
	"strings"
	"testing"
)

func newTestOpenAI(t *testing.T, f *fakeServer, apiKey string) *OpenAI {
	t.Helper()
	e, err := NewOpenAI(f.URL+"/v1/", "text-embedding-3-small", apiKey, f.Client(), fast)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenAIOrdersByIndex(t *testing.T) {
	f := serveOpenAI(t, always(reply{reverse: true}))
	in := texts(5)
	got, err := newTestOpenAI(t, f, "").Embed(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	wantVecs(t, got, in)
}

// rawOpenAI serves one fixed body with the given status.
func rawOpenAI(t *testing.T, status int, body string) *fakeServer {
	return serve(t, ok, func(*testing.T, *http.Request) []string { return []string{"?"} },
		func(w http.ResponseWriter, _ reply, _ [][]float32) {
			w.WriteHeader(status)
			w.Write([]byte(body))
		})
}

func TestOpenAIRejectsBadIndexes(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"repeated", `{"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[0,1]}]}`, "response index 0 repeated"},
		{"out of range", `{"data":[{"index":0,"embedding":[1,0]},{"index":2,"embedding":[0,1]}]}`, "response index 2 out of range for 2 vectors"},
		{"negative", `{"data":[{"index":-1,"embedding":[1,0]},{"index":1,"embedding":[0,1]}]}`, "response index -1 out of range"},
		{"not json", `<html>ok</html>`, "decode response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rawOpenAI(t, 200, tt.body)
			_, err := newTestOpenAI(t, f, "").Embed(t.Context(), []string{"a", "b"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if f.requests() != 1 {
				t.Errorf("%d requests, want 1", f.requests())
			}
		})
	}
}

func TestOpenAIErrorMessages(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"openai", 400, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":null,"code":null}}`,
			"status 400: This model's maximum context length is 8192 tokens"},
		{"text-embeddings-inference", 413, `{"error":"batch size 100 > maximum allowed batch size 32","error_type":"validation"}`,
			"status 413: batch size 100 > maximum allowed batch size 32"},
		{"top-level message", 404, `{"message":"model not found"}`, "status 404: model not found"},
		{"plain text from a proxy", 403, "forbidden by policy\n", "status 403: forbidden by policy"},
		{"empty body", 422, "", "status 422"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rawOpenAI(t, tt.status, tt.body)
			_, err := newTestOpenAI(t, f, "").Embed(t.Context(), []string{"a"})
			want := "embed with openai text-embedding-3-small at " + f.URL + "/v1: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("err = %v\nwant  %s", err, want)
			}
		})
	}
}

func TestOpenAISendsBearerKeyOnlyIfGiven(t *testing.T) {
	for _, key := range []string{"sk-secret", ""} {
		f := serveOpenAI(t, ok)
		if _, err := newTestOpenAI(t, f, key).Embed(t.Context(), []string{"a"}); err != nil {
			t.Fatal(err)
		}
		want := ""
		if key != "" {
			want = "Bearer " + key
		}
		f.mu.Lock()
		got, ct := f.hdrs[0].Get("Authorization"), f.hdrs[0].Get("Content-Type")
		f.mu.Unlock()
		if got != want || ct != "application/json" {
			t.Errorf("key %q: Authorization %q, Content-Type %q; want %q, application/json", key, got, ct, want)
		}
	}
}

func TestOpenAIID(t *testing.T) {
	e, err := NewOpenAI("https://api.openai.com/v1/", "text-embedding-3-small", "k", &http.Client{}, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.ID(), "openai:text-embedding-3-small@https://api.openai.com/v1"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
}

func TestNewOpenAIRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name, url, model string
		client           *http.Client
		want             string
	}{
		{"ftp", "ftp://example.com/v1", "m", &http.Client{}, "not an absolute http(s) url"},
		{"no model", "http://localhost:8000/v1", "", &http.Client{}, "no model"},
		{"nil client", "http://localhost:8000/v1", "m", nil, "nil http client"},
	}
	for _, tt := range tests {
		_, err := NewOpenAI(tt.url, tt.model, "", tt.client, RemoteOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "new openai embedder: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
