package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/judge"
	"github.com/switchyard-router/switchyard/usage"
)

// Admin turns on the /admin endpoints for a Runtime. With no Admin, no
// Control, or neither a Token nor a client key with the admin role, /admin
// paths answer 404 like any unknown path.
type Admin struct {
	// Token is a bearer token /admin requests may carry; "" = none (then
	// only an admin-role client key opens them).
	Token string
	// Control reloads the configuration and reports on it.
	Control Control
	// Usage answers GET /admin/usage; nil when the usage store is off.
	Usage UsageSummary
	// Traffic streams the requests as they end, for the console (GET
	// /admin/traffic, server-sent events); nil when the console is off.
	Traffic http.Handler
	// Conversations finds a request's entry in the conversation log (GET
	// /admin/conversations?request_id=…); nil when the log is off.
	Conversations ConversationFinder
}

// Evaluator runs the quality screen's evaluation: the configured corpus
// routed by the routes in force. A Control that is one serves POST
// /admin/eval and GET /admin/eval (the last result) and
// /admin/eval/report (its HTML).
type Evaluator interface {
	RunEval(ctx context.Context) (*EvalResult, error)
	LastEval() *EvalResult
}

// EvalResult is one evaluation: when, on which corpus, the report as
// `switchyard eval --json` prints it, and its HTML.
type EvalResult struct {
	Time   time.Time       `json:"time"`
	Data   string          `json:"data"`
	TookMS float64         `json:"took_ms"`
	Report json.RawMessage `json:"report"`
	HTML   []byte          `json:"-"`
}

// ConversationFinder finds a request's conversation log entry.
type ConversationFinder interface {
	Find(requestID string) (convlog.Entry, bool, error)
}

// ConfigEditor is what the console's config screen needs: the file, a
// check of an edit, and saving one through the reload path. A Control
// that is one serves GET and PUT /admin/config and POST
// /admin/config/check.
type ConfigEditor interface {
	ConfigText() (path string, text []byte, err error)
	CheckConfig(ctx context.Context, text []byte) []ConfigProblem
	SaveConfig(ctx context.Context, text []byte) (ReloadResult, []ConfigProblem, error)
}

// ConfigProblem is one thing wrong with a config edit, at its line (0
// when it has none).
type ConfigProblem struct {
	Line    int    `json:"line"`
	Path    string `json:"path,omitempty"` // the key: routing.top_k, providers[2].kind
	Message string `json:"message"`
}

// testTimeout bounds one "test now" request.
const testTimeout = 30 * time.Second

// handleTest serves POST /admin/test {"target": "provider/model"} or
// {"model": "route, alias or model"}: one real request ("ping", one token
// of answer) to that target alone, or through that chain as a client's
// would go, and what came of it: status, the target that answered,
// latency, every attempt. It counts in the targets' health like any
// request.
func (s *Server) handleTest(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	var in struct{ Target, Model string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || (in.Target == "") == (in.Model == "") {
		writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: `want {"target": "provider/model"} or {"model": "name"}`})
		return
	}
	req, _ := openai.ParseRequest(strings.NewReader(`{"model":"x","max_tokens":1,"messages":[{"role":"user","content":"ping"}]}`))
	var chain *providers.Chain
	if in.Target != "" {
		tf, ok := rt.Router.(interface {
			Target(string) (providers.Target, bool)
		})
		var t providers.Target
		if ok {
			t, ok = tf.Target(in.Target)
		}
		if !ok {
			writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "no target " + strconv.Quote(clip(in.Target, maxEchoed))})
			return
		}
		chain = &providers.Chain{Name: "test " + t.Name, Targets: []providers.Target{t}}
	} else {
		req.Model = in.Model
		dec, err := rt.Router.Decide(r.Context(), req)
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		chain = dec.Chain
	}
	ctx, cancel := context.WithTimeout(r.Context(), testTimeout)
	defer cancel()
	trace := &providers.Trace{}
	start := time.Now()
	_, err := chain.Complete(providers.WithTrace(ctx, trace), req)
	out := map[string]any{"ok": err == nil, "status": http.StatusOK, "target": trace.Target, "latency_ms": float64(time.Since(start).Microseconds()) / 1000}
	var attempts []map[string]any
	for _, a := range trace.Attempts {
		at := map[string]any{"target": a.Target, "status": a.Status, "ms": float64(a.Duration.Microseconds()) / 1000}
		if a.Err != nil {
			at["error"] = publicMessage(a.Err)
		}
		attempts = append(attempts, at)
	}
	out["attempts"] = attempts
	if err != nil {
		out["status"], out["error"] = statusOf(err), publicMessage(err)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleKeyUpdate serves PATCH /admin/keys/{name}: the fields of an
// auth.KeyChange that are set change (enabled, models, limits, budgets).
func (s *Server) handleKeyUpdate(w http.ResponseWriter, r *http.Request, name string) {
	st := s.keyStore(w, r)
	if st == nil {
		return
	}
	var c auth.KeyChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "want a JSON key change: " + err.Error()})
		return
	}
	if err := st.Update(r.Context(), name, c); err != nil {
		writeOpenAIError(w, keyStoreError(r, "update", name, err))
		return
	}
	s.refreshKeys(r, "update")
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "updated": true})
}

