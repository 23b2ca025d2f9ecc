// Package router decides which provider chain serves a chat request: a
// pinned model name goes to the chain that serves it, a route name to that
// route, and no model (or "auto") to the route whose condition best matches
// the conversation, falling back to the default route when no route is sure
// enough.
package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router/judge"
)

// ErrNoRoute reports a model name that no route, alias or provider serves
// (configured or discovered).
var ErrNoRoute = errors.New("no route")

// How a decision was reached, as reported in X-Switchyard-Decided-By.
const (
	ByEmbedding = "embedding" // the best route cleared its threshold
	ByDefault   = "default"   // no route cleared its threshold, or nothing to embed
	ByExplicit  = "explicit"  // the request named a route or a model
	ByJudge     = "judge"     // the embedding was unsure and the LLM judge chose (Options.Judge)
	// BySticky (session.go): the conversation kept its route.
)

// Classifier is what the router needs from classification.
type Classifier interface {
	Classify(ctx context.Context, text string) (classifier.Match, error)
}

// Route is a named provider chain.
type Route struct {
	Name  string
	Chain *providers.Chain
	// Condition is the route's plain-language condition, shown to the
	// judge; may be empty.
	Condition string
	// Tasks are the task types of the built-in task library that the
	// condition was grounded in (e.g. "coding", "code_explanation"),
	// shown to the judge as the route's typical requests; may be empty.
	Tasks []string
}

// Options configures a Router. Zero values are the documented defaults.
type Options struct {
	// Routes are the routes in config order.
	Routes []Route
	// DefaultRoute names the route taken when no route clears its
	// threshold. Required when Routes is not empty.
	DefaultRoute string
	// Models maps explicit model names (aliases, and the models providers
	// serve) to the chain that serves them.
	Models map[string]*providers.Chain
	// Discover, if set, is asked for the chain of an explicit model that
	// is neither a route nor in Models (a model a provider listed itself,
	// see providers.Catalog.Chain); nil from it, or no Discover, is
	// ErrNoRoute. It must be safe for concurrent use.
	Discover func(model string) *providers.Chain
	// Direct, if set, is asked for the chain of an explicit model written
	// provider/model ("openai/gpt-4o") that is nothing else by that whole
	// name (not a route, nor in Models, nor discovered): the name is cut
	// at its first slash, and Direct gets the provider's name and the
	// upstream model ("gpt-4o"; "meta-llama/Llama-3" for
	// "groq/meta-llama/Llama-3"). nil from it (no such provider) is
	// ErrNoRoute. It must be safe for concurrent use.
	Direct func(provider, model string) *providers.Chain
	// Turns is how many of the last user turns are routed on; 0 means 1.
	Turns int
	// TurnDecay, when Turns > 1, embeds each of those turns on its own and
	// routes on their weighted sum: weight 1 for the last turn, TurnDecay
	// for the one before, TurnDecay² before that (see TurnClassifier). 0
	// routes on the turns joined as one text instead.
	TurnDecay float64
	// Sessions, if set, makes routing sticky (see Sessions); nil is off.
	// It may be shared by successive Routers.
	Sessions *Sessions
	// StickyMargin is how far a new turn's best route must beat the
	// score of its conversation's route, over it, to take the
	// conversation over. Used only with Sessions.
	StickyMargin float64
	// MaxChars bounds the routed text, keeping its start; the embedder
	// truncates further to its own token limit. 0 means 4096.
	MaxChars int
	// Margin refuses a cleared match whose best route beats the second by
	// less than this; the request takes the default route. 0 is off.
	Margin float64
	// Judge, if set, is asked to choose among the best routes when the
	// embedding is unsure, or among all of them on every request (see
	// JudgeWhen). Its failures fall back to the embedding decision.
	Judge Judge
	// JudgeWhen says when Judge is asked.
	JudgeWhen JudgeWhen
}

// Router is immutable after New and safe for concurrent use.
type Router struct {
	cls      Classifier
	routes   map[string]*providers.Chain
	order    []string
	def      string
	models   map[string]*providers.Chain
	discover func(model string) *providers.Chain
	direct   func(provider, model string) *providers.Chain
	turns    int
	maxChars int
	margin   float64
	judge    Judge
	when     JudgeWhen
	cands    map[string]judge.Candidate // route → how the judge is shown it
	decay    float64
	sessions *Sessions // the router's one mutable part; nil is not sticky
	sticky   float64
}

