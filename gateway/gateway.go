// Package gateway is the serving runtime: it builds what a configuration
// asks for (providers and their chains, the route index, the judge, the
// client keys), serves it through package proxy, reloads it when the
// configuration changes, and holds what outlives a reload (circuit
// breakers, the key limiter, the usage store and its writer, the key
// store, the conversation log). Command switchyard parses flags and calls
// it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/console"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/metrics"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/usage"
)

// What triggered a reload (proxy.ReloadResult.Trigger).
const (
	triggerFile   = "file"
	triggerSignal = "signal"
	triggerAdmin  = "admin"
)

// Gateway owns the configuration in force. It builds the first runtime,
// then reloads on a change to the config file, on SIGHUP and on POST
// /admin/reload, like Caddy: load into a fresh koanf (config.Load) and
// validate, build the new runtime off the request path, swap it into the
// proxy atomically. If any step fails it logs every problem, records them
// for /admin/status, and the old runtime keeps serving. Requests already
// running finish on the runtime they started with (proxy.Server.Swap).
//
// Reloads run one at a time. When the embedder section is unchanged the
// new runtime reuses the current embedder, cache included, so only new
// utterances are embedded (the classifier embeds every utterance through
// the cache; unchanged ones are hits).
//
// A replaced embedder is not closed at once: a request that loaded the old
// runtime may still be embedding with it. The proxy counts the requests
// on each runtime; the old embedder is closed, and its model let go, as
// soon as the old runtime's last request is done (or at exit, after the
// server has drained, whichever comes first).
//
// Gateway implements proxy.Control and is safe for concurrent use.
type Gateway struct {
	path   string
	flags  *pflag.FlagSet // the command line's, applied on every load; may be nil
	env    Env
	models string
	log    zerolog.Logger
	hc     *http.Client // upstream client for runtimes that reuse the embedder

	srv *proxy.Server // set by Serve before the first reload can run

	reloadMu sync.Mutex        // held for a whole reload: one at a time
	saveMu   sync.Mutex        // held while the console saves the config file
	evalMu   sync.Mutex        // held while the console's evaluation runs
	lastEval *proxy.EvalResult // guarded by mu

	mu       sync.Mutex // guards the fields below; never held while building
	cur      *Runtime
	cfg      *config.Config
	embKey   string // the embedder API key cur's embedder was built with
	gen      int64
	loadedAt time.Time
	last     *proxy.ReloadResult

	// retiring closes replaced embedders once their runtime has drained;
	// close cancels the wait (the server has drained by then) and waits
	// for them.
	retiring     sync.WaitGroup
	retireCtx    context.Context
	stopRetiring context.CancelFunc
	retireErrs   []error // guarded by mu

	// health holds every target's circuit breaker across reloads.
	health *providers.Registry
	// limits counts the client keys' requests and tokens across reloads.
	limits *auth.Limiter
	// usage takes a row per request, and usageStore answers /admin/usage;
	// nil when the store is off. Set by Serve before start.
	usage      *usage.Writer
	usageStore *usage.Store
	// keys are the client keys in force, the config's and the key
	// store's; set by Serve before start.
	keys *auth.Live
	// conversations is the conversation log; nil when off. Turning it on
	// or off takes a restart.
	conversations *convlog.Log
	// metricsOwn reports that the metrics (env.Metrics) are served on a
	// listener of their own, not the main one.
	metricsOwn bool
	// feed streams requests to the console's live traffic; nil when the
	// console is off.
	feed *console.Feed
	// replica names this one in circuit news (the shared state is
	// env.Shared); remote holds the targets whose change is another
	// replica's, being applied.
	replica  string
	remoteMu sync.Mutex
	remote   map[providers.HealthKey]bool
}

// attach gives a runtime what outlives reloads: the limiter, the usage
// writer, and the admin endpoints' view of the store.
func (g *Gateway) attach(s *Runtime, cfg *config.Config) {
	s.Proxy.Keys = g.keys
	s.Proxy.Admin = g.admin(cfg)
	s.Proxy.Limits = g.limits
	if g.usage != nil {
		s.Proxy.Usage = g.usage
	}
	if g.conversations != nil {
		s.Proxy.Conversations = g.conversations
	}
	if s.Proxy.Admin != nil && g.usageStore != nil {
		s.Proxy.Admin.Usage = g.usageStore
	}
	if s.Proxy.Admin != nil && g.conversations != nil {
		s.Proxy.Admin.Conversations = g.conversations
	}
	var obs proxy.Observers
	if g.env.Metrics != nil {
		obs = append(obs, g.env.Metrics)
		if !g.metricsOwn {
			s.Proxy.MetricsHandler = g.env.Metrics.Handler()
		}
	}
	if g.feed != nil {
		obs = append(obs, g.feed)
		s.Proxy.Console = console.Handler()
		if s.Proxy.Admin != nil {
			s.Proxy.Admin.Traffic = g.feed
		}
	}
	switch len(obs) {
	case 0:
	case 1:
		s.Proxy.Observer = obs[0]
	default:
		s.Proxy.Observer = obs
	}
	s.Proxy.Ready = g.ready
}