// handleEvalRun serves POST /admin/eval: the quality screen's evaluation,
// run now.
func handleEvalRun(w http.ResponseWriter, r *http.Request, ev Evaluator) {
	res, err := ev.RunEval(r.Context())
	if err != nil {
		writeOpenAIError(w, &httpError{status: http.StatusConflict, msg: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleEvalLast serves GET /admin/eval, the last evaluation, and GET
// /admin/eval/report, its HTML report (as `switchyard eval --out` writes
// it) as an attachment.
func handleEvalLast(w http.ResponseWriter, r *http.Request, ev Evaluator) {
	last := ev.LastEval()
	if last == nil {
		writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "no evaluation has run since start"})
		return
	}
	if r.URL.Path == "/admin/eval/report" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="switchyard-eval.html"`)
		w.Write(last.HTML)
		return
	}
	writeJSON(w, http.StatusOK, last)
}

// maxConfigBytes bounds a config edit sent to PUT /admin/config.
const maxConfigBytes = 1 << 20

// handleConfigGet serves GET /admin/config: the file with the generation
// in force and the last reload.
func handleConfigGet(w http.ResponseWriter, ctl Control, ed ConfigEditor) {
	path, text, err := ed.ConfigText()
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	st := ctl.Status()
	writeJSON(w, http.StatusOK, map[string]any{"path": path, "text": string(text), "generation": st.Generation, "last_reload": st.LastReload})
}

// configBody reads a config edit; false when it is too large (answered).
func configBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		writeOpenAIError(w, &httpError{status: http.StatusRequestEntityTooLarge, msg: "a config is at most 1 MiB"})
		return nil, false
	}
	return text, true
}

// handleConfigCheck serves POST /admin/config/check: an edit's problems,
// at their lines.
func handleConfigCheck(w http.ResponseWriter, r *http.Request, ed ConfigEditor) {
	text, ok := configBody(w, r)
	if !ok {
		return
	}
	problems := ed.CheckConfig(r.Context(), text)
	if problems == nil {
		problems = []ConfigProblem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"problems": problems})
}

// handleConfigSave serves PUT /admin/config: an edit without problems is
// saved and reloaded; one with problems gets a 422 listing them, and
// nothing changes.
func handleConfigSave(w http.ResponseWriter, r *http.Request, ed ConfigEditor) {
	text, ok := configBody(w, r)
	if !ok {
		return
	}
	res, problems, err := ed.SaveConfig(r.Context(), text)
	switch {
	case err != nil:
		writeOpenAIError(w, err)
	case len(problems) > 0:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"problems": problems})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"reload": res})
	}
}

// handleConversation serves GET /admin/conversations?request_id=…: the
// request's entry in the conversation log.
func handleConversation(w http.ResponseWriter, r *http.Request, c ConversationFinder) {
	if c == nil {
		writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "the conversation log is off (conversation_log.enabled)"})
		return
	}
	id := r.URL.Query().Get("request_id")
	if id == "" {
		writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "request_id is required"})
		return
	}
	e, ok, err := c.Find(id)
	switch {
	case err != nil:
		writeOpenAIError(w, err)
	case !ok:
		writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "no conversation logged for request " + strconv.Quote(clip(id, maxEchoed))})
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

// UsageSummary is what GET /admin/usage needs of the usage store.
type UsageSummary interface {
	Summary(ctx context.Context, since time.Time, by string) ([]usage.Group, error)
	Heatmap(ctx context.Context, since time.Time, loc *time.Location) ([7][24]int64, error)
	Rows(ctx context.Context, since time.Time, by, name string, limit int) ([]usage.Record, error)
	Series(ctx context.Context, since time.Time, by string) ([]usage.Point, error)
}

// Control is what the admin endpoints need from whoever owns the
// configuration (cmd). Implementations are safe for concurrent use.
type Control interface {
	// Reload loads the configuration anew and, if it is valid and builds,
	// swaps it in. On failure the old configuration keeps serving, and the
	// result lists every problem.
	Reload(ctx context.Context) (ReloadResult, error)
	// Status describes the configuration in force.
	Status() Status
}

// ReloadResult is the outcome of one reload.
type ReloadResult struct {
	Time       time.Time `json:"time"`
	Trigger    string    `json:"trigger"` // what asked: "file", "signal" or "admin"
	OK         bool      `json:"ok"`
	Generation int64     `json:"generation"`       // the generation serving afterwards
	Errors     []string  `json:"errors,omitempty"` // every problem, when not OK
	// EmbedderReused reports that the embedder (and its cache) carried
	// over, so only new utterances were embedded.
	EmbedderReused bool    `json:"embedder_reused"`
	TookMS         float64 `json:"took_ms"`
}

// Status describes the configuration in force.
type Status struct {
	ConfigPath string        `json:"config_path"`
	LoadedAt   time.Time     `json:"loaded_at"`
	Generation int64         `json:"generation"` // 1 at start-up, +1 per successful reload
	LastReload *ReloadResult `json:"last_reload"`
	Routes     []string      `json:"routes"`
	Embedder   string        `json:"embedder"`
	Cache      *CacheStats   `json:"cache,omitempty"` // nil when there is no cache
	// Judge counts the LLM judge's calls, cache hits, errors and latency
	// since the configuration was loaded; nil when there is no judge.
	Judge *judge.Stats `json:"judge,omitempty"`
	// SharedState is the Redis the replicas share limits, sessions,
	// verdicts and circuits through; nil when none is configured.
	SharedState *SharedState `json:"shared_state,omitempty"`
	// Process is filled in by the server on every GET /admin/status, so
	// a soak run can watch for leaks.
	Process *ProcessStats `json:"process,omitempty"`
}

// SharedState reports the shared state's reachability.
type SharedState struct {
	Redis string `json:"redis"` // its address
	Up    bool   `json:"up"`    // false: this replica serves on its own state
}

// ProcessStats describes the running process.
type ProcessStats struct {
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"` // live heap (runtime HeapInuse)
	RSSBytes   uint64 `json:"rss_bytes"`  // resident set size, 0 where unknown
}

// processStats reads the process's figures now.
func processStats() *ProcessStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	ps := &ProcessStats{Goroutines: runtime.NumGoroutine(), HeapBytes: m.HeapInuse}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				f := strings.Fields(rest)
				if len(f) == 2 && f[1] == "kB" {
					if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
						ps.RSSBytes = kb * 1024
					}
				}
			}
		}
	}
	return ps
}

