package proxy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/tracing"
	"github.com/switchyard-router/switchyard/usage"
)

// Response headers that explain a routed answer.
const (
	HeaderRoute     = "X-Switchyard-Route"
	HeaderScore     = "X-Switchyard-Score"
	HeaderDecidedBy = "X-Switchyard-Decided-By"
	HeaderModel     = "X-Switchyard-Model" // "provider/model" that answered
)

// HeaderSession is the request header naming a conversation for sticky
// routing (providers.Request.Session); it is never sent upstream.
const HeaderSession = "X-Switchyard-Session"

// clientAPI is what serving one client dialect takes beyond the steps
// every dialect shares (serveChat).
type clientAPI struct {
	dialect    string // providers.DialectOpenAI or DialectAnthropic
	parse      func(io.Reader) (*providers.Request, error)
	writeError func(http.ResponseWriter, error)
	encode     func(*providers.Response) []byte
	// stream relays a streamed answer; started reports whether the client
	// got a 200 and events. It calls ended once the upstream's stream is
	// whole, before the event that ends the client's, so that the key's
	// counters are settled before the client can send its next request.
	stream func(s *Server, rt *Runtime, w http.ResponseWriter, r *http.Request, req *providers.Request, dec router.Decision, trace *providers.Trace, ended func()) (started bool, err error)
	// inspect, if set, looks at a parsed request before it is served.
	inspect func(ctx context.Context, req *providers.Request)
}

var openAIAPI = clientAPI{
	dialect:    providers.DialectOpenAI,
	parse:      openai.ParseRequest,
	writeError: writeOpenAIError,
	encode:     openai.Completion,
	stream:     (*Server).streamOpenAI,
}

// handleOpenAIChat serves POST /v1/chat/completions.
func (s *Server) handleOpenAIChat(w http.ResponseWriter, r *http.Request) {
	s.serveChat(w, r, openAIAPI)
}

