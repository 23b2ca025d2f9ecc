package proxy

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// defaultCompletionReserve is how many completion tokens a request that
// sets no max_tokens is assumed to spend, for its reservation against a
// token limit; it is settled with the upstream's real usage afterwards.
const defaultCompletionReserve = 1024

// keyring is the keys in force; nil when none are configured.
func (rt *Runtime) keyring() *auth.Keyring {
	if rt.Keys == nil {
		return nil
	}
	return rt.Keys.Ring()
}

// authenticate returns the key a request carries when rt requires keys,
// nil when it does not; the error is a 401 in any dialect.
func (rt *Runtime) authenticate(r *http.Request) (*auth.Key, error) {
	ring := rt.keyring()
	if ring == nil || ring.Len() == 0 {
		return nil, nil
	}
	k, err := ring.Check(auth.FromRequest(r), time.Now())
	if err != nil {
		return nil, &httpError{status: http.StatusUnauthorized, msg: err.Error(), err: err}
	}
	return k, nil
}

// allowed checks the key's allowlist for the model the client asked for
// (an explicit model, route or alias), or, for a routed request ("auto"
// or none), the route it was sent to: a 403 when the key may not. A model
// asked for as provider/model that reached that provider as such
// (Decision.Provider) is also allowed by its upstream model's name alone
// (the model at any provider) and by "provider/*" (any model there).
func allowed(k *auth.Key, req *providers.Request, dec *router.Decision) error {
	if k == nil {
		return nil
	}
	asked, auto := req.Model, router.IsAuto(req.Model)
	if auto {
		asked = "auto"
	}
	_, _, split := router.SplitModel(asked)
	switch {
	case k.Allows(asked):
		return nil
	case (auto || split) && dec == nil:
		return nil // decided once the route, or the provider, is known
	case auto && dec.Route != "" && k.Allows(dec.Route):
		return nil
	case !auto && dec != nil && dec.Provider != "" && (k.Allows(dec.Upstream) || k.Allows(dec.Provider+"/*")):
		return nil
	}
	return &httpError{status: http.StatusForbidden,
		msg: "API key " + strconv.Quote(k.Name) + " may not use model " + strconv.Quote(clip(asked, maxEchoed))}
}

// reserve counts the request against its key's limits, with an estimate
// of its tokens (the prompt's bytes / 4, plus max_tokens or
// defaultCompletionReserve); a 429 with Retry-After when a limit is hit.
func (rt *Runtime) reserve(ctx context.Context, k *auth.Key, req *providers.Request) (*auth.Reservation, error) {
	if k == nil || rt.Limits == nil {
		return nil, nil
	}
	res, err := rt.Limits.ReserveContext(ctx, k, estimateTokens(req))
	if err != nil {
		return nil, &httpError{status: http.StatusTooManyRequests, msg: err.Error(), err: err}
	}
	return res, nil
}

// estimateTokens is a request's likely prompt + completion tokens.
func estimateTokens(req *providers.Request) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Text())/4 + 4
	}
	f := req.OpenAI()
	completion := defaultCompletionReserve
	for _, name := range []string{"max_completion_tokens", "max_tokens"} {
		if raw, ok := f[name]; ok {
			if v, err := strconv.Atoi(string(raw)); err == nil && v > 0 {
				completion = v
				break
			}
		}
	}
	if raw, ok := req.Fields["max_tokens"]; ok { // an Anthropic request's own
		if v, err := strconv.Atoi(string(raw)); err == nil && v > 0 {
			completion = v
		}
	}
	return n + completion
}

// settle replaces a reservation's estimate with the tokens the upstream
// reported (the estimate stands when it reported none), and adds the
// request's cost, by rt's prices for the model that answered, to the
// key's spend.
func (rt *Runtime) settle(res *auth.Reservation, model string, u *providers.Usage) {
	if res == nil {
		return
	}
	if u == nil || u.PromptTokens+u.CompletionTokens == 0 {
		res.Settle(res.Estimate(), 0)
		return
	}
	res.Settle(u.PromptTokens+u.CompletionTokens, rt.Prices.Cost(model, u.PromptTokens, u.CompletionTokens, u.CachedTokens))
}

// setLimitHeaders adds Retry-After to a 429 from a key's limit.
func setLimitHeaders(h http.Header, err error) {
	if le := limitError(err); le != nil {
		h.Set("Retry-After", strconv.Itoa(le.RetryAfter()))
	}
}

func limitError(err error) *auth.LimitError {
	var le *auth.LimitError
	if errors.As(err, &le) {
		return le
	}
	return nil
}