// CacheStats counts the query-embedding cache's answers since the
// embedder was built.
type CacheStats struct {
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
}

// handleAdmin serves /admin/*. The paths are matched here rather than in
// the mux so that, while admin is off, every method on every /admin path
// gets the same 404 as an unknown path, not a 405 revealing the route.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	a := rt.Admin
	if a == nil || a.Control == nil || (a.Token == "" && !rt.hasAdminKey()) {
		notFound(w, r)
		return
	}
	if !authorized(r, a.Token) && !rt.adminKey(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard admin"`)
		writeOpenAIError(w, &httpError{status: http.StatusUnauthorized, msg: "missing or invalid admin token"})
		return
	}
	var method string
	var h http.HandlerFunc
	switch r.URL.Path {
	case "/admin/status":
		method, h = http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			st := a.Control.Status()
			st.Process = processStats()
			writeJSON(w, http.StatusOK, st)
		}
	case "/admin/reload":
		method, h = http.MethodPost, func(w http.ResponseWriter, r *http.Request) { handleReload(w, r, a.Control) }
	case "/admin/explain":
		method, h = http.MethodPost, s.handleExplain
	case "/admin/providers":
		method, h = http.MethodGet, s.handleProviders
	case "/admin/keys":
		if r.Method == http.MethodPost {
			method, h = http.MethodPost, s.handleKeyCreate
		} else {
			method, h = http.MethodGet, s.handleKeyList
		}
	case "/admin/usage":
		method, h = http.MethodGet, func(w http.ResponseWriter, r *http.Request) { handleUsage(w, r, a.Usage) }
	case "/admin/models/refresh":
		method, h = http.MethodPost, s.handleRefreshModels
	case "/admin/config", "/admin/config/check":
		ed, ok := a.Control.(ConfigEditor)
		if !ok {
			notFound(w, r)
			return
		}
		switch {
		case r.URL.Path == "/admin/config/check":
			method, h = http.MethodPost, func(w http.ResponseWriter, r *http.Request) { handleConfigCheck(w, r, ed) }
		case r.Method == http.MethodPut:
			method, h = http.MethodPut, func(w http.ResponseWriter, r *http.Request) { handleConfigSave(w, r, ed) }
		default:
			method, h = http.MethodGet, func(w http.ResponseWriter, r *http.Request) { handleConfigGet(w, a.Control, ed) }
		}
	case "/admin/conversations":
		method, h = http.MethodGet, func(w http.ResponseWriter, r *http.Request) { handleConversation(w, r, a.Conversations) }
	case "/admin/eval", "/admin/eval/report":
		ev, ok := a.Control.(Evaluator)
		if !ok {
			notFound(w, r)
			return
		}
		switch {
		case r.URL.Path == "/admin/eval" && r.Method == http.MethodPost:
			method, h = http.MethodPost, func(w http.ResponseWriter, r *http.Request) { handleEvalRun(w, r, ev) }
		default:
			method, h = http.MethodGet, func(w http.ResponseWriter, r *http.Request) { handleEvalLast(w, r, ev) }
		}
	case "/admin/test":
		method, h = http.MethodPost, s.handleTest
	case "/admin/traffic":
		if a.Traffic == nil {
			notFound(w, r)
			return
		}
		method, h = http.MethodGet, a.Traffic.ServeHTTP
	default:
		if name, ok := strings.CutPrefix(r.URL.Path, "/admin/keys/"); ok && name != "" {
			if r.Method == http.MethodPatch {
				method, h = http.MethodPatch, func(w http.ResponseWriter, r *http.Request) { s.handleKeyUpdate(w, r, name) }
				break
			}
			method, h = http.MethodDelete, func(w http.ResponseWriter, r *http.Request) { s.handleKeyRevoke(w, r, name) }
			break
		}
		notFound(w, r)
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeOpenAIError(w, &httpError{status: http.StatusMethodNotAllowed, msg: "method " + r.Method + " is not allowed on " + r.URL.Path})
		return
	}
	h(w, r)
}