// ready reports whether the stores this replica writes to are reachable
// (GET /readyz); a runtime exists, so the config is loaded and the
// embedder built.
func (g *Gateway) ready(ctx context.Context) error {
	if g.usageStore != nil {
		if err := g.usageStore.DB().PingContext(ctx); err != nil {
			return fmt.Errorf("usage store: %w", err)
		}
	}
	return nil
}

// snapshot is the process state /metrics reports at each scrape.
func (g *Gateway) snapshot() metrics.Snapshot {
	s := metrics.Snapshot{Circuits: g.health.Status(time.Now())}
	if g.usage != nil {
		s.Usage = true
		s.UsageWritten, s.UsageDropped, s.UsageFailed = g.usage.Stats()
	}
	g.mu.Lock()
	cur, gen := g.cur, g.gen
	g.mu.Unlock()
	s.ConfigGeneration = gen
	if g.env.Shared != nil {
		s.SharedState, s.SharedDown = true, !g.env.Shared.Up()
	}
	if cur != nil {
		if c, ok := cur.Embedder.(interface{ Stats() (hits, misses uint64) }); ok {
			s.Cache = true
			s.CacheHits, s.CacheMisses = c.Stats()
		}
	}
	return s
}

var _ proxy.Control = (*Gateway)(nil)

// Options say where a Gateway's configuration comes from.
type Options struct {
	// ConfigPath is the config file, read at start and on every reload.
	ConfigPath string
	// Flags are the command line's, applied over the file on every load;
	// may be nil.
	Flags *pflag.FlagSet
	// ModelsDir is the local embedder's models directory; "" for the
	// default (ModelsRoot).
	ModelsDir string
	Env       Env
	Log       zerolog.Logger
}

// New returns a gateway for o; Serve runs it.
func New(o Options) *Gateway {
	g := &Gateway{path: o.ConfigPath, flags: o.Flags, env: o.Env, models: o.ModelsDir, log: o.Log, hc: UpstreamClient(),
		health: providers.NewRegistry(), limits: auth.NewLimiter(), remote: map[providers.HealthKey]bool{}}
	if g.env.Log == nil {
		g.env.Log = &g.log
	}
	g.health.OnChange = g.logCircuit
	g.retireCtx, g.stopRetiring = context.WithCancel(context.Background())
	return g
}

// logCircuit logs a target's circuit opening (a warning, with a hint when
// the upstream refused the key) or closing again.
func (g *Gateway) logCircuit(k providers.HealthKey, from, to string, reason error) {
	g.announce(k, to, reason)
	if to == providers.CircuitClosed {
		g.log.Info().Str("target", k.String()).Str("from", from).Msg("circuit closed: target serving again")
		return
	}
	ev := g.log.Warn().Str("target", k.String()).Str("from", from).Str("to", to)
	if reason != nil {
		ev = ev.Str("error", reason.Error())
	}
	var pe *providers.Error
	if errors.As(reason, &pe) && (pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden) {
		ev.Msgf("circuit open: provider %q refused switchyard's API key (%d); check its api_key_env. Not retried until the recovery interval has passed", k.Provider, pe.Status)
		return
	}
	ev.Msg("circuit open: target skipped until the recovery interval has passed")
}

// start builds the first runtime from cfg (already loaded and validated).
func (g *Gateway) start(ctx context.Context, cfg *config.Config) (*Runtime, error) {
	rt, err := Build(ctx, cfg, g.env, g.models, g.health)
	if err != nil {
		return nil, err
	}
	g.attach(rt, cfg)
	if err := g.applyKeys(ctx, rt); err != nil {
		return nil, err
	}
	g.logKeys(rt)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur, g.cfg, g.embKey = rt, cfg, g.embedderKey(cfg)
	g.gen, g.loadedAt = 1, time.Now()
	return rt, nil
}

