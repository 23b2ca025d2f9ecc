package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

const adminToken = "s3cret-admin-token"

// stubControl answers Status with status and Reload with res and err.
type stubControl struct {
	status  proxy.Status
	res     proxy.ReloadResult
	err     error
	reloads atomic.Int32
}

func (c *stubControl) Reload(ctx context.Context) (proxy.ReloadResult, error) {
	c.reloads.Add(1)
	return c.res, c.err
}

func (c *stubControl) Status() proxy.Status { return c.status }

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAdminOffIsNotFound(t *testing.T) {
	for name, admin := range map[string]*proxy.Admin{
		"no admin": nil,
		"no token": {Control: &stubControl{}},
	} {
		t.Run(name, func(t *testing.T) {
			ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: admin})
			unknown := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/no/such/path", "")
			wantAPIError(t, unknown, http.StatusNotFound)
			for _, tc := range []struct{ method, path string }{
				{http.MethodGet, "/admin/status"},
				{http.MethodPost, "/admin/status"},
				{http.MethodPost, "/admin/reload"},
				{http.MethodGet, "/admin/reload"},
				{http.MethodPost, "/admin/explain"},
			} {
				res := do(t, t.Context(), ts.Client(), tc.method, ts.URL+tc.path, chatBody, bearer(adminToken)...)
				e := wantAPIError(t, res, http.StatusNotFound)
				if !strings.Contains(e.Error.Message, "no such endpoint") {
					t.Errorf("%s %s: message %q, want the unknown-path one", tc.method, tc.path, e.Error.Message)
				}
			}
		})
	}
}

func TestAdminAuth(t *testing.T) {
	ctl := &stubControl{}
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: ctl}})
	for name, header := range map[string][]string{
		"none":        nil,
		"wrong":       bearer("not-the-token"),
		"prefix":      bearer(adminToken[:5]),
		"basic":       {"Authorization", "Basic " + adminToken},
		"bare token":  {"Authorization", adminToken},
		"token+extra": bearer(adminToken + "x"),
	} {
		for _, path := range []string{"/admin/status", "/admin/reload", "/admin/nope"} {
			res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, "", header...)
			wantAPIError(t, res, http.StatusUnauthorized)
			if res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: no WWW-Authenticate", name, path)
			}
		}
	}
	if n := ctl.reloads.Load(); n != 0 {
		t.Errorf("unauthorised requests ran %d reloads", n)
	}
	res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/status", "", "Authorization", "bearer "+adminToken)
	if res.status != http.StatusOK {
		t.Errorf("lower-case scheme: status %d, want 200", res.status)
	}
	wantAPIError(t, do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/nope", "", bearer(adminToken)...), http.StatusNotFound)
	wantAPIError(t, do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/reload", "", bearer(adminToken)...), http.StatusMethodNotAllowed)
}

func TestAdminStatus(t *testing.T) {
	loaded := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctl := &stubControl{status: proxy.Status{
		ConfigPath: "/etc/switchyard.yaml", LoadedAt: loaded, Generation: 3,
		LastReload: &proxy.ReloadResult{Time: loaded, Trigger: "file", OK: false, Generation: 3, Errors: []string{"routes[0].name: required"}},
		Routes:     []string{"code", "chat"}, Embedder: "local/all-MiniLM-L6-v2",
		Cache: &proxy.CacheStats{Hits: 7, Misses: 2},
	}}
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: ctl}})
	res := do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/admin/status", "", bearer(adminToken)...)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var got map[string]any
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"config_path", "loaded_at", "generation", "last_reload", "routes", "embedder", "cache"} {
		if _, ok := got[key]; !ok {
			t.Errorf("status lacks %q: %s", key, res.body)
		}
	}
	last := got["last_reload"].(map[string]any)
	if last["ok"] != false || len(last["errors"].([]any)) != 1 {
		t.Errorf("last_reload = %v", last)
	}
	proc, _ := got["process"].(map[string]any)
	if g, _ := proc["goroutines"].(float64); g < 1 || proc["heap_bytes"].(float64) <= 0 {
		t.Errorf("process = %v", proc)
	}
	if runtime.GOOS == "linux" && proc["rss_bytes"].(float64) <= 0 {
		t.Errorf("no RSS on linux: %v", proc)
	}
}

