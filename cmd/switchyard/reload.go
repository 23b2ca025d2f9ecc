package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/convlog"
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

// reloader owns the configuration in force. It builds the first runtime,
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
// reloader implements proxy.Control and is safe for concurrent use.
type reloader struct {
	path   string
	flags  *pflag.FlagSet // the command line's, applied on every load; may be nil
	env    env
	models string
	log    zerolog.Logger
	hc     *http.Client // upstream client for runtimes that reuse the embedder

	srv *proxy.Server // set by serve before the first reload can run

	reloadMu sync.Mutex // held for a whole reload: one at a time

	mu       sync.Mutex // guards the fields below; never held while building
	cur      *serving
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
	// nil when the store is off. Set by serve before start.
	usage      *usage.Writer
	usageStore *usage.SQLite
	// keys are the client keys in force, the config's and the key
	// store's; set by serve before start.
	keys *auth.Live
	// conversations is the conversation log; nil when off. Turning it on
	// or off takes a restart.
	conversations *convlog.Log
}

// attach gives a runtime what outlives reloads: the limiter, the usage
// writer, and the admin endpoints' view of the store.
func (r *reloader) attach(s *serving, cfg *config.Config) {
	s.proxy.Keys = r.keys
	s.proxy.Admin = r.admin(cfg)
	s.proxy.Limits = r.limits
	if r.usage != nil {
		s.proxy.Usage = r.usage
	}
	if r.conversations != nil {
		s.proxy.Conversations = r.conversations
	}
	if s.proxy.Admin != nil && r.usageStore != nil {
		s.proxy.Admin.Usage = r.usageStore
	}
}

var _ proxy.Control = (*reloader)(nil)

func newReloader(path string, flags *pflag.FlagSet, e env, models string, log zerolog.Logger) *reloader {
	r := &reloader{path: path, flags: flags, env: e, models: models, log: log, hc: upstreamClient(), health: providers.NewRegistry(), limits: auth.NewLimiter()}
	r.health.OnChange = r.logCircuit
	r.retireCtx, r.stopRetiring = context.WithCancel(context.Background())
	return r
}

// logCircuit logs a target's circuit opening (a warning, with a hint when
// the upstream refused the key) or closing again.
func (r *reloader) logCircuit(k providers.HealthKey, from, to string, reason error) {
	if to == providers.CircuitClosed {
		r.log.Info().Str("target", k.String()).Str("from", from).Msg("circuit closed: target serving again")
		return
	}
	ev := r.log.Warn().Str("target", k.String()).Str("from", from).Str("to", to)
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
func (r *reloader) start(ctx context.Context, cfg *config.Config) (*serving, error) {
	rt, err := buildRuntime(ctx, cfg, r.env, r.models, r.health)
	if err != nil {
		return nil, err
	}
	r.attach(rt, cfg)
	if err := r.applyKeys(ctx, rt); err != nil {
		return nil, err
	}
	r.logKeys(rt)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur, r.cfg, r.embKey = rt, cfg, r.embedderKey(cfg)
	r.gen, r.loadedAt = 1, time.Now()
	return rt, nil
}

// run reloads on every trigger until ctx is done: a change to the config
// file, or a signal on hup (SIGHUP; tests may send on it directly).
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		config.Watch(ctx, r.path, func() {
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
			r.reload(ctx, triggerFile)
		case <-hup:
			r.reload(ctx, triggerSignal)
		}
	}
}

// Reload implements proxy.Control for POST /admin/reload.
func (r *reloader) Reload(ctx context.Context) (proxy.ReloadResult, error) {
	return r.reload(ctx, triggerAdmin)
}

// Status implements proxy.Control for GET /admin/status.
func (r *reloader) Status() proxy.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := proxy.Status{
		ConfigPath: r.path,
		LoadedAt:   r.loadedAt,
		Generation: r.gen,
		Routes:     []string{},
	}
	if r.last != nil {
		last := *r.last
		st.LastReload = &last
	}
	if r.cur != nil {
		st.Routes = r.cur.router.Routes()
		st.Embedder = r.cur.embed.ID()
		if c, ok := r.cur.embed.(interface{ Stats() (hits, misses uint64) }); ok {
			h, m := c.Stats()
			st.Cache = &proxy.CacheStats{Hits: h, Misses: m}
		}
		if r.cur.judge != nil {
			js := r.cur.judge.Stats()
			st.Judge = &js
		}
	}
	return st
}

// reload loads, builds and swaps in the config file's current content.
// On failure the runtime in force is kept, and the error lists every
// problem.
func (r *reloader) reload(ctx context.Context, trigger string) (proxy.ReloadResult, error) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	start := time.Now()
	res := proxy.ReloadResult{Time: start, Trigger: trigger}
	next, cfg, reused, err := r.build(ctx)
	res.TookMS = float64(time.Since(start).Microseconds()) / 1000
	res.EmbedderReused = reused

	r.mu.Lock()
	if err != nil {
		res.Errors = problems(err)
		res.Generation = r.gen
		r.last = &res
		r.mu.Unlock()
		for _, p := range res.Errors {
			r.log.Error().Str("trigger", trigger).Str("problem", p).Msg("reload: problem")
		}
		r.log.Error().Str("trigger", trigger).Int64("generation", res.Generation).Int("problems", len(res.Errors)).
			Msg("reload failed; the previous configuration keeps serving")
		return res, err
	}
	old, oldCfg := r.cur, r.cfg
	retired := false
	if reused {
		next.close = old.close // the embedder, and so its closer, carried over
	} else if old.close != nil {
		retired = true
	}
	if old.stop != nil {
		old.stop()
	}
	r.gen++
	r.cur, r.cfg, r.embKey, r.loadedAt = next, cfg, r.embedderKey(cfg), time.Now()
	res.OK, res.Generation = true, r.gen
	r.last = &res
	r.mu.Unlock()

	if err := r.applyKeys(ctx, next); err != nil {
		r.log.Error().Err(err).Msg("reload: client keys not changed")
	}
	r.srv.Swap(next.proxy)
	if retired {
		r.retire(old) // after the swap: no request can newly start on old
	}
	r.warnRestartOnly(oldCfg, cfg)
	for _, w := range cfg.Warnings(r.env.getenv) {
		r.log.Warn().Str("trigger", trigger).Msg(w)
	}
	r.log.Info().Str("trigger", trigger).Int64("generation", res.Generation).Strs("routes", next.router.Routes()).
		Str("embedder", next.embed.ID()).Bool("embedder_reused", reused).Float64("took_ms", res.TookMS).
		Msg("reloaded")
	return res, nil
}

