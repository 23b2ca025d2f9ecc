package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/providers/sse"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/tracing"
)

// Endpoint is one configured provider, for GET /v1/endpoints.
type Endpoint struct {
	Name    string
	Kind    string
	BaseURL string // as configured: no key is ever part of it
	// Models are the models configured for it (its models list and the
	// route targets naming it); discovered ones are added when listed.
	Models []string
}

// handleForward serves an OpenAI API path that switchyard forwards as it
// is (POST /v1/embeddings, /v1/completions, /v1/responses), path being
// the part below the upstream's API root ("/embeddings"). The body's
// model picks the chain as for chat (no semantic routing: a model is
// required); keys, limits, usage and metrics apply as for chat, and the
// chain's retries and failover as far as nothing has reached the client.
func (s *Server) handleForward(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveForward(w, r, path) }
}

func (s *Server) serveForward(w http.ResponseWriter, r *http.Request, path string) {
	start := time.Now()
	rt := s.runtime(r)
	ctx, span := tracing.Start(tracing.Extract(r.Context(), r.Header), "forward "+path, tracing.Server...)
	var spanErr error
	defer func() { tracing.End(span, spanErr) }()
	log := logOf(ctx)
	refuse := func(err error, reason, msg string) {
		log.Info().Err(err).Str("path", path).Int("status", statusOf(err)).Msg(msg)
		rt.refused(providers.DialectOpenAI, err, reason)
		spanErr = err
		writeOpenAIError(w, err)
	}

	key, err := rt.authenticate(r)
	if err != nil {
		refuse(err, reasonUnauthorized, "rejected key")
		return
	}
	fr, err := openai.ParseForward(http.MaxBytesReader(w, r.Body, rt.maxBody()), path)
	if err != nil {
		refuse(requestError(err, rt.maxBody()), reasonInvalid, "rejected request")
		return
	}
	// The router and the key's allowlist see the request as they see a
	// chat request naming a model.
	req := &providers.Request{Model: fr.Model, Stream: fr.Stream, Fields: fr.Body, Dialect: providers.DialectOpenAI,
		Session: r.Header.Get(HeaderSession)}
	if err := allowed(key, req, nil); err != nil {
		refuse(err, reasonForbidden, "model not allowed")
		return
	}
	dec, err := rt.Router.Decide(ctx, req)
	if err != nil {
		refuse(err, reasonNoRoute, "no route")
		return
	}
	if rt.Observer != nil {
		rt.Observer.Decided(dec)
	}
	reservation, err := rt.reserveTokens(ctx, key, estimateForward(fr))
	if err != nil {
		refuse(err, reasonRateLimited, "over a key's limit")
		return
	}
	if key != nil {
		setLogKey(ctx, key.Name)
	}
	setDecisionHeaders(w.Header(), dec)

	tr := &providers.Trace{}
	ctx = providers.WithTrace(ctx, tr)
	settled := false
	settle := func() {
		if !settled {
			settled = true
			rt.settle(reservation, tr.Model, tr.Usage)
		}
	}
	started := false // the client has a status and (part of) an answer
	var relay providers.Relay
	if fr.Stream {
		relay = func(ctx context.Context, t providers.Target, resp *http.Response, commit func() error) error {
			return relayStream(ctx, rt, w, t, resp, commit, tr, settle, &started)
		}
	} else {
		relay = func(_ context.Context, t providers.Target, resp *http.Response, commit func() error) error {
			return relayWhole(rt, w, t, resp, commit, tr, settle, &started)
		}
	}
	err = dec.Chain.Forward(ctx, fr, relay)
	settle()
	if errors.Is(err, providers.ErrCannotForward) {
		err = &httpError{status: http.StatusBadRequest, err: err,
			msg: "model " + strconv.Quote(clip(fr.Model, maxEchoed)) + " is served only by providers that cannot take " + path + " (it needs an OpenAI-compatible provider)"}
	}
	sent := 0
	if started {
		sent = http.StatusOK
	} else if err != nil {
		writeOpenAIError(w, err)
	}
	took := time.Since(start)
	spanErr = err
	ev := log.Info()
	status := http.StatusOK
	if err != nil {
		ev = log.Warn().Err(err)
		status = statusOf(err)
		if sent != 0 {
			ev = ev.Int("error_status", status)
			status = sent
		}
	}
	ev.Str("path", path).Str("route", dec.Route).Str("model", dec.Model).Str("target", tr.Target).
		Int("attempts", len(tr.Attempts)).Int("status", status).Bool("stream", fr.Stream).
		Float64("took_ms", float64(took.Microseconds())/1000).Msg("forwarded")
	if rt.Usage != nil || rt.Observer != nil {
		rec := usageRecord(r, rt.Prices, providers.DialectOpenAI, key, req, dec, tr, sent, err, start, took)
		if rt.Usage != nil {
			rt.Usage.Add(rec)
		}
		if rt.Observer != nil {
			rt.Observer.Served(rec, tr.Attempts)
		}
	}
}

