package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/proxy"
)

// TestProbes: /healthz is up while the process is; /readyz follows the
// runtime's stores and turns 503 once the server drains.
func TestProbes(t *testing.T) {
	var down error
	rt := &proxy.Runtime{Router: &stubRouter{}, Ready: func(context.Context) error { return down }}
	ts, srv := serve(t, rt)
	get := func(path string) result {
		t.Helper()
		return do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+path, "")
	}
	if r := get("/healthz"); r.status != http.StatusOK {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := get("/readyz"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"ready"`) {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
	down = errors.New("usage store: connection refused")
	if r := get("/readyz"); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "connection refused") {
		t.Errorf("/readyz with the store down: %d %s", r.status, r.body)
	}
	down = nil
	srv.Drain()
	if r := get("/readyz"); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "draining") {
		t.Errorf("/readyz while draining: %d %s", r.status, r.body)
	}
	if r := get("/healthz"); r.status != http.StatusOK {
		t.Errorf("/healthz while draining: %d", r.status)
	}
	if r := get("/metrics"); r.status != http.StatusNotFound {
		t.Errorf("/metrics with metrics off: %d", r.status)
	}
}
