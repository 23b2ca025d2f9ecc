package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/proxy"
)

// lister is a provider that lists models, or fails with err; it serves
// nothing.
type lister struct {
	mu     sync.Mutex
	models []string
	err    error
}

func (l *lister) ListModels(context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.models, l.err
}

func (l *lister) set(models []string, err error) {
	l.mu.Lock()
	l.models, l.err = models, err
	l.mu.Unlock()
}

func (l *lister) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return nil, errors.New("not called")
}

func (l *lister) Stream(context.Context, *providers.Request, func(providers.Chunk) error) error {
	return errors.New("not called")
}

func catalog(t *testing.T, reg *providers.Registry, named ...any) *providers.Catalog {
	t.Helper()
	var srcs []providers.Source
	for i := 0; i < len(named); i += 2 {
		l := named[i+1].(*lister)
		srcs = append(srcs, providers.Source{Name: named[i].(string), Provider: l, Lister: l})
	}
	c := providers.NewCatalog(srcs, reg, providers.CatalogOptions{})
	t.Cleanup(c.Close)
	return c
}

type modelList struct {
	Object string `json:"object"`
	Data   []struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
	} `json:"data"`
}

func (l modelList) String() string {
	var b []string
	for _, m := range l.Data {
		b = append(b, m.ID+"@"+m.OwnedBy)
	}
	return strings.Join(b, " ")
}

func TestModelsMergesDiscovered(t *testing.T) {
	ollama := &lister{models: []string{"llama3.2:latest", "gpt-4o-mini", "qwen2.5:7b"}}
	vllm := &lister{models: []string{"qwen2.5:7b", "code"}}
	ts, _ := serve(t, &proxy.Runtime{
		Router: &stubRouter{},
		Models: []proxy.ModelInfo{
			{ID: "code", OwnedBy: "switchyard"},
			{ID: "gpt-4o-mini", OwnedBy: "openai"},
		},
		Discovery: catalog(t, nil, "ollama", ollama, "vllm", vllm),
	})
	for _, path := range []string{"/v1/models", "/models"} {
		res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+path, "")
		var list modelList
		if err := json.Unmarshal(res.body, &list); res.status != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %s", path, res.status, res.body)
		}
		// Configured entries first and unchanged; each discovered model
		// once, owned by the first provider listing it; then each as
		// provider/model for every provider listing it (Router-Maestro's
		// names), even where the bare name is a route (vllm/code).
		want := "auto@switchyard code@switchyard gpt-4o-mini@openai llama3.2:latest@ollama qwen2.5:7b@ollama " +
			"ollama/gpt-4o-mini@ollama ollama/llama3.2:latest@ollama ollama/qwen2.5:7b@ollama vllm/code@vllm vllm/qwen2.5:7b@vllm"
		if got := list.String(); list.Object != "list" || got != want {
			t.Errorf("%s: models = %s, want %s", path, got, want)
		}
	}
}

func TestAdminModelsRefresh(t *testing.T) {
	up := &lister{models: []string{"a"}}
	down := &lister{models: []string{"b"}}
	ts, _ := serve(t, &proxy.Runtime{
		Router:    &stubRouter{},
		Admin:     &proxy.Admin{Token: adminToken, Control: &stubControl{}},
		Discovery: catalog(t, nil, "up", up, "down", down),
	})
	post := func() (body struct {
		modelList
		Discovered []providers.DiscoveredModel `json:"discovered"`
		Providers  []providers.SourceStatus    `json:"providers"`
		Errors     map[string]string           `json:"errors"`
	}) {
		t.Helper()
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/models/refresh", "", bearer(adminToken)...)
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		if err := json.Unmarshal(res.body, &body); err != nil {
			t.Fatal(err)
		}
		return body
	}
	if b := post(); b.String() != "auto@switchyard a@up b@down down/b@down up/a@up" || len(b.Errors) != 0 || len(b.Discovered) != 2 {
		t.Fatalf("first refresh: %+v", b)
	}

	up.set([]string{"a", "c"}, nil)
	down.set(nil, errors.New("connection refused"))
	b := post()
	if got, want := b.String(), "auto@switchyard a@up b@down c@up down/b@down up/a@up up/c@up"; got != want {
		t.Errorf("after refresh: models %s, want %s (a failed provider keeps its list)", got, want)
	}
	if b.Errors["down"] != "connection refused" || len(b.Errors) != 1 {
		t.Errorf("errors = %v, want down's", b.Errors)
	}
	if len(b.Providers) != 2 || b.Providers[1].Provider != "down" || b.Providers[1].Models != 1 || b.Providers[1].Error == "" {
		t.Errorf("providers = %+v", b.Providers)
	}

	// Same rules as the other admin endpoints.
	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/models/refresh", "")
	wantAPIError(t, res, http.StatusUnauthorized)
	res = do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/models/refresh", "", bearer(adminToken)...)
	wantAPIError(t, res, http.StatusMethodNotAllowed)
}