// adminKey reports whether r carries a client key with the admin role.
func (rt *Runtime) adminKey(r *http.Request) bool {
	ring := rt.keyring()
	if ring == nil {
		return false
	}
	k, err := ring.Check(auth.FromRequest(r), time.Now())
	return err == nil && k.HasRole(auth.RoleAdmin)
}

// hasAdminKey reports whether any configured key has the admin role.
func (rt *Runtime) hasAdminKey() bool {
	ring := rt.keyring()
	return ring != nil && ring.HasRole(auth.RoleAdmin)
}

// authorized checks the bearer token in constant time.
func authorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// handleReload runs a reload and reports it: 200 when the new
// configuration serves, else 422 with every problem (the old one keeps
// serving).
func handleReload(w http.ResponseWriter, r *http.Request, c Control) {
	// A reload that has started finishes even if the client goes away.
	res, err := c.Reload(context.WithoutCancel(r.Context()))
	if err == nil {
		writeJSON(w, http.StatusOK, res)
		return
	}
	var body struct {
		Error json.RawMessage `json:"error"`
		ReloadResult
	}
	var wire struct {
		Error json.RawMessage `json:"error"`
	}
	json.Unmarshal(openai.NewError(http.StatusUnprocessableEntity, "reload failed; the previous configuration keeps serving: "+err.Error(), "invalid_config"), &wire)
	body.Error, body.ReloadResult = wire.Error, res
	writeJSON(w, http.StatusUnprocessableEntity, body)
}

