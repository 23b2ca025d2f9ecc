// Package proxy owns switchyard's HTTP API: the gorilla/mux routes, the
// handlers that put parsing, routing, the provider chain and encoding in
// order, server-sent events, and the one mapping from errors to HTTP
// statuses. The configuration in force is a Runtime swapped atomically, so
// a request sees one consistent configuration from start to end.
package proxy

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/usage"
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
	// ReadTimeout bounds reading a request's body, from the start of its
	// handler; 0 means no bound but the server's own.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a non-streamed answer, and each event of
	// a stream; 0 means no bound.
	WriteTimeout time.Duration
	// Keys, when it holds any key, makes every API request carry one of
	// them (auth.FromRequest); nil or empty leaves the API open. Its ring
	// changes as keys are created and revoked at run time.
	Keys *auth.Live
	// Limits applies the keys' request and token limits; nil = none. One
	// Limiter outlives reloads, so the counts do too.
	Limits *auth.Limiter
	// Usage, if set, gets one row per chat request; Prices prices them.
	Usage  Recorder
	Prices usage.Prices
	// Conversations, if set, gets what each chat request sent and got.
	Conversations ConversationRecorder
	// Observer, if set, hears what each chat request came to (metrics,
	// the console's live traffic; Observers for several).
	Observer Observer
	// MetricsHandler, if set, serves GET /metrics (behind the admin
	// credentials when the admin endpoints are on).
	MetricsHandler http.Handler
	// Ready, if set, reports whether this replica should get traffic (its
	// stores reachable) for GET /readyz; nil is ready.
	Ready func(context.Context) error
	// Console, if set, serves the web console at / and /console/; its
	// data comes from the admin endpoints, which check the credentials.
	Console http.Handler

	// inflight counts the requests serving on this runtime (see
	// Server.acquire and Drained).
	inflight atomic.Int64
	// Models lists what GET /v1/models reports: route names and served
	// model names, in order.
	Models []ModelInfo
	// Admin turns on the /admin endpoints; nil leaves them off (404).
	Admin *Admin
	// Health holds the circuit breakers of every target, for GET
	// /admin/providers; nil reports none.
	Health *providers.Registry
	// Endpoints are the configured providers, for GET /v1/endpoints.
	Endpoints []Endpoint
	// Discovery lists the models discovering providers serve, for GET
	// /v1/models (after Models), POST /admin/models/refresh and GET
	// /admin/providers; nil when no provider discovers.
	Discovery *providers.Catalog
}

// Recorder takes usage rows; it must not block (usage.Writer drops a row
// rather than wait).
type Recorder interface {
	Add(usage.Record)
}

// Observer hears what chat requests come to, for metrics; it must not
// block.
type Observer interface {
	// Decided hears each routing decision.
	Decided(router.Decision)
	// Served hears each request that was routed, with its usage row and
	// the upstream calls it made.
	Served(usage.Record, []providers.Attempt)
	// Refused hears each request refused before routing or an upstream
	// call, with its status and why (the reason* constants).
	Refused(dialect string, status int, reason string)
}

// Observers tells each of its observers.
type Observers []Observer

func (o Observers) Decided(d router.Decision) {
	for _, x := range o {
		x.Decided(d)
	}
}

func (o Observers) Served(rec usage.Record, attempts []providers.Attempt) {
	for _, x := range o {
		x.Served(rec, attempts)
	}
}

func (o Observers) Refused(dialect string, status int, reason string) {
	for _, x := range o {
		x.Refused(dialect, status, reason)
	}
}

// Why a request was refused (Observer.Refused).
const (
	reasonUnauthorized = "unauthorized"
	reasonForbidden    = "forbidden"
	reasonRateLimited  = "rate_limited"
	reasonInvalid      = "invalid_request"
	reasonNoRoute      = "no_route"
)

// refused tells rt's Observer of a refused request.
func (rt *Runtime) refused(dialect string, err error, reason string) {
	if rt.Observer != nil {
		rt.Observer.Refused(dialect, statusOf(err), reason)
	}
}