func TestAdminReload(t *testing.T) {
	ok := &stubControl{res: proxy.ReloadResult{OK: true, Trigger: "admin", Generation: 2}}
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: ok}})
	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/reload", "", bearer(adminToken)...)
	var r proxy.ReloadResult
	if res.status != http.StatusOK || json.Unmarshal(res.body, &r) != nil || !r.OK || r.Generation != 2 {
		t.Errorf("reload: %d %s", res.status, res.body)
	}

	problems := []string{"routes[1].targets[0].provider: unknown provider \"opnai\"", "routing.top_k: must be at least 1"}
	bad := &stubControl{res: proxy.ReloadResult{Trigger: "admin", Generation: 1, Errors: problems}, err: errors.New("invalid config")}
	ts, _ = serve(t, &proxy.Runtime{Router: &stubRouter{}, Admin: &proxy.Admin{Token: adminToken, Control: bad}})
	res = do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/reload", "", bearer(adminToken)...)
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", res.status, res.body)
	}
	var body struct {
		Error struct{ Message, Type string }
		proxy.ReloadResult
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Message == "" || body.OK || len(body.Errors) != 2 || body.Errors[0] != problems[0] {
		t.Errorf("422 body = %s", res.body)
	}
}

func TestAdminExplain(t *testing.T) {
	up := providertest.OpenAI(t)
	m := classifier.Match{Route: "code", Score: 0.71, Cleared: true, Margin: 0.2, Scores: []classifier.Score{
		{Route: "code", Score: 0.71, Threshold: 0.4, Nearest: "fix this stack trace"},
		{Route: "math", Score: 0.51, Threshold: 0.35, Nearest: "solve for x"},
	}}
	dec := router.Decision{
		Route: "code", DecidedBy: router.ByEmbedding, Score: 0.71, Match: &m, Text: "my program panics",
		Chain: &providers.Chain{Targets: []providers.Target{target("up", up), target("backup", up)}},
		Took:  1500 * time.Microsecond,
	}
	stub := &stubRouter{dec: dec}
	ts, _ := serve(t, &proxy.Runtime{Router: stub, Admin: &proxy.Admin{Token: adminToken, Control: &stubControl{}}})

	res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/explain",
		`{"model":"auto","stream":true,"messages":[{"role":"user","content":"my program panics"}]}`, bearer(adminToken)...)
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var got struct {
		Route, DecidedBy, Text string
		Score                  float64
		Margin                 *float64
		Scores                 []struct {
			Route            string
			Score, Threshold float64
			Nearest          string
		}
		Chain      []string
		DecisionMS float64 `json:"decision_ms"`
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Route != "code" || got.Score != 0.71 || got.Margin == nil || *got.Margin != 0.2 || got.Text != "my program panics" {
		t.Errorf("explain = %s", res.body)
	}
	if len(got.Scores) != 2 || got.Scores[1].Route != "math" || got.Scores[1].Threshold != 0.35 || got.Scores[0].Nearest != "fix this stack trace" {
		t.Errorf("scores = %+v", got.Scores)
	}
	if strings.Join(got.Chain, ",") != "up/fake-model,backup/fake-model" {
		t.Errorf("chain = %v", got.Chain)
	}
	if got.DecisionMS != 1.5 {
		t.Errorf("decision_ms = %v, want 1.5", got.DecisionMS)
	}
	if !strings.Contains(string(res.body), `"decided_by":"embedding"`) {
		t.Errorf("no decided_by in %s", res.body)
	}
	if n := up.Requests(); n != 0 {
		t.Errorf("explain called the upstream %d times", n)
	}

	// Errors are the chat endpoint's: a bad body is 400, no route is 404.
	wantAPIError(t, do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/explain", `{"messages":`, bearer(adminToken)...), http.StatusBadRequest)
	stub.err = router.ErrNoRoute
	wantAPIError(t, do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/admin/explain", chatBody, bearer(adminToken)...), http.StatusNotFound)
}