// explanation is POST /admin/explain's answer: the routing decision for a
// chat request, made exactly as for a real one, without calling upstream.
type explanation struct {
	Route      string       `json:"route,omitempty"`
	Model      string       `json:"model,omitempty"` // an explicit model asked for
	DecidedBy  string       `json:"decided_by"`
	Score      float64      `json:"score"`
	Margin     *float64     `json:"margin,omitempty"`  // best route's lead over the second
	Cleared    *bool        `json:"cleared,omitempty"` // best route cleared its threshold
	BestRoute  string       `json:"best_route,omitempty"`
	Fallback   string       `json:"fallback,omitempty"`
	Text       string       `json:"text"`
	Scores     []routeScore `json:"scores"`
	Chain      []string     `json:"chain"` // "provider/model", in the order tried
	DecisionMS float64      `json:"decision_ms"`
	// Session is the conversation's sticky-routing key, shortened;
	// absent when routing is not sticky or the conversation has none.
	// Explaining a request records its route for the session, as
	// serving it would.
	Session string `json:"session,omitempty"`
	// Judge is the LLM judge's part: why it was asked, the candidates,
	// its answer, whether it was used, its latency. Absent when it was
	// not asked.
	Judge *router.JudgeInfo `json:"judge,omitempty"`
	// Segments are the request's instruction segments, scored besides its
	// whole text; absent when there were none.
	Segments []string `json:"segments,omitempty"`
}

type routeScore struct {
	Route     string  `json:"route"`
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Nearest   string  `json:"nearest"`
	// Segment is the instruction segment of the request that gave the
	// route its score; absent for the whole text.
	Segment string `json:"segment,omitempty"`
	// NearMiss is the route's negative that kept it from clearing.
	NearMiss string `json:"near_miss,omitempty"`
}

// handleExplain serves POST /admin/explain: parse and decide like a chat
// completion, then report the decision instead of running it.
func (s *Server) handleExplain(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	req, err := openai.ParseRequest(http.MaxBytesReader(w, r.Body, rt.maxBody()))
	if err != nil {
		writeOpenAIError(w, requestError(err, rt.maxBody()))
		return
	}
	req.Session = r.Header.Get(HeaderSession)
	dec, err := rt.Router.Decide(r.Context(), req)
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, explain(dec))
}