// run reloads on every trigger until ctx is done: a change to the config
// file, or a signal on hup (SIGHUP; tests may send on it directly).
func (g *Gateway) run(ctx context.Context, hup <-chan os.Signal) {
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		config.Watch(ctx, g.path, func() {
			select {
			case changed <- struct{}{}:
			default: // a reload is already pending; it will read the latest file
			}
		})
	})
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			g.reload(ctx, triggerFile)
		case <-hup:
			g.reload(ctx, triggerSignal)
		}
	}
}

// Reload implements proxy.Control for POST /admin/reload.
func (g *Gateway) Reload(ctx context.Context) (proxy.ReloadResult, error) {
	return g.reload(ctx, triggerAdmin)
}

// Status implements proxy.Control for GET /admin/status.
func (g *Gateway) Status() proxy.Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := proxy.Status{
		ConfigPath: g.path,
		LoadedAt:   g.loadedAt,
		Generation: g.gen,
		Routes:     []string{},
	}
	if g.last != nil {
		last := *g.last
		st.LastReload = &last
	}
	if g.cur != nil {
		g.cur.Describe(&st)
	}
	if g.env.Shared != nil {
		st.SharedState = &proxy.SharedState{Redis: g.env.Shared.Where(), Up: g.env.Shared.Up()}
	}
	return st
}

// reload loads, builds and swaps in the config file's current content.
// On failure the runtime in force is kept, and the error lists every
// problem.
func (g *Gateway) reload(ctx context.Context, trigger string) (proxy.ReloadResult, error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	start := time.Now()
	res := proxy.ReloadResult{Time: start, Trigger: trigger}
	next, cfg, reused, err := g.build(ctx)
	res.TookMS = float64(time.Since(start).Microseconds()) / 1000
	res.EmbedderReused = reused
	if g.env.Metrics != nil {
		g.env.Metrics.Reloaded(trigger, err == nil)
	}

	g.mu.Lock()
	if err != nil {
		res.Errors = config.Problems(err)
		res.Generation = g.gen
		g.last = &res
		g.mu.Unlock()
		for _, p := range res.Errors {
			g.log.Error().Str("trigger", trigger).Str("problem", p).Msg("reload: problem")
		}
		g.log.Error().Str("trigger", trigger).Int64("generation", res.Generation).Int("problems", len(res.Errors)).
			Msg("reload failed; the previous configuration keeps serving")
		return res, err
	}
	old, oldCfg := g.cur, g.cfg
	retired := false
	if reused {
		next.close = old.close // the embedder, and so its closer, carried over
	} else if old.close != nil {
		retired = true
	}
	if old.stop != nil {
		old.stop()
	}
	g.gen++
	g.cur, g.cfg, g.embKey, g.loadedAt = next, cfg, g.embedderKey(cfg), time.Now()
	res.OK, res.Generation = true, g.gen
	g.last = &res
	g.mu.Unlock()

	if err := g.applyKeys(ctx, next); err != nil {
		g.log.Error().Err(err).Msg("reload: client keys not changed")
	}
	g.srv.Swap(next.Proxy)
	if retired {
		g.retire(old) // after the swap: no request can newly start on old
	}
	g.warnRestartOnly(oldCfg, cfg)
	for _, w := range cfg.Warnings(g.env.getenv) {
		g.log.Warn().Str("trigger", trigger).Msg(w)
	}
	g.log.Info().Str("trigger", trigger).Int64("generation", res.Generation).Strs("routes", next.Router.Routes()).
		Str("embedder", next.Embedder.ID()).Bool("embedder_reused", reused).Float64("took_ms", res.TookMS).
		Msg("reloaded")
	return res, nil
}

// build loads the config file and builds its runtime, reusing the current
// embedder when its section (and key) did not change.
func (g *Gateway) build(ctx context.Context) (next *Runtime, cfg *config.Config, reused bool, err error) {
	cfg, err = config.Load(g.path, g.env.environ, g.flags)
	if err != nil {
		return nil, nil, false, err
	}
	g.mu.Lock()
	cur, curCfg, curKey := g.cur, g.cfg, g.embKey
	g.mu.Unlock()
	_, had := cur.Embedder.(noEmbedder)
	if cfg.Embedder == curCfg.Embedder && g.embedderKey(cfg) == curKey && had == !NeedsEmbedder(cfg) {
		next, err = BuildRouting(ctx, cfg, g.env, g.hc, cur.Embedder, g.health)
		reused = true
	} else {
		next, err = Build(ctx, cfg, g.env, g.models, g.health)
	}
	if err != nil {
		return nil, nil, reused, err
	}
	g.attach(next, cfg)
	return next, cfg, reused, nil
}

