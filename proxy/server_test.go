package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

func TestUnknownEndpoints(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	tests := []struct {
		method, path string
		wantStatus   int
		wantMsg      string
	}{
		{http.MethodGet, "/v2/chat", http.StatusNotFound, "no such endpoint: GET /v2/chat"},
		{http.MethodPost, "/v1/images/generations", http.StatusNotFound, "no such endpoint: POST /v1/images/generations"},
		{http.MethodGet, "/v1/embeddings", http.StatusMethodNotAllowed, "method GET is not allowed on /v1/embeddings"},
		{http.MethodGet, "/", http.StatusNotFound, "no such endpoint"},
		{http.MethodGet, "/v1/chat/completions", http.StatusMethodNotAllowed, "method GET is not allowed on /v1/chat/completions"},
		{http.MethodPut, "/chat/completions", http.StatusMethodNotAllowed, "method PUT is not allowed"},
		{http.MethodPost, "/health", http.StatusMethodNotAllowed, "method POST is not allowed on /health"},
		{http.MethodDelete, "/v1/models", http.StatusMethodNotAllowed, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := do(t, t.Context(), ts.Client(), tt.method, ts.URL+tt.path, "")
			e := wantAPIError(t, res, tt.wantStatus)
			if !strings.Contains(e.Error.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Error.Message, tt.wantMsg)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/health", "")
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /health = %d %q, body %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	var h struct {
		Status    string `json:"status"`
		UptimeSec *int64 `json:"uptime_sec"`
	}
	if err := json.Unmarshal(res.body, &h); err != nil || h.Status != "ok" || h.UptimeSec == nil || *h.UptimeSec < 0 {
		t.Errorf("body = %s (%v), want status ok and an uptime", res.body, err)
	}
}

func TestModels(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Models: []proxy.ModelInfo{
		{ID: "code", OwnedBy: "switchyard"},
		{ID: "gpt-4o-mini", OwnedBy: "openai"},
	}})
	for _, path := range []string{"/v1/models", "/models"} {
		t.Run(path, func(t *testing.T) {
			res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+path, "")
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, body %s", res.status, res.body)
			}
			var list struct {
				Object string `json:"object"`
				Data   []struct {
					ID      string `json:"id"`
					Object  string `json:"object"`
					Created int64  `json:"created"`
					OwnedBy string `json:"owned_by"`
				} `json:"data"`
			}
			if err := json.Unmarshal(res.body, &list); err != nil {
				t.Fatal(err)
			}
			if list.Object != "list" {
				t.Errorf("object = %q, want list", list.Object)
			}
			var got []string
			for _, m := range list.Data {
				got = append(got, m.ID+"@"+m.OwnedBy)
				if m.Object != "model" || m.Created <= 0 {
					t.Errorf("model %+v: want object model and a created time", m)
				}
			}
			if want := "auto@switchyard code@switchyard gpt-4o-mini@openai"; strings.Join(got, " ") != want {
				t.Errorf("models = %v, want %s", got, want)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", providertest.OpenAI(t)))}})
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	get := func(path, body string, header ...string) string {
		t.Helper()
		method := http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
		res := do(t, t.Context(), ts.Client(), method, ts.URL+path, body, header...)
		return res.header.Get("X-Request-Id")
	}

	if got := get("/health", "", "X-Request-Id", "client-req-42"); got != "client-req-42" {
		t.Errorf("health: X-Request-Id = %q, want the client's", got)
	}
	if got := get("/v1/chat/completions", chatBody, "X-Request-Id", "client-req-43"); got != "client-req-43" {
		t.Errorf("chat: X-Request-Id = %q, want the client's", got)
	}
	a, b := get("/health", ""), get("/v1/chat/completions", chatBody)
	if !generated.MatchString(a) || !generated.MatchString(b) || a == b {
		t.Errorf("generated ids %q, %q: want two distinct 16-hex-digit ids", a, b)
	}
	if got := get("/health", "", "X-Request-Id", strings.Repeat("x", 129)); !generated.MatchString(got) {
		t.Errorf("a 129-byte client id gave %q, want a generated one", got)
	}
	// Unmatched paths and methods go through the logger too.
	if got := get("/nope", "", "X-Request-Id", "client-req-44"); got != "client-req-44" {
		t.Errorf("404: X-Request-Id = %q, want the client's", got)
	}
	if got := get("/v1/chat/completions", ""); !generated.MatchString(got) {
		t.Errorf("405: X-Request-Id = %q, want a generated one", got)
	}
}

// TestSwap: a request runs on the runtime it started with, however long it
// takes; requests that start after Swap see the new one.
func TestSwap(t *testing.T) {
	oldUp := providertest.OpenAI(t, providertest.Script{Text: "from old"})
	newUp := providertest.OpenAI(t, providertest.Script{Text: "from new"})
	entered, release := make(chan struct{}), make(chan struct{})
	oldDec, newDec := routed(target("old", oldUp)), routed(target("new", newUp))
	oldDec.Route, newDec.Route = "old-route", "new-route"
	ts, srv := serve(t, &proxy.Runtime{Router: &stubRouter{dec: oldDec, entered: entered, release: release}})

	slow := make(chan result, 1)
	go func() {
		// Not do: t.Fatal must not run off the test's goroutine.
		resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
		if err != nil {
			slow <- result{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			b = []byte(err.Error())
		}
		slow <- result{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	select {
	case <-entered:
	case <-t.Context().Done():
		t.Fatal("the first request never reached the router")
	}

	srv.Swap(&proxy.Runtime{Router: &stubRouter{dec: newDec}})
	fresh := chat(t, ts, chatBody)
	close(release)
	first := <-slow

	if fresh.status != http.StatusOK || fresh.header.Get(proxy.HeaderRoute) != "new-route" || !strings.Contains(string(fresh.body), "from new") {
		t.Errorf("request after Swap: %d %s %s; want the new runtime", fresh.status, fresh.header.Get(proxy.HeaderRoute), fresh.body)
	}
	if first.status != http.StatusOK || first.header.Get(proxy.HeaderRoute) != "old-route" || !strings.Contains(string(first.body), "from old") {
		t.Errorf("in-flight request: %d %s %s; want it to finish on the old runtime", first.status, first.header.Get(proxy.HeaderRoute), first.body)
	}
	if oldUp.Requests() != 1 || newUp.Requests() != 1 {
		t.Errorf("upstream requests: old %d, new %d; want 1 each", oldUp.Requests(), newUp.Requests())
	}
}