// serveChat serves one chat request of any client dialect: parse, decide,
// run the chain, encode, log.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request, api clientAPI) {
	start := time.Now()
	rt := s.runtime(r)
	ctx, span := tracing.Start(tracing.Extract(r.Context(), r.Header), "chat", tracing.ServerChat...)
	var spanErr error // what the client got, when it is an error
	defer func() { tracing.End(span, spanErr) }()
	key, err := rt.authenticate(r)
	if err != nil {
		logOf(ctx).Info().Err(err).Int("status", statusOf(err)).Msg("rejected key")
		rt.refused(api.dialect, err, reasonUnauthorized)
		spanErr = err
		api.writeError(w, err)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, rt.maxBody())
	var conv *conversation
	if rt.Conversations != nil {
		conv = &conversation{}
		body = io.TeeReader(body, &conv.request)
	}
	req, err := api.parse(body)
	if err != nil {
		err = requestError(err, rt.maxBody())
		logOf(ctx).Info().Err(err).Int("status", statusOf(err)).Msg("rejected request")
		rt.refused(api.dialect, err, reasonInvalid)
		spanErr = err
		api.writeError(w, err)
		return
	}
	if err := allowed(key, req, nil); err != nil {
		logOf(ctx).Info().Err(err).Int("status", statusOf(err)).Msg("model not allowed")
		rt.refused(api.dialect, err, reasonForbidden)
		spanErr = err
		api.writeError(w, err)
		return
	}
	req.Session = r.Header.Get(HeaderSession)
	// Attributes only for a span that records: with tracing off, nothing
	// is built per request.
	traced := span.IsRecording()
	if traced {
		span.SetName("chat " + clip(req.Model, 64))
		span.SetAttributes(tracing.RequestModel.String(clip(req.Model, maxEchoed)))
	}
	dctx, dspan := tracing.Start(ctx, "route")
	dec, err := rt.Router.Decide(dctx, req)
	if err == nil && traced {
		dspan.SetAttributes(tracing.Route.String(dec.Route), tracing.DecidedBy.String(dec.DecidedBy), tracing.Score.Float64(dec.Score))
		span.SetAttributes(tracing.Route.String(dec.Route), tracing.DecidedBy.String(dec.DecidedBy))
	}
	tracing.End(dspan, err)
	if err != nil {
		logOf(ctx).Info().Err(err).Int("status", statusOf(err)).Msg("no route") // err names the model, clipped
		rt.refused(api.dialect, err, reasonNoRoute)
		spanErr = err
		api.writeError(w, err)
		return
	}
	if rt.Observer != nil {
		rt.Observer.Decided(dec)
	}
	if err := allowed(key, req, &dec); err != nil {
		logOf(ctx).Info().Err(err).Str("route", dec.Route).Int("status", statusOf(err)).Msg("route not allowed")
		rt.refused(api.dialect, err, reasonForbidden)
		spanErr = err
		api.writeError(w, err)
		return
	}
	reservation, err := rt.reserve(ctx, key, req)
	if err != nil {
		logOf(ctx).Info().Err(err).Int("status", statusOf(err)).Msg("over a key's limit")
		rt.refused(api.dialect, err, reasonRateLimited)
		spanErr = err
		api.writeError(w, err)
		return
	}
	if key != nil {
		setLogKey(ctx, key.Name)
	}
	if api.inspect != nil {
		api.inspect(ctx, req)
	}
	setDecisionHeaders(w.Header(), dec)

	trace := &providers.Trace{}
	if conv != nil {
		trace.Observe = conv.observe
	}
	ctx = providers.WithTrace(ctx, trace)
	ctx = providers.WithRouting(ctx, routingOf(dec))
	sent := 0 // the status the client got, when it differs from statusOf(err)
	// The key's counters are settled before the client has the whole
	// answer: the request that crosses a budget ends, the next one is
	// refused.
	settled := false
	settle := func() {
		if !settled {
			settled = true
			rt.settle(reservation, trace.Model, trace.Usage)
		}
	}
	if req.Stream {
		var started bool
		started, err = api.stream(s, rt, w, r.WithContext(ctx), req, dec, trace, settle)
		if started {
			sent = http.StatusOK
		}
		settle() // a stream that failed
	} else {
		var resp *providers.Response
		resp, err = dec.Chain.Complete(ctx, req)
		if resp != nil {
			trace.Usage = &resp.Usage
		}
		settle()
		if err == nil {
			w.Header().Set(HeaderModel, trace.Target)
			w.Header().Set("Content-Type", "application/json")
			rt.writeDeadline(w)
			answer := validUTF8(api.encode(resp))
			w.Write(answer)
			if conv != nil {
				conv.answer = answer
			}
		} else {
			api.writeError(w, err)
		}
	}
	took := time.Since(start)
	if err != nil || s.infoLogged() {
		logRequest(logOf(ctx), dec, trace, req.Stream, sent, err, took)
	}
	spanErr = err
	if traced {
		status := http.StatusOK
		if err != nil {
			status = cmp.Or(sent, statusOf(err))
			span.SetAttributes(tracing.ErrorType.String(strconv.Itoa(status)))
		}
		span.SetAttributes(tracing.ResponseModel.String(trace.Model), tracing.HTTPStatus.Int(status))
		if u := trace.Usage; u != nil {
			span.SetAttributes(tracing.InputTokens.Int(u.PromptTokens), tracing.OutputTokens.Int(u.CompletionTokens))
		}
	}
	if rt.Usage != nil || conv != nil || rt.Observer != nil {
		rec := usageRecord(r, rt.Prices, api.dialect, key, req, dec, trace, sent, err, start, took)
		if rt.Usage != nil {
			rt.Usage.Add(rec)
		}
		if rt.Observer != nil {
			rt.Observer.Served(rec, trace.Attempts)
		}
		if conv != nil {
			rt.Conversations.Add(conv.entry(rec, trace, err))
		}
	}
}

// conversation collects one request's body and answer for the
// conversation log. A streamed answer's text and tool-call deltas are
// kept up to maxLoggedAnswer bytes.
type conversation struct {
	request   bytes.Buffer
	answer    []byte
	text      strings.Builder
	toolCalls []json.RawMessage
	size      int
}

const maxLoggedAnswer = 1 << 20

func (c *conversation) observe(ch providers.Chunk) {
	if c.size > maxLoggedAnswer {
		return
	}
	c.size += len(ch.Text) + len(ch.ToolCalls)
	c.text.WriteString(ch.Text)
	if len(ch.ToolCalls) > 0 {
		c.toolCalls = append(c.toolCalls, ch.ToolCalls)
	}
}