// build loads the config file and builds its runtime, reusing the current
// embedder when its section (and key) did not change.
func (r *reloader) build(ctx context.Context) (next *serving, cfg *config.Config, reused bool, err error) {
	cfg, err = config.Load(r.path, r.env.environ, r.flags)
	if err != nil {
		return nil, nil, false, err
	}
	r.mu.Lock()
	cur, curCfg, curKey := r.cur, r.cfg, r.embKey
	r.mu.Unlock()
	_, had := cur.embed.(noEmbedder)
	if cfg.Embedder == curCfg.Embedder && r.embedderKey(cfg) == curKey && had == !needsEmbedder(cfg) {
		next, err = buildRouting(ctx, cfg, r.env, r.hc, cur.embed, r.health)
		reused = true
	} else {
		next, err = buildRuntime(ctx, cfg, r.env, r.models, r.health)
	}
	if err != nil {
		return nil, nil, reused, err
	}
	r.attach(next, cfg)
	return next, cfg, reused, nil
}

// embedderKey is the API key an embedder built from cfg would use.
func (r *reloader) embedderKey(cfg *config.Config) string {
	if cfg.Embedder.APIKeyEnv == "" {
		return ""
	}
	return r.env.getenv(cfg.Embedder.APIKeyEnv)
}

// admin turns on the admin endpoints when cfg names a token variable that
// is set, or has a client key with the admin role (the proxy checks which
// the request carries).
func (r *reloader) admin(cfg *config.Config) *proxy.Admin {
	adminKeys := false
	for _, k := range cfg.APIKeys {
		adminKeys = adminKeys || slices.Contains(k.Roles, auth.RoleAdmin) && !k.Disabled
	}
	name := cfg.Admin.TokenEnv
	tok := ""
	if name != "" {
		if tok = r.env.getenv(name); tok == "" {
			r.log.Warn().Str("token_env", name).Msg("admin token off: the token variable is not set")
		}
	}
	if tok == "" && !adminKeys {
		return nil
	}
	return &proxy.Admin{Token: tok, Control: r}
}

// applyKeys puts the runtime's config keys in force beside the key
// store's.
func (r *reloader) applyKeys(ctx context.Context, s *serving) error {
	if r.keys == nil {
		live, err := auth.NewLive(ctx, s.keys, nil)
		if err != nil {
			return err
		}
		r.keys = live
		s.proxy.Keys = live
		return nil
	}
	return r.keys.SetConfig(ctx, s.keys)
}

// logKeys says at start whether the API needs a key.
func (r *reloader) logKeys(s *serving) {
	if s.proxy.Keys == nil || s.proxy.Keys.Ring().Len() == 0 {
		r.log.Warn().Msg("no client API keys configured: the API is open to anyone who can reach it (api_keys)")
		return
	}
	r.log.Info().Int("keys", s.proxy.Keys.Ring().Len()).Msg("client API keys required on every API request")
}

// warnRestartOnly says which changed settings a reload cannot apply: they
// belong to the listener and the process, not to the runtime.
func (r *reloader) warnRestartOnly(old, cfg *config.Config) {
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
	if old.Log != cfg.Log {
		keys = append(keys, "log")
	}
	if len(keys) > 0 {
		r.log.Warn().Strs("keys", keys).Msg("reload: these settings take effect on restart")
	}
}

// close releases the runtime in force and every replaced embedder. Call it
// once the server has drained.
func (r *reloader) close() error {
	r.stopRetiring()
	r.retiring.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.retireErrs
	r.retireErrs = nil
	if r.cur != nil && r.cur.stop != nil {
		r.cur.stop()
		r.cur.stop = nil
	}
	if r.cur != nil && r.cur.close != nil {
		errs = append(errs, r.cur.close())
	}
	return errors.Join(errs...)
}

// retire closes old's embedder once no request serves on old any more.
// Call it after old's runtime was swapped out of the server.
func (r *reloader) retire(old *serving) {
	closeEmbedder, rt := old.close, old.proxy
	r.retiring.Go(func() {
		rt.Drained(r.retireCtx) // ends early at exit: the server has drained then
		err := closeEmbedder()
		r.mu.Lock()
		if err != nil {
			r.retireErrs = append(r.retireErrs, err)
		}
		r.mu.Unlock()
		r.log.Debug().Msg("replaced embedder closed: its last request is done")
	})
}

// problems lists an error's problems: config.Load joins every problem it
// finds, so the first joined error in the chain is the list.
func problems(err error) []string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			var out []string
			for _, p := range j.Unwrap() {
				out = append(out, problems(p)...)
			}
			return out
		}
	}
	return []string{err.Error()}
}