func explain(d router.Decision) explanation {
	e := explanation{
		Route:      d.Route,
		Model:      d.Model,
		DecidedBy:  d.DecidedBy,
		Score:      d.Score,
		Fallback:   d.Fallback,
		Text:       d.Text,
		Scores:     []routeScore{},
		Chain:      []string{},
		DecisionMS: float64(d.Took.Microseconds()) / 1000,
		Session:    d.Session,
		Judge:      d.Judge,
	}
	if m := d.Match; m != nil {
		e.Margin, e.Cleared, e.BestRoute, e.Segments = &m.Margin, &m.Cleared, m.Route, m.Segments
		for _, sc := range m.Scores {
			e.Scores = append(e.Scores, routeScore{Route: sc.Route, Score: sc.Score, Threshold: sc.Threshold, Nearest: sc.Nearest, Segment: sc.Segment, NearMiss: sc.NearMiss})
		}
	}
	if d.Chain != nil {
		for _, t := range d.Chain.Targets {
			e.Chain = append(e.Chain, t.Name)
		}
	}
	return e
}

// handleUsage serves GET /admin/usage?days=N&by=G (or &heatmap=1 for
// requests per hour of each weekday, UTC): the usage store's sums
// over the last N days (default 7), grouped by G (key, model, route,
// provider, decided_by, dialect, status, day; default none), as
// `switchyard stats --json` prints them.
func handleUsage(w http.ResponseWriter, r *http.Request, u UsageSummary) {
	if u == nil {
		writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "the usage store is off (usage.enabled)"})
		return
	}
	days := 7
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3660 {
			writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "days: want a whole number from 1 to 3660"})
			return
		}
		days = n
	}
	by := r.URL.Query().Get("by")
	since := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	if name, ok := r.URL.Query()["name"]; ok {
		// The rows of one group: GET /admin/usage?days=N&by=G&name=V.
		rows, err := u.Rows(r.Context(), since, by, name[0], 500)
		if errors.Is(err, usage.ErrGroupBy) {
			writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "by: " + err.Error()})
			return
		}
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		type row struct {
			usage.Record
			LatencyMS float64 `json:"latency_ms"`
		}
		out := make([]row, 0, len(rows))
		for _, rec := range rows {
			out = append(out, row{Record: rec, LatencyMS: float64(rec.Latency.Microseconds()) / 1000})
		}
		writeJSON(w, http.StatusOK, map[string]any{"days": days, "by": by, "name": name[0], "rows": out})
		return
	}
	if r.URL.Query().Get("series") != "" {
		// Per UTC day and group: GET /admin/usage?days=N&by=G&series=1.
		points, err := u.Series(r.Context(), since, by)
		if errors.Is(err, usage.ErrGroupBy) {
			writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "by: " + err.Error() + " (not day)"})
			return
		}
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		if points == nil {
			points = []usage.Point{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"days": days, "by": by, "series": points})
		return
	}
	if r.URL.Query().Get("heatmap") != "" {
		// Requests per hour of each weekday (0 = Sunday), in UTC.
		hm, err := u.Heatmap(r.Context(), since, time.UTC)
		if err != nil {
			writeOpenAIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"days": days, "heatmap": hm})
		return
	}
	groups, err := u.Summary(r.Context(), since, by)
	if errors.Is(err, usage.ErrGroupBy) {
		writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "by: " + err.Error()})
		return
	}
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	if groups == nil {
		groups = []usage.Group{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": days, "by": by, "groups": groups})
}

// keyStore is the run-time key store, or a 404 written when there is none.
func (s *Server) keyStore(w http.ResponseWriter, r *http.Request) *auth.Store {
	rt := s.runtime(r)
	if rt.Keys == nil || rt.Keys.Store() == nil {
		writeOpenAIError(w, &httpError{status: http.StatusNotFound, msg: "no key store: keys created at run time live in the usage store (usage.enabled)"})
		return nil
	}
	return rt.Keys.Store()
}

// handleKeyList serves GET /admin/keys: the keys created at run time, and
// the names of the config's (which are managed in the config).
func (s *Server) handleKeyList(w http.ResponseWriter, r *http.Request) {
	st := s.keyStore(w, r)
	if st == nil {
		return
	}
	keys, err := st.List(r.Context())
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// keyRequest is the body of POST /admin/keys.
type keyRequest struct {
	Name              string   `json:"name"`
	Roles             []string `json:"roles"`
	Models            []string `json:"models"`
	Expires           string   `json:"expires"` // RFC 3339; "" = never
	RequestsPerMinute int      `json:"requests_per_minute"`
	TokensPerMinute   int      `json:"tokens_per_minute"`
	RequestsPerDay    int      `json:"requests_per_day"`
	TokensPerDay      int      `json:"tokens_per_day"`
	BudgetDay         float64  `json:"budget_day"`   // USD per UTC day; 0 = none
	BudgetMonth       float64  `json:"budget_month"` // USD per UTC month; 0 = none
}

// handleKeyCreate serves POST /admin/keys: it creates a key and answers
// its secret, this once.
func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	st := s.keyStore(w, r)
	if st == nil {
		return
	}
	var kr keyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kr); err != nil {
		writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "want a JSON key: " + err.Error()})
		return
	}
	k := auth.Key{Name: kr.Name, Roles: kr.Roles, Models: kr.Models, RequestsPerMinute: kr.RequestsPerMinute,
		TokensPerMinute: kr.TokensPerMinute, RequestsPerDay: kr.RequestsPerDay, TokensPerDay: kr.TokensPerDay,
		BudgetDay: kr.BudgetDay, BudgetMonth: kr.BudgetMonth}
	if kr.Expires != "" {
		t, err := time.Parse(time.RFC3339, kr.Expires)
		if err != nil {
			writeOpenAIError(w, &httpError{status: http.StatusBadRequest, msg: "expires: want an RFC 3339 time"})
			return
		}
		k.Expires = t
	}
	secret, err := st.Create(r.Context(), k)
	if err != nil {
		writeOpenAIError(w, keyStoreError(r, "create", kr.Name, err))
		return
	}
	s.refreshKeys(r, "create")
	logOf(r.Context()).Info().Str("key_name", k.Name).Msg("client key created")
	writeJSON(w, http.StatusCreated, map[string]any{"name": k.Name, "key": secret,
		"note": "this is the only time the key is shown; switchyard keeps its hash"})
}