// New checks opts and returns a Router. cls may be nil when no route has a
// condition; every request then takes the default route.
func New(cls Classifier, opts Options) (*Router, error) {
	r := &Router{
		cls:      cls,
		routes:   make(map[string]*providers.Chain, len(opts.Routes)),
		def:      opts.DefaultRoute,
		models:   maps.Clone(opts.Models),
		discover: opts.Discover,
		direct:   opts.Direct,
		turns:    max(opts.Turns, 1),
		maxChars: opts.MaxChars,
		margin:   opts.Margin,
		judge:    opts.Judge,
		when:     opts.JudgeWhen,
		cands:    make(map[string]judge.Candidate, len(opts.Routes)),
		decay:    opts.TurnDecay,
		sessions: opts.Sessions,
		sticky:   opts.StickyMargin,
	}
	if r.maxChars <= 0 {
		r.maxChars = 4096
	}
	for _, rt := range opts.Routes {
		if _, dup := r.routes[rt.Name]; dup {
			return nil, fmt.Errorf("router: duplicate route %q", rt.Name)
		}
		if rt.Chain == nil {
			return nil, fmt.Errorf("router: route %q has no chain", rt.Name)
		}
		r.routes[rt.Name] = rt.Chain
		r.cands[rt.Name] = judge.Candidate{Name: rt.Name, Condition: rt.Condition, Tasks: slices.Clone(rt.Tasks)}
		r.order = append(r.order, rt.Name)
	}
	if _, ok := r.routes[r.def]; !ok && (len(r.routes) > 0 || r.def != "") {
		return nil, fmt.Errorf("router: default route %q is not a route", r.def)
	}
	for name, c := range r.models {
		if c == nil {
			return nil, fmt.Errorf("router: model %q has no chain", name)
		}
	}
	return r, nil
}

// Decision is the outcome of Decide.
type Decision struct {
	// Route is the route taken; empty for an explicit model.
	Route string
	// Model is the explicit model asked for, if any.
	Model string
	// Provider and Upstream are the two halves of a Model written
	// provider/model that reached that provider as such (Options.Direct);
	// empty otherwise.
	Provider, Upstream string
	// DecidedBy is one of ByEmbedding, ByDefault, ByExplicit, BySticky,
	// ByJudge.
	DecidedBy string
	// Score is the taken route's similarity, but for a ByDefault decision,
	// where it is the best route's (which did not clear, or lost the
	// margin); 0 when not classified.
	Score float64
	// Match holds every route's score when the request was classified.
	Match *classifier.Match
	// Text is what was routed on.
	Text string
	// Fallback explains a ByDefault decision ("below threshold",
	// "no text", or the classification error that was absorbed), and
	// why a BySticky decision kept the conversation's route.
	Fallback string
	// Session is the conversation's session key, shortened, when routing
	// is sticky and the conversation has one ("header:…" or "turns:…").
	Session string
	// Chain serves the request.
	Chain *providers.Chain
	// Took is the time the decision took, embedding included.
	Took time.Duration
	// Judge reports the LLM judge's part; nil when it was not asked.
	Judge *JudgeInfo
}

// SplitModel cuts a model name written provider/model at its first
// slash. ok is false when either half would be empty or the name has no
// slash; whether the first half names a provider is the caller's to check.
func SplitModel(name string) (provider, model string, ok bool) {
	provider, model, ok = strings.Cut(name, "/")
	if !ok || provider == "" || model == "" {
		return "", "", false
	}
	return provider, model, true
}

// IsAuto reports whether model asks switchyard to choose.
func IsAuto(model string) bool {
	return model == "" || strings.EqualFold(model, "auto")
}

// Decide picks the chain for req. A failure to classify (the embedder is
// down) is not the client's problem: the request takes the default route
// and Decision.Fallback says why.
func (r *Router) Decide(ctx context.Context, req *providers.Request) (Decision, error) {
	start := time.Now()
	d, err := r.decide(ctx, req)
	if err == nil && r.sessions != nil && d.DecidedBy != ByExplicit {
		d = r.stick(ctx, req, d)
	}
	d.Took = time.Since(start)
	return d, err
}