// embedderKey is the API key an embedder built from cfg would use.
func (g *Gateway) embedderKey(cfg *config.Config) string {
	if cfg.Embedder.APIKeyEnv == "" {
		return ""
	}
	return g.env.getenv(cfg.Embedder.APIKeyEnv)
}

// admin turns on the admin endpoints when cfg names a token variable that
// is set, or has a client key with the admin role (the proxy checks which
// the request carries).
func (g *Gateway) admin(cfg *config.Config) *proxy.Admin {
	adminKeys := false
	for _, k := range cfg.APIKeys {
		adminKeys = adminKeys || slices.Contains(k.Roles, auth.RoleAdmin) && !k.Disabled
	}
	name := cfg.Admin.TokenEnv
	tok := ""
	if name != "" {
		// The default variable unset is the usual case, not worth a
		// warning; a variable the config names is.
		if tok = g.env.getenv(name); tok == "" && name != config.DefaultAdminTokenEnv {
			g.log.Warn().Str("token_env", name).Msg("admin token off: the token variable is not set")
		}
	}
	if tok == "" && !adminKeys {
		return nil
	}
	return &proxy.Admin{Token: tok, Control: g}
}

// applyKeys puts the runtime's config keys in force beside the key
// store's.
func (g *Gateway) applyKeys(ctx context.Context, s *Runtime) error {
	if g.keys == nil {
		live, err := auth.NewLive(ctx, s.keys, nil)
		if err != nil {
			return err
		}
		g.keys = live
		s.Proxy.Keys = live
		return nil
	}
	return g.keys.SetConfig(ctx, s.keys)
}

// logKeys says at start whether the API needs a key.
func (g *Gateway) logKeys(s *Runtime) {
	if s.Proxy.Keys == nil || s.Proxy.Keys.Ring().Len() == 0 {
		g.log.Warn().Msg("no client API keys configured: the API is open to anyone who can reach it (api_keys)")
		return
	}
	g.log.Info().Int("keys", s.Proxy.Keys.Ring().Len()).Msg("client API keys required on every API request")
}

// warnRestartOnly says which changed settings a reload cannot apply: they
// belong to the listener and the process, not to the runtime.
func (g *Gateway) warnRestartOnly(old, cfg *config.Config) {
	var keys []string
	if old.Listen != cfg.Listen {
		keys = append(keys, "listen")
	}
	if old.Server.ReadHeaderTimeout != cfg.Server.ReadHeaderTimeout {
		keys = append(keys, "server.read_header_timeout")
	}
	if old.Server.IdleTimeout != cfg.Server.IdleTimeout {
		keys = append(keys, "server.idle_timeout")
	}
	if old.Server.ShutdownGrace != cfg.Server.ShutdownGrace {
		keys = append(keys, "server.shutdown_grace")
	}
	if old.ConversationLog != cfg.ConversationLog {
		keys = append(keys, "conversation_log")
	}
	if old.Usage != cfg.Usage {
		keys = append(keys, "usage")
	}
	if old.Console != cfg.Console {
		keys = append(keys, "console")
	}
	if old.Metrics != cfg.Metrics {
		keys = append(keys, "metrics")
	}
	if !reflect.DeepEqual(old.Tracing, cfg.Tracing) {
		keys = append(keys, "tracing")
	}
	if old.Log != cfg.Log {
		keys = append(keys, "log")
	}
	if len(keys) > 0 {
		g.log.Warn().Strs("keys", keys).Msg("reload: these settings take effect on restart")
	}
}

// close releases the runtime in force and every replaced embedder. Call it
// once the server has drained.
func (g *Gateway) close() error {
	g.stopRetiring()
	g.retiring.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	errs := g.retireErrs
	g.retireErrs = nil
	if g.cur != nil && g.cur.stop != nil {
		g.cur.stop()
		g.cur.stop = nil
	}
	if g.cur != nil && g.cur.close != nil {
		errs = append(errs, g.cur.close())
	}
	return errors.Join(errs...)
}

// retire closes old's embedder once no request serves on old any more.
// Call it after old's runtime was swapped out of the server.
func (g *Gateway) retire(old *Runtime) {
	closeEmbedder, rt := old.close, old.Proxy
	g.retiring.Go(func() {
		rt.Drained(g.retireCtx) // ends early at exit: the server has drained then
		err := closeEmbedder()
		g.mu.Lock()
		if err != nil {
			g.retireErrs = append(g.retireErrs, err)
		}
		g.mu.Unlock()
		g.log.Debug().Msg("replaced embedder closed: its last request is done")
	})
}