func (c *conversation) entry(rec usage.Record, tr *providers.Trace, err error) convlog.Entry {
	e := convlog.Entry{
		Time: rec.Time, RequestID: rec.RequestID, Key: rec.Key, Dialect: rec.Dialect, Route: rec.Route,
		DecidedBy: rec.DecidedBy, Target: tr.Target, Status: rec.Status, Stream: rec.Stream,
		LatencyMS: float64(rec.Latency.Microseconds()) / 1000, Text: c.text.String(),
	}
	if json.Valid(c.request.Bytes()) {
		e.Request = json.RawMessage(c.request.Bytes())
	}
	if json.Valid(c.answer) {
		e.Answer = c.answer
	}
	if len(c.toolCalls) > 0 {
		e.ToolCalls, _ = json.Marshal(c.toolCalls)
	}
	if err != nil {
		e.Error = publicMessage(err)
	}
	return e
}

// usageRecord is the usage row of one chat request.
func usageRecord(r *http.Request, prices usage.Prices, dialect string, key *auth.Key, req *providers.Request, dec router.Decision,
	tr *providers.Trace, sent int, err error, start time.Time, took time.Duration) usage.Record {
	rec := usage.Record{
		Time: start, Dialect: dialect, Route: dec.Route, DecidedBy: dec.DecidedBy,
		Score: dec.Score, Attempts: len(tr.Attempts), Status: http.StatusOK, Stream: req.Stream, Latency: took,
	}
	rec.RequestID = requestIDOf(r.Context())
	if key != nil {
		rec.Key = key.Name
	}
	if err != nil {
		rec.Status = statusOf(err)
		if sent != 0 {
			rec.Status = sent
		}
	}
	rec.Provider, _, _ = strings.Cut(tr.Target, "/")
	rec.Model = tr.Model
	if u := tr.Usage; u != nil {
		rec.PromptTokens, rec.CompletionTokens = u.PromptTokens, u.CompletionTokens
		rec.CachedTokens, rec.ReasoningTokens = u.CachedTokens, u.ReasoningTokens
	}
	if !tr.FirstContent.IsZero() {
		rec.TTFT = tr.FirstContent.Sub(start)
	}
	rec.Cost = prices.Cost(rec.Model, rec.PromptTokens, rec.CompletionTokens, rec.CachedTokens)
	return rec
}

// streamOpenAI relays the chain's chunks as server-sent events. Headers go
// out with the first chunk, so a chain that fails before it still gets a
// real status and a JSON error; after it, the error is sent in-band and the
// stream ends without [DONE], so the client cannot mistake it for a
// complete answer.
func (s *Server) streamOpenAI(rt *Runtime, w http.ResponseWriter, r *http.Request, req *providers.Request, dec router.Decision, trace *providers.Trace, ended func()) (started bool, err error) {
	sse := newSSE(w, rt.WriteTimeout)
	wantsUsage := asksForUsage(req)
	err = dec.Chain.Stream(r.Context(), req, func(c providers.Chunk) error {
		if skipOpenAIChunk(c) || (!wantsUsage && usageOnly(c)) {
			return nil
		}
		if !sse.started {
			w.Header().Set(HeaderModel, trace.Target)
		}
		return sse.send(openai.StreamChunk(c))
	})
	switch {
	case err == nil:
		if !sse.started {
			// An upstream that ended at once with no chunk: still a stream.
			w.Header().Set(HeaderModel, trace.Target)
		}
		ended()
		return true, sse.send([]byte("[DONE]"))
	case !sse.started:
		writeOpenAIError(w, err)
	default:
		sse.send(openAIError(statusOf(err), err))
	}
	return sse.started, err
}

// skipOpenAIChunk reports a chunk of another dialect that would be an
// empty OpenAI chunk: an Anthropic upstream's ping, content_block_stop or
// the like carries neither content nor the role. OpenAI upstreams' chunks
// are all passed on, as sent.
func skipOpenAIChunk(c providers.Chunk) bool {
	return c.RawDialect != "" && !providers.SameDialect(c.RawDialect, providers.DialectOpenAI) &&
		!c.HasContent() && c.Role == ""
}