func TestAdminModelsRefreshWithoutDiscovery(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}},
		Models: []proxy.ModelInfo{{ID: "m", OwnedBy: "p"}}})
	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/models/refresh", "", bearer(adminToken)...)
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"discovered":[]`) || !strings.Contains(string(res.body), `"id":"m"`) {
		t.Errorf("%d %s", res.status, res.body)
	}
}

func TestAdminProviders(t *testing.T) {
	reg := providers.NewRegistry()
	h := reg.Get(providers.HealthKey{Provider: "openai", Model: "gpt-4o"}, providers.HealthPolicy{MaxFailures: 1})
	now := time.Now()
	h.Report(now, nil, 120*time.Millisecond, false, false)
	h.Report(now, &providers.Error{Provider: "openai", Status: 503, Retryable: true, Err: errors.New("overloaded")}, 80*time.Millisecond, false, false)
	reg.Get(providers.HealthKey{Provider: "anthropic", Model: "claude"}, providers.HealthPolicy{})
	ol := &lister{models: []string{"llama3.2", "qwen"}}
	cat := catalog(t, reg, "ollama", ol)
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}}, Health: reg, Discovery: cat})

	res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/providers", "", bearer(adminToken)...)
	var body struct {
		Targets   []providers.TargetStatus `json:"targets"`
		Discovery []providers.SourceStatus `json:"discovery"`
	}
	if err := json.Unmarshal(res.body, &body); res.status != http.StatusOK || err != nil {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if len(body.Targets) != 2 || body.Targets[0].Provider != "anthropic" || body.Targets[1].Model != "gpt-4o" {
		t.Fatalf("targets = %+v", body.Targets)
	}
	if g := body.Targets[1]; g.State != providers.CircuitOpen || g.Requests != 2 || g.ErrorRate != 0.5 || g.LastError == "" || g.LatencyP50 != 80 {
		t.Errorf("gpt-4o = %+v, want open, 2 requests, half failed", g)
	}
	if len(body.Discovery) != 1 || body.Discovery[0].Provider != "ollama" || body.Discovery[0].Models != 2 || body.Discovery[0].RefreshedAt.IsZero() {
		t.Errorf("discovery = %+v", body.Discovery)
	}

	res = do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/providers", "")
	wantAPIError(t, res, http.StatusUnauthorized)
	res = do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/providers", "", bearer(adminToken)...)
	wantAPIError(t, res, http.StatusMethodNotAllowed)

	// Off, it is an unknown path like the others.
	off, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Health: reg})
	wantAPIError(t, do(t, t.Context(), off.Client(), http.MethodGet, off.URL+"/admin/providers", "", bearer(adminToken)...), http.StatusNotFound)
	wantAPIError(t, do(t, t.Context(), off.Client(), http.MethodPost, off.URL+"/admin/models/refresh", "", bearer(adminToken)...), http.StatusNotFound)
}

func TestAdminProvidersEmpty(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}}})
	res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/providers", "", bearer(adminToken)...)
	if got := strings.TrimSpace(string(res.body)); res.status != http.StatusOK || got != `{"discovery":[],"targets":[]}` {
		t.Errorf("%d %s", res.status, got)
	}
}
