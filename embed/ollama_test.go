package embed

import (
	"net/http"
	"strings"
	"testing"
)

func TestOllamaErrorNamesServerStatusAndMessage(t *testing.T) {
	f := serveOllama(t, always(reply{status: 404, msg: `model "nomic-embed-text" not found, try pulling it first`}))
	e, err := NewOllama(f.URL+"/", "nomic-embed-text", f.Client(), fast)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(t.Context(), []string{"hello"})
	want := `embed with ollama nomic-embed-text at ` + f.URL + `: status 404: model "nomic-embed-text" not found, try pulling it first`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestOllamaID(t *testing.T) {
	e, err := NewOllama("http://gpu-box:11434/", "nomic-embed-text", &http.Client{}, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.ID(), "ollama:nomic-embed-text@http://gpu-box:11434"; got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
}

func TestOllamaUndecodableResponseIsNotRetried(t *testing.T) {
	f := serve(t, ok, func(*testing.T, *http.Request) []string { return []string{"a"} },
		func(w http.ResponseWriter, _ reply, _ [][]float32) { w.Write([]byte(`{"embeddings": "nope"}`)) })
	e, err := NewOllama(f.URL, "m", f.Client(), fast)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(t.Context(), []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "decode response") {
		t.Errorf("err = %v, want a decode error", err)
	}
	if f.requests() != 1 {
		t.Errorf("%d requests, want 1", f.requests())
	}
}

func TestNewOllamaRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name, url, model string
		client           *http.Client
		want             string
	}{
		{"relative url", "localhost:11434", "m", &http.Client{}, "not an absolute http(s) url"},
		{"no host", "http://", "m", &http.Client{}, "not an absolute http(s) url"},
		{"no model", "http://localhost:11434", "", &http.Client{}, "no model"},
		{"nil client", "http://localhost:11434", "m", nil, "nil http client"},
	}
	for _, tt := range tests {
		_, err := NewOllama(tt.url, tt.model, tt.client, RemoteOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "new ollama embedder: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
