package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/embed"
	"github.com/switchyard-router/switchyard/embed/kernel"
	"github.com/switchyard-router/switchyard/embed/modelstore"
	"github.com/switchyard-router/switchyard/ground"
	"github.com/switchyard-router/switchyard/metrics"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/echo"
	"github.com/switchyard-router/switchyard/providers/ocf"
	"github.com/switchyard-router/switchyard/providers/ollama"
	"github.com/switchyard-router/switchyard/providers/openai"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/router/judge"
	"github.com/switchyard-router/switchyard/shared"
	"github.com/switchyard-router/switchyard/tracing"
	"github.com/switchyard-router/switchyard/upstream"
)

// Env is what building a runtime takes from outside the config: the
// process's environment and output, and what Serve sets up once for every
// runtime (shared state, metrics). Injected so that tests build in-process.
type Env struct {
	Getenv  func(string) string // nil reads as every variable unset
	Environ func() []string     // for the config's SWITCHYARD_* overrides; may be nil
	// Stderr hears what is shown to the operator once, outside the log (a
	// generated admin key); nil discards it.
	Stderr io.Writer
	// Log hears what runtimes report while serving (request fields an
	// upstream dialect has no room for); nil for none.
	Log *zerolog.Logger
	// Shared is the state replicas share (sticky sessions, judge
	// verdicts); nil for none. Serve sets it from the config.
	Shared *shared.Store
	// Metrics, if set, times the embedding model. Serve sets it.
	Metrics *metrics.Metrics
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

func (e Env) environ() []string {
	if e.Environ == nil {
		return nil
	}
	return e.Environ()
}

func (e Env) stderr() io.Writer {
	if e.Stderr == nil {
		return io.Discard
	}
	return e.Stderr
}

// Runtime is everything one configuration builds: what the proxy serves
// and what must be closed when it is replaced.
type Runtime struct {
	Proxy    *proxy.Runtime
	Router   *router.Router
	Embedder embed.Embedder
	Judge    *judge.Judge // nil when no judge is configured
	// Grounded is what grounding made of the routes; nil when no route
	// has a condition or examples.
	Grounded *ground.Result
	close    func() error // closes the embedder; carried over when it is reused
	// stop ends what this runtime runs in the background (active health
	// checks); called when it is replaced, and at exit.
	stop func()
	// keys are the config's client keys, put in force when the runtime is.
	keys []auth.Key
}

// Close stops what the runtime runs in the background and closes its
// embedder, for a runtime built on its own (Build); a Gateway closes
// its runtimes itself.
func (rt *Runtime) Close() error {
	if rt.stop != nil {
		rt.stop()
		rt.stop = nil
	}
	if rt.close == nil {
		return nil
	}
	err := rt.close()
	rt.close = nil
	return err
}

// Describe fills st's view of the runtime: its routes, embedder, query
// cache and judge.
func (rt *Runtime) Describe(st *proxy.Status) {
	st.Routes = rt.Router.Routes()
	st.Embedder = rt.Embedder.ID()
	if c, ok := rt.Embedder.(interface{ Stats() (hits, misses uint64) }); ok {
		h, m := c.Stats()
		st.Cache = &proxy.CacheStats{Hits: h, Misses: m}
	}
	if rt.Judge != nil {
		js := rt.Judge.Stats()
		st.Judge = &js
	}
}

// ModelsRoot is the local embedder's models directory: dir when set, else
// the default (modelstore.Root).
func ModelsRoot(dir string, getenv func(string) string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return modelstore.Root(getenv)
}

// NeedsEmbedder reports whether cfg has a route to classify against. A
// config of explicit models only never loads the embedding model.
func NeedsEmbedder(cfg *config.Config) bool {
	for _, r := range cfg.Routes {
		if strings.TrimSpace(r.Condition) != "" || len(r.Examples) > 0 {
			return true
		}
	}
	return false
}

// noEmbedder stands in for the embedder of a config that needs none.
type noEmbedder struct{}

func (noEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("no embedder: no route has a condition or examples")
}
func (noEmbedder) ID() string { return "none (no route has a condition or examples)" }
func (noEmbedder) Dim() int   { return 0 }

// UpstreamClient is shared by every provider: no Timeout (it would cut
// long streams; deadlines come from contexts), generous idle pooling so a
// busy route reuses its connections.
func UpstreamClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	// Redirects are not followed (providers.Send refuses them too): the
	// embedders share this client, and a redirected call would carry their
	// key elsewhere.
	// Upstreams that trace continue switchyard's trace (W3C traceparent).
	// Cleartext HTTP/1.1 upstreams (local inference servers) are served on
	// the calling goroutine; https and proxied ones by t.
	lean := upstream.New(t, t.Proxy)
	lean.Dial = t.DialContext
	return &http.Client{Transport: tracing.Transport(lean), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// BuildEmbedder makes the configured embedder, wrapped in the query cache.
func BuildEmbedder(ctx context.Context, cfg *config.Config, e Env, hc *http.Client, models string) (embed.Embedder, func() error, error) {
	ec := cfg.Embedder
	nop := func() error { return nil }
	var (
		base  embed.Embedder
		close = nop
	)
	switch ec.Kind {
	case "local":
		m, ok := modelstore.Lookup(ec.Model)
		if !ok {
			return nil, nil, fmt.Errorf("embedder: unknown local model %q (built in: %s)", ec.Model, modelstore.MiniLMName)
		}
		root, err := ModelsRoot(models, e.getenv)
		if err != nil {
			return nil, nil, err
		}
		// Validate admits only auto, fp32 and int8; NewLocal resolves auto
		// for the CPU.
		prec, err := kernel.ParsePrecision(ec.Precision)
		if err != nil {
			return nil, nil, fmt.Errorf("embedder: %w", err)
		}
		local, err := embed.NewLocal(ctx, m.Dir(root), m, embed.LocalOptions{Precision: prec})
		if err != nil {
			return nil, nil, err
		}
		base, close = local, local.Close
	case "ollama":
		o, err := embed.NewOllama(ec.URL, ec.Model, hc, embed.RemoteOptions{Timeout: ec.Timeout})
		if err != nil {
			return nil, nil, err
		}
		base = o
	case "openai":
		o, err := embed.NewOpenAI(ec.URL, ec.Model, e.getenv(ec.APIKeyEnv), hc, embed.RemoteOptions{Timeout: ec.Timeout})
		if err != nil {
			return nil, nil, err
		}
		base = o
	default:
		return nil, nil, fmt.Errorf("embedder: unknown kind %q", ec.Kind)
	}
	if e.Metrics != nil {
		base = e.Metrics.Embedder(base)
	}
	if ec.CacheSize == 0 {
		return base, close, nil // embedder.cache_size: 0 turns the cache off
	}
	return embed.NewCached(base, ec.CacheSize), close, nil
}

// Build turns a validated config into the serving state. It is the
// only provider registry: adding a dialect means a case here.
func Build(ctx context.Context, cfg *config.Config, e Env, models string, reg *providers.Registry) (*Runtime, error) {
	hc := UpstreamClient()
	var (
		emb      embed.Embedder = noEmbedder{}
		closeEmb                = func() error { return nil }
		err      error
	)
	if NeedsEmbedder(cfg) {
		if emb, closeEmb, err = BuildEmbedder(ctx, cfg, e, hc, models); err != nil {
			return nil, err
		}
	}
	rt, err := BuildRouting(ctx, cfg, e, hc, emb, reg)
	if err != nil {
		closeEmb()
		return nil, err
	}
	rt.close = closeEmb
	return rt, nil
}

func BuildProviders(cfg *config.Config, e Env, hc *http.Client) (map[string]providers.Provider, error) {
	out := make(map[string]providers.Provider, len(cfg.Providers))
	for _, p := range cfg.Providers {
		key := p.APIKey
		if p.APIKeyEnv != "" {
			key = e.getenv(p.APIKeyEnv)
		}
		switch p.Kind {
		case config.ProviderOpenAI:
			c := openai.New(p.Name, p.BaseURL, key, hc)
			c.Timeout = p.Timeout
			c.MaxAnswer, c.MaxEvent = cfg.Server.MaxAnswerBytes, int(cfg.Server.MaxEventBytes)
			c.Exclude = p.ExcludeParams
			c.Headers = providerHeaders(p, e)
			out[p.Name] = c
		case config.ProviderAnthropic:
			c := anthropic.New(p.Name, p.BaseURL, key, hc) // "" = api.anthropic.com
			c.Timeout = p.Timeout
			c.MaxAnswer, c.MaxEvent = cfg.Server.MaxAnswerBytes, int(cfg.Server.MaxEventBytes)
			c.Exclude = p.ExcludeParams
			c.Headers = providerHeaders(p, e)
			// A configured anthropic-version header replaces
			// anthropic.DefaultVersion (the client sets Version last, so a
			// header of that name would otherwise be overwritten).
			if v := c.Headers.Get("Anthropic-Version"); v != "" {
				c.Version = v
				c.Headers.Del("Anthropic-Version")
			}
			if e.Log != nil {
				log, name := e.Log, p.Name
				c.Dropped = func(field string) {
					log.Debug().Str("provider", name).Str("field", field).Msg("request field has no Anthropic equivalent; dropped")
				}
			}
			out[p.Name] = c
		case config.ProviderOCF:
			c := ocf.New(p.Name, p.BaseURL, key, hc)
			c.Timeout = p.Timeout
			c.MaxAnswer, c.MaxEvent = cfg.Server.MaxAnswerBytes, int(cfg.Server.MaxEventBytes)
			c.Exclude = p.ExcludeParams
			c.Headers = providerHeaders(p, e)
			out[p.Name] = c
		case config.ProviderOllama:
			c := ollama.New(p.Name, p.BaseURL, hc)
			c.Timeout = p.Timeout
			c.MaxLine = int(cfg.Server.MaxEventBytes)
			out[p.Name] = c
		case config.ProviderEcho:
			out[p.Name] = echo.New(p.Name)
		default:
			return nil, fmt.Errorf("providers[%s]: unknown kind %q", p.Name, p.Kind)
		}
	}
	return out, nil
}

// providerHeaders merges a provider's headers, extra_headers and
// headers_env (resolved with e) into the headers sent upstream.
func providerHeaders(p config.Provider, e Env) http.Header {
	h := make(http.Header)
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	for k, v := range p.ExtraHeaders {
		h.Set(k, v)
	}
	for k, name := range p.HeadersEnv {
		// An unset variable sends no header rather than an empty one.
		if v := e.getenv(name); v != "" {
			h.Set(k, v)
		}
	}
	return h
}

// BuildRouting builds providers, chains, the route index and the router.
// Targets take their circuit breakers from reg, so a reload keeps what was
// learnt about upstreams that are still configured.
func BuildRouting(ctx context.Context, cfg *config.Config, e Env, hc *http.Client, emb embed.Embedder, reg *providers.Registry) (*Runtime, error) {
	provs, err := BuildProviders(cfg, e, hc)
	if err != nil {
		return nil, err
	}
	pcfg := make(map[string]config.Provider, len(cfg.Providers))
	for _, p := range cfg.Providers {
		pcfg[p.Name] = p
	}
	live := map[providers.HealthKey]bool{}
	// The new targets' breakers: the registry is changed only by Commit,
	// once nothing can fail, so a failed reload leaves every policy as it
	// was.
	health := reg.Pending()
	// same knows, by upstream model, the targets serving it, for the
	// same-model strategy; filled as chains are built, read only after.
	same := &sameModels{byModel: map[string][]providers.Target{}}
	targetOf := func(t config.Target) providers.Target {
		p := pcfg[t.Provider]
		key := providers.HealthKey{Provider: t.Provider, Model: t.Model}
		live[key] = true
		return providers.Target{
			Name:             key.String(),
			Provider:         provs[t.Provider],
			Model:            t.Model,
			Priority:         p.Priority,
			Weight:           p.Weight,
			Health:           health.Get(key, providers.HealthPolicy{MaxFailures: p.MaxFailures, RecoveryInterval: p.RecoveryInterval}),
			FirstByteTimeout: p.FirstByteTimeout,
			IdleTimeout:      p.StreamIdleTimeout,
		}
	}
	chainWith := func(name, fallback string, ts []config.Target) *providers.Chain {
		c := &providers.Chain{Name: name, Retries: cfg.Routing.MaxRetries, Fallback: providers.Fallback(cmp.Or(fallback, cfg.Routing.Fallback))}
		if c.Fallback == providers.FallbackSameModel {
			c.SameModel = same.lookup
		}
		for _, t := range ts {
			pt := targetOf(t)
			same.add(pt)
			if t.Priority != nil {
				pt.Priority = *t.Priority
			}
			if t.Weight != nil {
				pt.Weight = *t.Weight
			}
			c.Targets = append(c.Targets, pt)
		}
		return c
	}
	chainOf := func(name string, ts []config.Target) *providers.Chain { return chainWith(name, "", ts) }

	var (
		routes []router.Route
		infos  []proxy.ModelInfo
	)
	for _, r := range cfg.Routes {
		routes = append(routes, router.Route{Name: r.Name, Chain: chainWith("route "+strconv.Quote(r.Name), r.Fallback, r.Targets), Condition: r.Condition})
		infos = append(infos, proxy.ModelInfo{ID: r.Name, OwnedBy: "switchyard"})
	}

	// Explicit models: aliases first, then every model a provider is said
	// to serve (in its models list or as a route target), each served by
	// all the providers that have it, in config order.
	served := map[string][]config.Target{}
	var order []string
	add := func(name string, t config.Target) {
		for _, have := range served[name] {
			if have == t {
				return
			}
		}
		if _, ok := served[name]; !ok {
			order = append(order, name)
		}
		served[name] = append(served[name], t)
	}
	for _, p := range cfg.Providers {
		for _, m := range p.Models {
			add(m, config.Target{Provider: p.Name, Model: m})
		}
	}
	for _, r := range cfg.Routes {
		for _, t := range r.Targets {
			add(t.Model, t)
		}
	}
	modelChains := make(map[string]*providers.Chain, len(served)+len(cfg.Aliases))
	for _, name := range slices.Sorted(maps.Keys(cfg.Aliases)) {
		modelChains[name] = chainWith("alias "+strconv.Quote(name), cfg.AliasFallback[name], cfg.Aliases[name])
		infos = append(infos, proxy.ModelInfo{ID: name, OwnedBy: "switchyard"})
	}
	for _, name := range order {
		if _, alias := modelChains[name]; alias {
			continue
		}
		modelChains[name] = chainOf("model "+strconv.Quote(name), served[name])
		infos = append(infos, proxy.ModelInfo{ID: name, OwnedBy: served[name][0].Provider})
	}
	// Every served model is also listed as provider/model, the name that
	// reaches that provider alone (router.Options.Direct), and known to
	// the same-model fallback even where an alias hides its own chain.
	listed := map[string]bool{}
	for _, m := range infos {
		listed[m.ID] = true
	}
	named := func(t config.Target) {
		if id := t.Provider + "/" + t.Model; !listed[id] {
			listed[id] = true
			infos = append(infos, proxy.ModelInfo{ID: id, OwnedBy: t.Provider})
		}
	}
	for _, name := range order {
		for _, t := range served[name] {
			same.add(targetOf(t))
			named(t)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Aliases)) {
		for _, t := range cfg.Aliases[name] {
			named(t)
		}
	}

	var (
		cls      router.Classifier
		grounded *ground.Result
	)
	if NeedsEmbedder(cfg) {
		if grounded, err = GroundIndex(ctx, cfg, emb, cfg.Aggregation(), TasksCache(e.getenv)); err != nil {
			return nil, err
		}
		if grounded.Classifier != nil {
			cls = grounded.Classifier
		}
		for i := range routes {
			routes[i].Tasks = grounded.Routes[i].TaskNames()
		}
	}
	cat, err := buildCatalog(cfg, provs, reg)
	if err != nil {
		return nil, err
	}
	opts := router.Options{
		Routes:       routes,
		DefaultRoute: cfg.DefaultRoute,
		Models:       modelChains,
		Turns:        cfg.Routing.Turns,
		TurnDecay:    cfg.Routing.TurnDecay,
		Margin:       cfg.Routing.Margin,
	}
	if st := cfg.Routing.Sticky; st.Enabled {
		// Each runtime starts with no sessions: a reload may have changed
		// the routes, and a forgotten conversation is only routed afresh.
		so := router.SessionOptions{TTL: st.TTL, Max: st.MaxSessions}
		if e.Shared != nil {
			so.Shared = e.Shared
		}
		opts.Sessions = router.NewSessions(so)
		opts.StickyMargin = st.Margin
	}
	if cat != nil {
		same.discover = cat
	}
	opts.Direct = (&directChains{
		reg: reg, provs: provs, pcfg: pcfg, retries: cfg.Routing.MaxRetries,
		fallback: providers.Fallback(cfg.Routing.Fallback), same: same,
		chains: map[providers.HealthKey]*providers.Chain{},
	}).chain
	if cat != nil {
		opts.Discover = cat.Chain
		// The catalog builds its targets' breakers lazily, after this
		// build: keep what was learnt about the discovering providers'
		// models over the reload, as for configured targets.
		for _, ts := range reg.Status(time.Now()) {
			if pcfg[ts.Provider].Discover {
				live[providers.HealthKey{Provider: ts.Provider, Model: ts.Model}] = true
			}
		}
	}
	jdg := BuildJudge(cfg, chainOf, e.Shared)
	if jdg != nil {
		opts.Judge = jdg
		opts.JudgeWhen = router.JudgeWhen{Always: cfg.Judge.When.Always, BelowThreshold: cfg.Judge.When.BelowThreshold, Margin: cfg.Judge.When.Margin, Candidates: cfg.Judge.Candidates}
	}
	rtr, err := router.New(cls, opts)
	if err != nil {
		return nil, err
	}
	keys, err := buildKeys(cfg, e)
	if err != nil {
		return nil, err
	}
	health.Commit(live)
	stopChecks := startHealthChecks(cfg, provs, reg)
	stop := stopChecks
	if cat != nil {
		cat.Warm()
		stop = func() {
			stopChecks()
			cat.Close()
		}
	}
	var endpoints []proxy.Endpoint
	for _, p := range cfg.Providers {
		ep := proxy.Endpoint{Name: p.Name, Kind: p.Kind, BaseURL: p.BaseURL}
		for _, m := range order {
			if slices.ContainsFunc(served[m], func(t config.Target) bool { return t.Provider == p.Name }) {
				ep.Models = append(ep.Models, m)
			}
		}
		endpoints = append(endpoints, ep)
	}
	return &Runtime{
		Proxy: &proxy.Runtime{Router: rtr, MaxBody: cfg.Server.MaxBodyBytes, Models: infos, Health: reg, Discovery: cat, Endpoints: endpoints,
			ReadTimeout: cfg.Server.ReadTimeout, WriteTimeout: cfg.Server.WriteTimeout, Prices: Prices(cfg)},
		keys:     keys,
		Router:   rtr,
		Embedder: emb,
		Judge:    jdg,
		Grounded: grounded,
		stop:     stop,
	}, nil
}

// buildKeys returns the client keys cfg accepts. A key whose key_env
// variable is unset is left out (config.Warnings says so); no keys at all
// (and none created at run time) leave the API open.
func buildKeys(cfg *config.Config, e Env) ([]auth.Key, error) {
	var keys []auth.Key
	for _, c := range cfg.APIKeys {
		k := auth.Key{
			Name: c.Name, Roles: c.Roles, Enabled: !c.Disabled, Models: c.Models,
			RequestsPerMinute: c.RequestsPerMinute, TokensPerMinute: c.TokensPerMinute,
			RequestsPerDay: c.RequestsPerDay, TokensPerDay: c.TokensPerDay,
			BudgetDay: c.BudgetDay, BudgetMonth: c.BudgetMonth,
		}
		if len(k.Roles) == 0 {
			k.Roles = []string{auth.RoleUser}
		}
		if c.Expires != "" {
			k.Expires, _ = time.Parse(time.RFC3339, c.Expires) // validated
		}
		if c.KeyEnv != "" {
			secret := e.getenv(c.KeyEnv)
			if secret == "" {
				continue
			}
			k = k.WithHash(auth.Hash(secret))
		} else {
			h, err := auth.ParseHash(c.SHA256)
			if err != nil {
				return nil, fmt.Errorf("api_keys[%s].sha256: %w", c.Name, err)
			}
			k = k.WithHash(h)
		}
		keys = append(keys, k)
	}
	if _, err := auth.NewKeyring(keys); err != nil { // two keys with one secret
		return nil, err
	}
	return keys, nil
}

// BuildJudge returns the configured LLM judge, or nil when there is none.
// Its chain has one target, with the health registry's circuit breaker
// like any other, and no retries: a judge that fails once has cost its
// request enough, and the embedding decision stands.
func BuildJudge(cfg *config.Config, chainOf func(string, []config.Target) *providers.Chain, sh *shared.Store) *judge.Judge {
	jc := cfg.Judge
	if jc.Provider == "" {
		return nil
	}
	chain := chainOf("judge", []config.Target{{Provider: jc.Provider, Model: jc.Model}})
	chain.Retries = 0
	size := jc.CacheSize
	if size == 0 {
		size = -1 // config's 0 turns the cache off; judge's 0 is its default
	}
	o := judge.Options{Timeout: jc.Timeout, MaxTokens: jc.MaxTokens, CacheSize: size}
	if sh != nil {
		o.Shared = sh
	}
	return judge.New(chain, jc.Model, o)
}

// buildCatalog returns the catalog of the providers with discover set, or
// nil when none has it. Each runtime gets its own, built from its
// providers (a reload may change their URL or key) and warmed in the
// background as it is built; the Registry, kept across reloads, carries
// the discovered targets' circuit breakers over.
func buildCatalog(cfg *config.Config, provs map[string]providers.Provider, reg *providers.Registry) (*providers.Catalog, error) {
	var srcs []providers.Source
	for _, p := range cfg.Providers {
		if !p.Discover {
			continue
		}
		l, ok := provs[p.Name].(providers.Lister)
		if !ok {
			return nil, fmt.Errorf("providers[%s]: discover: a %s provider cannot list its models", p.Name, p.Kind)
		}
		srcs = append(srcs, providers.Source{
			Name:             p.Name,
			Provider:         provs[p.Name],
			Lister:           l,
			Health:           providers.HealthPolicy{MaxFailures: p.MaxFailures, RecoveryInterval: p.RecoveryInterval},
			FirstByteTimeout: p.FirstByteTimeout,
			IdleTimeout:      p.StreamIdleTimeout,
		})
	}
	if len(srcs) == 0 {
		return nil, nil
	}
	return providers.NewCatalog(srcs, reg, providers.CatalogOptions{TTL: cfg.Routing.DiscoveryTTL, Retries: cfg.Routing.MaxRetries}), nil
}

// startHealthChecks runs, for every provider with a health_check_period
// that can list its models, a loop that lists them that often: a failure
// opens the circuit of every model of the provider, and the next success
// closes what the failure opened. It returns the function that stops
// them all.
func startHealthChecks(cfg *config.Config, provs map[string]providers.Provider, reg *providers.Registry) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range cfg.Providers {
		l, ok := provs[p.Name].(providers.Lister)
		if p.HealthCheckPeriod <= 0 || !ok {
			continue
		}
		wg.Go(func() {
			t := time.NewTicker(p.HealthCheckPeriod)
			defer t.Stop()
			down := false
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				cctx, ccancel := context.WithTimeout(ctx, min(p.HealthCheckPeriod, 10*time.Second))
				_, err := l.ListModels(cctx)
				ccancel()
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					reg.TripProvider(time.Now(), p.Name, fmt.Errorf("health check: %w", err))
					down = true
				case down:
					reg.RecoverProvider(p.Name)
					down = false
				}
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// classifierOptions carries the routing section's scoring knobs to the
// classifier, with agg as the aggregation.
func classifierOptions(r config.Routing, agg string) classifier.Options {
	return classifier.Options{TopK: r.TopK, Aggregation: agg, Shrinkage: r.Shrinkage, WholeConditions: r.WholeConditions, Segments: r.Segments}
}