func (r *Router) decide(ctx context.Context, req *providers.Request) (Decision, error) {
	if !IsAuto(req.Model) {
		if chain, ok := r.routes[req.Model]; ok {
			return Decision{Route: req.Model, DecidedBy: ByExplicit, Chain: chain}, nil
		}
		if chain, ok := r.models[req.Model]; ok {
			return Decision{Model: req.Model, DecidedBy: ByExplicit, Chain: chain}, nil
		}
		if r.discover != nil {
			if chain := r.discover(req.Model); chain != nil {
				return Decision{Model: req.Model, DecidedBy: ByExplicit, Chain: chain}, nil
			}
		}
		if provider, model, ok := SplitModel(req.Model); ok && r.direct != nil {
			if chain := r.direct(provider, model); chain != nil {
				return Decision{Model: req.Model, Provider: provider, Upstream: model, DecidedBy: ByExplicit, Chain: chain}, nil
			}
		}
		return Decision{}, fmt.Errorf("%w: model %q is not a route, alias or served model", ErrNoRoute, clipName(req.Model))
	}
	if len(r.routes) == 0 {
		return Decision{}, fmt.Errorf("%w: no routes are configured; name a model", ErrNoRoute)
	}
	text, turns := r.routed(req.Messages)
	switch {
	case text == "":
		return r.fallback(Decision{Text: text, Fallback: "no text to route on"}), nil
	case r.cls == nil:
		return r.fallback(Decision{Text: text, Fallback: "no route has a condition"}), nil
	}
	m, err := r.classify(ctx, text, turns)
	switch {
	case errors.Is(err, classifier.ErrNoRoutes):
		return r.fallback(Decision{Text: text, Fallback: "no route has a condition"}), nil
	case err != nil && ctx.Err() != nil:
		return Decision{}, ctx.Err()
	case err != nil:
		return r.fallback(Decision{Text: text, Fallback: "classification failed: " + err.Error()}), nil
	}
	d, done, err := r.judged(ctx, Decision{Text: text, Match: &m, Score: m.Score})
	if done || err != nil {
		return d, err
	}
	if m.Cleared && r.margin > 0 && len(m.Scores) > 1 && m.Margin < r.margin {
		d.Fallback = fmt.Sprintf("best route %q leads %q by %.3f, under the margin %.3f", m.Route, m.Scores[1].Route, m.Margin, r.margin)
		return r.fallback(d), nil
	}
	if m.Cleared {
		if chain, ok := r.routes[m.Route]; ok {
			d.Route, d.DecidedBy, d.Chain = m.Route, ByEmbedding, chain
			return d, nil
		}
	}
	if _, ok := r.routes[m.Route]; !ok {
		// The index's stand-in for "none of the routes" (ground.NoneRoute)
		// is never a route to take.
		d.Fallback = fmt.Sprintf("nearest to %q, which stands for none of the routes (score %.3f)", m.Route, m.Score)
		return r.fallback(d), nil
	}
	d.Fallback = fmt.Sprintf("best route %q scored %.3f, below its threshold", m.Route, m.Score)
	return r.fallback(d), nil
}

func (r *Router) fallback(d Decision) Decision {
	d.Route, d.DecidedBy, d.Chain = r.def, ByDefault, r.routes[r.def]
	if d.Judge != nil && d.Judge.Error != "" {
		d.Fallback += "; the judge failed: " + d.Judge.Error
	}
	// The score reported is the best route's, the one that failed to
	// clear: the default route is rarely scored at all (it often has no
	// condition), and "0.000" would hide how near the request came.
	if d.Match != nil {
		d.Score = d.Match.Score
	}
	return d
}

func scoreOf(m *classifier.Match, route string) float64 {
	for _, s := range m.Scores {
		if s.Route == route {
			return s.Score
		}
	}
	return 0
}

// RoutedText is what a conversation is routed on: the text parts of its
// last turns user turns (images and other parts ignored), oldest first,
// joined by newlines and cut to maxChars at a rune boundary.
func RoutedText(msgs []providers.Message, turns, maxChars int) string {
	return cut(strings.Join(UserTurns(msgs, turns, 0), "\n"), maxChars)
}

// Routes lists the route names in config order.
func (r *Router) Routes() []string { return append([]string(nil), r.order...) }

// Models lists the explicit model names served, unordered.
func (r *Router) Models() []string {
	out := make([]string, 0, len(r.models))
	for m := range r.models {
		out = append(out, m)
	}
	return out
}

// Target finds a target by its name ("provider/model") in any route's or
// model's chain, else at the provider so named (Options.Direct), for a
// test of that one target.
func (r *Router) Target(name string) (providers.Target, bool) {
	for _, chains := range []map[string]*providers.Chain{r.routes, r.models} {
		for _, c := range chains {
			for _, t := range c.Targets {
				if t.Name == name {
					return t, true
				}
			}
		}
	}
	if p, m, ok := SplitModel(name); ok && r.direct != nil {
		if c := r.direct(p, m); c != nil && len(c.Targets) > 0 {
			return c.Targets[0], true
		}
	}
	return providers.Target{}, false
}

// maxEchoedName bounds how much of a client's model name an error repeats.
const maxEchoedName = 200

// clipName cuts a client's model name for an error message: a 3 MB name
// is not echoed back, or logged, whole.
func clipName(s string) string {
	if len(s) <= maxEchoedName {
		return s
	}
	cut := maxEchoedName
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