// ConversationRecorder takes conversation log entries; it must not block.
type ConversationRecorder interface {
	Add(convlog.Entry)
}

// ModelInfo is one entry of GET /v1/models.
type ModelInfo struct {
	ID      string
	OwnedBy string // "switchyard" for auto and routes, else the provider
}

// Server serves the API. Handlers load the Runtime once per request.
type Server struct {
	log      zerolog.Logger
	rt       atomic.Pointer[Runtime]
	started  time.Time
	draining atomic.Bool
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

// Drain makes GET /readyz answer 503 from now on, so that load balancers
// stop sending new requests while the ones in flight finish.
func (s *Server) Drain() { s.draining.Store(true) }

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
	r.PathPrefix("/v1/models/").HandlerFunc(s.handleModel).Methods(http.MethodGet)
	r.PathPrefix("/models/").HandlerFunc(s.handleModel).Methods(http.MethodGet)
	r.HandleFunc("/v1/endpoints", s.handleEndpoints).Methods(http.MethodGet)
	r.HandleFunc("/endpoints", s.handleEndpoints).Methods(http.MethodGet)
	for _, p := range []string{"/embeddings", "/completions", "/responses"} { // forwarded as they are
		r.HandleFunc("/v1"+p, s.handleForward(p)).Methods(http.MethodPost)
		r.HandleFunc(p, s.handleForward(p)).Methods(http.MethodPost)
	}
	// ModelSwitch's paths: a base URL of .../openai (or .../openai/v1)
	// and .../anthropic.
	r.HandleFunc("/openai/chat/completions", s.handleOpenAIChat).Methods(http.MethodPost)
	r.HandleFunc("/openai/v1/chat/completions", s.handleOpenAIChat).Methods(http.MethodPost)
	r.HandleFunc("/openai/models", s.handleModels).Methods(http.MethodGet)
	r.HandleFunc("/openai/v1/models", s.handleModels).Methods(http.MethodGet)
	r.HandleFunc("/anthropic/messages", s.handleAnthropicMessages).Methods(http.MethodPost)
	r.HandleFunc("/anthropic/messages/count_tokens", s.handleCountTokens).Methods(http.MethodPost)
	r.HandleFunc("/health", s.handleHealth).Methods(http.MethodGet)
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet)
	r.HandleFunc("/metrics", s.handleMetrics).Methods(http.MethodGet)
	r.Handle("/", http.HandlerFunc(s.handleConsole))
	r.PathPrefix("/console/").HandlerFunc(s.handleConsole)
	r.PathPrefix("/admin/").HandlerFunc(s.handleAdmin) // methods checked inside: see handleAdmin
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := &httpError{status: http.StatusMethodNotAllowed, msg: "method " + clip(r.Method, 16) + " is not allowed on " + clip(r.URL.Path, maxEchoed)}
		if isAnthropicPath(r.URL.Path) {
			writeAnthropicError(w, err)
			return
		}
		writeOpenAIError(w, err)
	})
	// Wrapping the whole router (not r.Use) gives 404s and 405s a request
	// id and logger too: mux runs middleware only on matched routes.
	return s.withRequest(s.withBodyDeadline(r))
}

// Probes serves GET /healthz and /readyz alone, for a listener of their
// own (metrics.listen) beside other handlers.
func (s *Server) Probes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet)
	return r
}

// requestKey is the context key of a request's requestRef.
type requestKey struct{}

// withRequest gives every request, in one derived context (it runs for
// every request, so it derives one): its id (requestID), a logger
// carrying it, and the runtime in force, pinned for the request's whole
// life and counted, so that a replaced runtime is released (its embedder
// closed) only once its last request is done (Runtime.Drained).
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(w, r)
		rt := s.acquire()
		// The context holds the runtime through a reference cleared at the
		// end: net/http keeps a keep-alive connection's last request (and
		// so its context) until the next one, which must not keep a
		// replaced runtime's embedder alive.
		ref := &requestRef{id: id, rt: rt, base: &s.log, method: clip(r.Method, 16), path: clip(r.URL.Path, maxEchoed)}
		defer func() {
			ref.rt = nil
			rt.inflight.Add(-1)
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, ref)))
	})
}