// asksForUsage reports whether an OpenAI client asked for the final usage
// chunk (stream_options.include_usage). switchyard asks every OpenAI
// upstream for it, for its own accounting, and drops it for clients that
// did not.
func asksForUsage(req *providers.Request) bool {
	var opts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	raw, ok := req.OpenAI()["stream_options"]
	return ok && json.Unmarshal(raw, &opts) == nil && opts.IncludeUsage
}

// usageOnly reports a chunk that carries nothing but usage, as OpenAI's
// final usage chunk (empty choices) does.
func usageOnly(c providers.Chunk) bool {
	return c.Usage != nil && c.Text == "" && c.Reasoning == "" && len(c.ToolCalls) == 0 && c.FinishReason == "" && c.Role == ""
}

// maxRoutingScores is how many of the best routes' scores a provider is
// shown (providers.Routing.Scores).
const maxRoutingScores = 3

// routingOf is the summary of d that providers may read (the echo
// provider shows it).
func routingOf(d router.Decision) *providers.Routing {
	r := &providers.Routing{Route: d.Route, Model: d.Model, DecidedBy: d.DecidedBy, Score: d.Score, Fallback: d.Fallback}
	if d.Match != nil {
		r.Scores = make([]providers.RouteScore, 0, min(len(d.Match.Scores), maxRoutingScores))
		for _, s := range d.Match.Scores[:min(len(d.Match.Scores), maxRoutingScores)] {
			r.Scores = append(r.Scores, providers.RouteScore{Route: s.Route, Score: s.Score})
		}
	}
	return r
}

func setDecisionHeaders(h http.Header, d router.Decision) {
	if d.Route != "" {
		h.Set(HeaderRoute, d.Route)
	}
	h.Set(HeaderDecidedBy, d.DecidedBy)
	if d.Match != nil {
		h.Set(HeaderScore, strconv.FormatFloat(d.Score, 'f', 4, 64))
	}
}

// requestError turns a parse failure into a client error: 413 for an
// oversize body, 408 for a body not sent within server.read_timeout (or a
// connection that failed while sending it), else 400 with the parser's
// message.
func requestError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return &httpError{status: http.StatusRequestEntityTooLarge,
			msg: "request body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes", err: err}
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &httpError{status: http.StatusRequestTimeout, msg: "request body not received in time (server.read_timeout)", err: err}
	case errors.As(err, new(*net.OpError)):
		return &httpError{status: http.StatusBadRequest, msg: "request body could not be read", err: err}
	}
	return &httpError{status: http.StatusBadRequest, msg: err.Error(), err: err}
}

// logRequest writes the one line per request. sent is the status the
// client got when that is not what err maps to (a stream that failed after
// its headers went out got 200 and an in-band error).
func logRequest(log *zerolog.Logger, d router.Decision, tr *providers.Trace, stream bool, sent int, err error, took time.Duration) {
	ev := log.Info()
	if err != nil {
		ev = log.Warn().Err(err)
	}
	status := http.StatusOK
	if err != nil {
		status = statusOf(err)
		if sent != 0 {
			ev = ev.Int("error_status", status)
			status = sent
		}
	}
	upstream := 0
	if n := len(tr.Attempts); n > 0 {
		upstream = tr.Attempts[n-1].Status
	}
	ev.Str("route", d.Route).
		Str("model", d.Model).
		Str("decided_by", d.DecidedBy).
		Float64("score", d.Score).
		Str("target", tr.Target).
		Int("attempts", len(tr.Attempts)).
		Int("upstream_status", upstream).
		Int("status", status).
		Bool("stream", stream).
		Float64("decide_ms", ms(d.Took)).
		Float64("took_ms", ms(took)).
		Func(func(e *zerolog.Event) {
			if j := d.Judge; j != nil {
				e.Str("judge_answer", j.Answer).Bool("judge_used", j.Used).Bool("judge_cached", j.Cached).
					Float64("judge_ms", j.TookMS).Str("judge_error", j.Error)
			}
		}).
		Msg("chat completion")
}

// ms is d in milliseconds, to the microsecond, for log fields named *_ms.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
