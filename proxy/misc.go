package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// requestID is the request's id: the client's X-Request-Id when it sent
// a usable one, else a new random one. It is echoed in the answer.
func requestID(w http.ResponseWriter, r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	return id
}

// handleHealth answers GET /health: the process is up and serving a
// runtime.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":     "ok",
		"uptime_sec": int64(time.Since(s.started).Seconds()),
	})
}

// readyTimeout bounds GET /readyz's checks: an orchestrator's probe must
// get an answer, and a store slower than this is not ready.
const readyTimeout = 2 * time.Second

// handleReady serves GET /readyz: 200 when this replica should get
// traffic (a configuration is loaded, its embedder built, its stores
// reachable), 503 with the reason when it should not, or while it drains
// on shutdown.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	rt := s.runtime(r)
	if rt.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := rt.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// handleMetrics serves GET /metrics: open when the admin endpoints are
// off, behind the admin token or an admin key when they are on (metrics
// name keys, routes and models). 404 when metrics are off or served on a
// listener of their own.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	if rt.MetricsHandler == nil {
		notFound(w, r)
		return
	}
	if a := rt.Admin; a != nil && (a.Token != "" || rt.hasAdminKey()) && !authorized(r, a.Token) && !rt.adminKey(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard admin"`)
		writeOpenAIError(w, &httpError{status: http.StatusUnauthorized, msg: "missing or invalid admin token"})
		return
	}
	rt.MetricsHandler.ServeHTTP(w, r)
}

// handleConsole serves the web console, or a 404 when it is off.
func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	if rt.Console == nil {
		notFound(w, r)
		return
	}
	rt.Console.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