// requestRef is what withRequest puts in a request's context.
type requestRef struct {
	id string
	rt *Runtime // nil once the request is done

	// The request's logger is the server's with the request's id, method
	// and path (and its client key's name, once known), built the first
	// time something logs: a request that logs nothing (every success,
	// below the info level) costs no logger.
	base         *zerolog.Logger
	method, path string
	key          atomic.Pointer[string]
	log          atomic.Pointer[zerolog.Logger]
}

// logOf is the logger of ctx's request (see requestRef); zerolog.Ctx's
// outside Handler.
func logOf(ctx context.Context) *zerolog.Logger {
	ref, ok := ctx.Value(requestKey{}).(*requestRef)
	if !ok {
		return zerolog.Ctx(ctx)
	}
	if l := ref.log.Load(); l != nil {
		return l
	}
	c := ref.base.With().Str("request_id", ref.id).Str("method", ref.method).Str("path", ref.path)
	if k := ref.key.Load(); k != nil {
		c = c.Str("key", *k)
	}
	l := c.Logger()
	ref.log.CompareAndSwap(nil, &l)
	return ref.log.Load()
}

// setLogKey adds the client key's name to the logger of ctx's request.
func setLogKey(ctx context.Context, name string) {
	ref, ok := ctx.Value(requestKey{}).(*requestRef)
	if !ok {
		return
	}
	ref.key.Store(&name)
	if l := ref.log.Load(); l != nil {
		l.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("key", name) })
	}
}

// infoLogged reports whether a request's info lines would be written.
func (s *Server) infoLogged() bool {
	return s.log.GetLevel() <= zerolog.InfoLevel && zerolog.GlobalLevel() <= zerolog.InfoLevel
}

// requestIDOf is the id withRequest gave the request of ctx; "" outside
// Handler.
func requestIDOf(ctx context.Context) string {
	if ref, ok := ctx.Value(requestKey{}).(*requestRef); ok {
		return ref.id
	}
	return ""
}

// acquire returns the runtime in force, counted as in use. A runtime
// swapped out between the load and the count is given back and the new
// one taken, so once Swap has returned no request can newly count on the
// old runtime.
func (s *Server) acquire() *Runtime {
	for {
		rt := s.rt.Load()
		rt.inflight.Add(1)
		if s.rt.Load() == rt {
			return rt
		}
		rt.inflight.Add(-1)
	}
}

// Drained returns once no request is serving on rt any more, or with
// ctx's error. Call it after rt was swapped out, before releasing what
// rt holds.
func (rt *Runtime) Drained(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for rt.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// withBodyDeadline bounds the time a client may take to send its body
// (Runtime.ReadTimeout). The deadline is lifted once the body has been
// read, so a long answer (a stream of minutes) is not cut by it: the
// server's own ReadTimeout would cancel the request's context then.
func (s *Server) withBodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := s.runtime(r).ReadTimeout; d > 0 && r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline at the end of the
// body.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// writeDeadline bounds the writing of an answer that is about to be
// written whole.
func (rt *Runtime) writeDeadline(w http.ResponseWriter) {
	if rt.WriteTimeout > 0 {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(rt.WriteTimeout))
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	err := &httpError{status: http.StatusNotFound, msg: "no such endpoint: " + clip(r.Method, 16) + " " + clip(r.URL.Path, maxEchoed)}
	if isAnthropicPath(r.URL.Path) {
		writeAnthropicError(w, err)
		return
	}
	writeOpenAIError(w, err)
}

// runtime is the runtime r serves on: the one pinned by withRequest, else
// (a handler called outside Handler, in tests) the one in force.
func (s *Server) runtime(r *http.Request) *Runtime {
	if ref, ok := r.Context().Value(requestKey{}).(*requestRef); ok && ref.rt != nil {
		return ref.rt
	}
	return s.rt.Load()
}

func (rt *Runtime) maxBody() int64 {
	if rt.MaxBody > 0 {
		return rt.MaxBody
	}
	return 4 << 20
}