// keyStoreError is the API error for a key store's refusal of op on the
// key name: 404, 409 or 400 for what the client can mend, a logged 500
// for the store's own failure.
func keyStoreError(r *http.Request, op, name string, err error) error {
	quoted := strconv.Quote(clip(name, maxEchoed))
	switch {
	case errors.Is(err, auth.ErrNoSuchKey):
		return &httpError{status: http.StatusNotFound, msg: "no key named " + quoted + " in the key store (or it is revoked)"}
	case errors.Is(err, auth.ErrKeyExists):
		return &httpError{status: http.StatusConflict, msg: "a key named " + quoted + " exists"}
	case errors.Is(err, auth.ErrInvalidKey):
		return &httpError{status: http.StatusBadRequest, msg: err.Error()}
	}
	logOf(r.Context()).Error().Err(err).Str("key_name", name).Msg("keys: " + op)
	return &httpError{status: http.StatusInternalServerError, msg: "the key store could not be written"}
}

// refreshKeys puts the key store's change in force at once.
func (s *Server) refreshKeys(r *http.Request, op string) {
	if err := s.runtime(r).Keys.Refresh(r.Context()); err != nil {
		logOf(r.Context()).Error().Err(err).Msg("keys: refresh after " + op)
	}
}

// handleKeyRevoke serves DELETE /admin/keys/{name}.
func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request, name string) {
	st := s.keyStore(w, r)
	if st == nil {
		return
	}
	if err := st.Revoke(r.Context(), name); err != nil {
		writeOpenAIError(w, keyStoreError(r, "revoke", name, err))
		return
	}
	s.refreshKeys(r, "revoke")
	logOf(r.Context()).Info().Str("key_name", name).Msg("client key revoked")
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "revoked": true})
}