// relayWhole reads a non-streamed answer whole (a failure to do so can
// still fail over), then hands it to the client as the upstream sent it.
func relayWhole(rt *Runtime, w http.ResponseWriter, t providers.Target, resp *http.Response, commit func() error,
	tr *providers.Trace, settle func(), started *bool) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return upstreamReadError(t, err)
	}
	if err := commit(); err != nil {
		return err
	}
	tr.Usage = openai.ForwardedUsage(body)
	settle()
	h := w.Header()
	h.Set(HeaderModel, t.Name)
	h.Set("Content-Type", cmp.Or(resp.Header.Get("Content-Type"), "application/json"))
	rt.writeDeadline(w)
	w.WriteHeader(resp.StatusCode)
	*started = true
	w.Write(body)
	return nil
}

// relayStream relays a stream event by event, as the upstream named and
// sent them ("data: [DONE]" included for the APIs that send it), each
// flushed at once. Until its first event, a failure can still fail over;
// after it, a failure is sent as an in-band OpenAI error event, and the
// stream ends.
func relayStream(ctx context.Context, rt *Runtime, w http.ResponseWriter, t providers.Target, resp *http.Response, commit func() error,
	tr *providers.Trace, settle func(), started *bool) error {
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		// An upstream that does not stream this path answered whole.
		return relayWhole(rt, w, t, resp, commit, tr, settle, started)
	}
	events := sse.NewReader(resp.Body)
	out := newSSE(w, rt.WriteTimeout)
	for {
		ev, err := events.Next()
		if err == io.EOF {
			if !out.started {
				return providers.Transport(t.Name, errors.New("stream ended before its first event"))
			}
			settle()
			return nil
		}
		if err != nil {
			err = upstreamReadError(t, err)
			var timeout *providers.Error
			if ctx.Err() != nil && errors.As(context.Cause(ctx), &timeout) {
				err = timeout // the attempt's idle timeout fired, not the client
			}
			if out.started {
				out.send(openai.NewError(statusOf(err), publicMessage(err), errorType(err)))
			}
			return err
		}
		if !out.started {
			if err := commit(); err != nil {
				return err
			}
			w.Header().Set(HeaderModel, t.Name)
			*started = true
		}
		if u := openai.ForwardedUsage(ev.Data); u != nil {
			tr.Usage = u
		}
		if string(ev.Data) == "[DONE]" {
			settle() // before the client has the whole answer, as for chat
		}
		if err := out.event(ev.Name, ev.Data); err != nil {
			return err // the client went away
		}
	}
}

// upstreamReadError classifies a failure to read a forwarded answer: the
// provider's own classification when it made one, else a retryable 502.
func upstreamReadError(t providers.Target, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return providers.Transport(t.Name, err)
}

