// Package proxy owns switchyard's HTTP API: the gorilla/mux routes, the
// handlers that put parsing, routing, the provider chain and encoding in
// order, server-sent events, and the one mapping from errors to HTTP
// statuses. The configuration in force is a Runtime swapped atomically, so
// a request sees one consistent configuration from start to end.
package proxy

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// Router is what the proxy needs from routing (stubbed in handler tests).
type Router interface {
	Decide(ctx context.Context, req *providers.Request) (router.Decision, error)
}

// Runtime is one configuration's worth of request-serving state. It is
// immutable once passed to NewServer or Swap.
type Runtime struct {
	Router Router
	// MaxBody bounds request bodies in bytes; 0 means 4 MiB.
	MaxBody int64
	// Models lists what GET /v1/models reports: route names and served
	// model names, in order.
	Models []ModelInfo
	// Admin turns on the /admin endpoints; nil leaves them off (404).
	Admin *Admin
	// Health holds the circuit breakers of every target, for GET
	// /admin/providers; nil reports none.
	Health *providers.Registry
	// Discovery lists the models discovering providers serve, for GET
	// /v1/models (after Models), POST /admin/models/refresh and GET
	// /admin/providers; nil when no provider discovers.
	Discovery *providers.Catalog
}

// ModelInfo is one entry of GET /v1/models.
type ModelInfo struct {
	ID      string
	OwnedBy string // "switchyard" for auto and routes, else the provider
}

// Server serves the API. Handlers load the Runtime once per request.
type Server struct {
	log     zerolog.Logger
	rt      atomic.Pointer[Runtime]
	started time.Time
}

// NewServer returns a server running rt.
func NewServer(log zerolog.Logger, rt *Runtime) *Server {
	s := &Server{log: log, started: time.Now()}
	s.rt.Store(rt)
	return s
}

// Swap installs a new runtime; requests already running finish on the one
// they started with.
func (s *Server) Swap(rt *Runtime) { s.rt.Store(rt) }

// Handler returns the whole API.
func (s *Server) Handler() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/v1/chat/completions", s.handleOpenAIChat).Methods(http.MethodPost)
	r.HandleFunc("/chat/completions", s.handleOpenAIChat).Methods(http.MethodPost)
	r.HandleFunc("/v1/messages", s.handleAnthropicMessages).Methods(http.MethodPost)
	r.HandleFunc("/anthropic/v1/messages", s.handleAnthropicMessages).Methods(http.MethodPost)
	r.HandleFunc("/v1/messages/count_tokens", s.handleCountTokens).Methods(http.MethodPost)
	r.HandleFunc("/anthropic/v1/messages/count_tokens", s.handleCountTokens).Methods(http.MethodPost)
	r.HandleFunc("/v1/models", s.handleModels).Methods(http.MethodGet)
	r.HandleFunc("/models", s.handleModels).Methods(http.MethodGet)
	r.HandleFunc("/health", s.handleHealth).Methods(http.MethodGet)
	r.PathPrefix("/admin/").HandlerFunc(s.handleAdmin) // methods checked inside: see handleAdmin
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := &httpError{status: http.StatusMethodNotAllowed, msg: "method " + r.Method + " is not allowed on " + r.URL.Path}
		if isAnthropicPath(r.URL.Path) {
			writeAnthropicError(w, err)
			return
		}
		writeOpenAIError(w, err)
	})
	// Wrapping the whole router (not r.Use) gives 404s and 405s a request
	// id and logger too: mux runs middleware only on matched routes.
	return s.withRequestLogger(r)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	err := &httpError{status: http.StatusNotFound, msg: "no such endpoint: " + r.Method + " " + r.URL.Path}
	if isAnthropicPath(r.URL.Path) {
		writeAnthropicError(w, err)
		return
	}
	writeOpenAIError(w, err)
}

func (s *Server) runtime() *Runtime { return s.rt.Load() }

func (rt *Runtime) maxBody() int64 {
	if rt.MaxBody > 0 {
		return rt.MaxBody
	}
	return 4 << 20
}
