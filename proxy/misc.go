package proxy

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"time"
)

// requestID is the request's id: the client's X-Request-Id when it sent
// a usable one, else a new random one. It is echoed in the answer.
func requestID(w http.ResponseWriter, r *http.Request) string {
	var id string
	if v := r.Header["X-Request-Id"]; len(v) > 0 {
		id = v[0]
	}
	if id == "" || len(id) > 128 {
		// An id names a request in logs; it guards nothing, so the
		// runtime's fast generator serves (crypto/rand is a syscall).
		var b [8]byte
		var s [16]byte
		binary.LittleEndian.PutUint64(b[:], rand.Uint64())
		hex.Encode(s[:], b[:])
		id = string(s[:])
	}
	w.Header()["X-Request-Id"] = []string{id}
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