// estimateForward is a forwarded request's likely tokens, for its
// reservation: the body's bytes / 4, plus the completion it may ask for
// (max_tokens, max_output_tokens, else defaultCompletionReserve; none for
// embeddings).
func estimateForward(fr *providers.ForwardRequest) int {
	n := 0
	for k, v := range fr.Body {
		n += len(k) + len(v)
	}
	n /= 4
	if fr.Path == "/embeddings" {
		return n
	}
	completion := defaultCompletionReserve
	for _, name := range []string{"max_tokens", "max_output_tokens", "max_completion_tokens"} {
		if v, err := strconv.Atoi(string(fr.Body[name])); err == nil && v > 0 {
			completion = v
			break
		}
	}
	return n + completion
}

// reserveTokens counts a request of about n tokens against its key's
// limits; a 429 when a limit is hit.
func (rt *Runtime) reserveTokens(ctx context.Context, k *auth.Key, n int) (*auth.Reservation, error) {
	if k == nil || rt.Limits == nil {
		return nil, nil
	}
	res, err := rt.Limits.ReserveContext(ctx, k, n)
	if err != nil {
		return nil, &httpError{status: http.StatusTooManyRequests, msg: err.Error(), err: err}
	}
	return res, nil
}

// handleModel serves GET /v1/models/{id} from GET /v1/models' list (an id
// may hold slashes: "openai/gpt-4o", "Qwen/Qwen2.5-7B-Instruct"); an
// unknown id is a 404 with OpenAI's code model_not_found, as any model
// nothing serves (router.ErrNoRoute).
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	if _, err := rt.authenticate(r); err != nil {
		writeOpenAIError(w, err)
		return
	}
	id := r.URL.Path
	for _, p := range []string{"/v1/models/", "/models/"} {
		if rest, ok := strings.CutPrefix(id, p); ok {
			id = rest
			break
		}
	}
	for _, m := range s.models(rt) {
		if m.ID == id {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeOpenAIError(w, fmt.Errorf("%w: model %s does not exist: it is not a route, alias or served model (see GET /v1/models)",
		router.ErrNoRoute, strconv.Quote(clip(id, maxEchoed))))
}

// endpoint is one entry of GET /v1/endpoints.
type endpoint struct {
	ID     string   `json:"id"`
	Object string   `json:"object"` // always "endpoint"
	Kind   string   `json:"kind"`
	URL    string   `json:"url"`
	Models []string `json:"models"`
	// CircuitsOpen counts its models whose circuit breaker is open.
	CircuitsOpen int `json:"circuits_open"`
}

// handleEndpoints serves GET /v1/endpoints, AI Proxy's list of the
// configured endpoints (providers) with the models each serves:
// configured, then discovered, sorted.
func (s *Server) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	if _, err := rt.authenticate(r); err != nil {
		writeOpenAIError(w, err)
		return
	}
	discovered := map[string][]string{}
	if rt.Discovery != nil {
		for _, m := range rt.Discovery.Models() {
			for _, p := range m.Providers {
				discovered[p] = append(discovered[p], m.ID)
			}
		}
	}
	open := map[string]int{}
	if rt.Health != nil {
		for _, st := range rt.Health.Status(time.Now()) {
			if st.State == providers.CircuitOpen {
				open[st.Provider]++
			}
		}
	}
	data := make([]endpoint, 0, len(rt.Endpoints))
	for _, e := range rt.Endpoints {
		models := append(slices.Clone(e.Models), discovered[e.Name]...)
		slices.Sort(models)
		models = slices.Compact(models)
		if models == nil {
			models = []string{}
		}
		data = append(data, endpoint{ID: e.Name, Object: "endpoint", Kind: e.Kind, URL: publicURL(e.BaseURL), Models: models, CircuitsOpen: open[e.Name]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// publicURL is a base URL without what may be a secret: user
// information, query and fragment.
func publicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
