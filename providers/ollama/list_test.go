package ollama

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// tags serves /api/tags with status and body, and counts the requests.
func tags(t *testing.T, status int, body string) (*Client, *int) {
	t.Helper()
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/tags" {
			t.Errorf("request %s %s, want GET /api/tags", r.Method, r.URL.Path)
		}
		n++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return New("local", srv.URL, srv.Client()), &n
}

func TestListModels(t *testing.T) {
	c, n := tags(t, http.StatusOK, `{"models":[
		{"name":"llama3.2:latest","model":"llama3.2:latest","size":2019393189,"digest":"a80c4f17"},
		{"name":"qwen2.5-coder:7b","model":"qwen2.5-coder:7b"},
		{"name":"","model":"phi4:latest"}]}`)
	got, err := c.ListModels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"llama3.2:latest", "qwen2.5-coder:7b", "phi4:latest"}
	if !slices.Equal(got, want) {
		t.Errorf("models = %q, want %q", got, want)
	}
	if *n != 1 {
		t.Errorf("requests = %d, want 1", *n)
	}
}

func TestListModelsEmpty(t *testing.T) {
	c, _ := tags(t, http.StatusOK, `{"models":[]}`)
	got, err := c.ListModels(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("ListModels = %q, %v; want none, nil", got, err)
	}
}

func TestListModelsErrors(t *testing.T) {
	c, _ := tags(t, http.StatusInternalServerError, `{"error":"something broke"}`)
	_, err := c.ListModels(t.Context())
	wantError(t, err, http.StatusInternalServerError, true, "something broke")

	c = New("local", "localhost:11434", nil)
	if _, err := c.ListModels(t.Context()); err == nil {
		t.Error("bad base URL: no error")
	}
}

func TestListModelsRefused(t *testing.T) {
	c := New("local", providertest.Refused(t), nil)
	_, err := c.ListModels(t.Context())
	if !providers.Retryable(err) {
		t.Errorf("err = %v, want a retryable transport error", err)
	}
}
