package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/convlog"
	"github.com/switchyard-router/switchyard/statedb"
	"github.com/switchyard-router/switchyard/usage"
	"github.com/switchyard-router/switchyard/workspace"
)

// UsagePath is the store's file for cfg: usage.path, else the
// workspace's (workspace.Layout.UsageDB).
func UsagePath(cfg *config.Config, getenv func(string) string) (string, error) {
	if cfg.Usage.Path != "" {
		return cfg.Usage.Path, nil
	}
	p, err := workspace.Resolve(getenv).UsageDB()
	if err != nil {
		return "", fmt.Errorf("usage store: %w; or set usage.path", err)
	}
	return p, nil
}

// errNoHome reports a SQLite store with no place to be kept.
type errNoHome struct{ error }

// OpenUsage opens the usage store cfg configures: the SQLite file
// (UsagePath), or the PostgreSQL database whose URL is in the variable
// usage.postgres_url_env names.
func OpenUsage(ctx context.Context, cfg *config.Config, getenv func(string) string) (*usage.Store, error) {
	var (
		db  *statedb.DB
		err error
	)
	switch cfg.Usage.Store {
	case config.UsagePostgres:
		name := cfg.Usage.PostgresURLEnv
		url := getenv(name)
		if url == "" {
			return nil, fmt.Errorf("usage.store postgres: %s is unset or empty; set it to the database's URL (postgres://user:password@host/db)", name)
		}
		if db, err = statedb.OpenPostgres(ctx, url); err != nil {
			return nil, fmt.Errorf("usage store: %w", err)
		}
	default:
		path, err := UsagePath(cfg, getenv)
		if err != nil {
			return nil, errNoHome{err}
		}
		if db, err = statedb.OpenSQLite(ctx, path); err != nil {
			return nil, fmt.Errorf("usage store: %w", err)
		}
	}
	store, err := usage.Open(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return store, nil
}

// openUsage opens the usage store and starts its writer and retention,
// or returns nils when the store is off (usage.enabled: false, or no
// place to keep it, which is logged). stop flushes the queue and closes
// the store; call it after the server has drained.
func openUsage(ctx context.Context, cfg *config.Config, e Env, log zerolog.Logger) (*usage.Store, *usage.Writer, func(), error) {
	if !cfg.Usage.Enabled {
		log.Info().Msg("usage store off (usage.enabled: false)")
		return nil, nil, func() {}, nil
	}
	store, err := OpenUsage(ctx, cfg, e.getenv)
	var noHome errNoHome
	if errors.As(err, &noHome) {
		log.Warn().Err(err).Msg("usage store off")
		return nil, nil, func() {}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	w := usage.NewWriter(store, usage.WriterOptions{Queue: cfg.Usage.Queue, OnError: func(err error) {
		log.Error().Err(err).Msg("usage store: rows lost")
	}})
	pctx, stopPrune := context.WithCancel(context.Background())
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		prune := func() {
			if cfg.Usage.Retention <= 0 {
				return
			}
			if n, err := store.Prune(pctx, time.Now().Add(-cfg.Usage.Retention)); err != nil && pctx.Err() == nil {
				log.Warn().Err(err).Msg("usage store: prune failed")
			} else if n > 0 {
				log.Info().Int64("rows", n).Stringer("retention", cfg.Usage.Retention).Msg("usage store: old rows deleted")
			}
		}
		prune()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				prune()
			}
		}
	}()
	log.Info().Str("store", store.DB().Dialect.String()).Str("at", store.DB().Where).Msg("usage store open")
	stop := func() {
		stopPrune()
		<-pruned
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(cctx); err != nil {
			log.Warn().Err(err).Msg("usage store: queue not flushed")
		}
		written, dropped, failed := w.Stats()
		log.Info().Uint64("written", written).Uint64("dropped", dropped).Uint64("failed", failed).Msg("usage store closed")
		store.Close()
	}
	return store, w, stop, nil
}

// Prices is the price table for cfg: the shipped list prices, replaced
// model by model by the config's.
func Prices(cfg *config.Config) usage.Prices {
	p := maps.Clone(usage.Prices(usage.DefaultPrices))
	for m, pr := range cfg.Prices {
		p[m] = usage.Price{Input: pr.Input, Output: pr.Output, CachedInput: pr.CachedInput}
	}
	return p
}

// KeyRefresh is how often a server reads the key store, for keys created
// or revoked by `switchyard keys` in another process (changes through
// /admin/keys apply at once).
const KeyRefresh = 5 * time.Second

// openKeys puts the client keys in force for g: the key store in the
// usage store's file (none when the store is off), refreshed every
// KeyRefresh. stop ends the refreshing.
func (g *Gateway) openKeys(ctx context.Context, store *usage.Store, cfg *config.Config, log zerolog.Logger) (stop func(), err error) {
	var ks *auth.Store
	if store != nil {
		if ks, err = auth.NewStore(ctx, store.DB()); err != nil {
			return nil, err
		}
	}
	if cfg.Auth.GenerateKey {
		if err := generateKey(ctx, ks, cfg, g.env, log); err != nil {
			return nil, err
		}
	}
	live, err := auth.NewLive(ctx, nil, ks)
	if err != nil {
		return nil, err
	}
	g.keys = live
	if ks == nil {
		return func() {}, nil
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(KeyRefresh)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := live.Refresh(rctx); err != nil && rctx.Err() == nil {
					log.Warn().Err(err).Msg("keys: the key store could not be read; the keys in force stay")
				}
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// generateKey creates the first admin key when auth.generate_key is set
// and no key exists anywhere, and prints it once (Router-Maestro's habit).
func generateKey(ctx context.Context, ks *auth.Store, cfg *config.Config, e Env, log zerolog.Logger) error {
	if ks == nil {
		log.Warn().Msg("auth.generate_key: no key store (usage.enabled is off), so no key is generated")
		return nil
	}
	if len(cfg.APIKeys) > 0 {
		return nil
	}
	existing, err := ks.List(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	secret, err := ks.Create(ctx, auth.Key{Name: "admin", Roles: []string{auth.RoleAdmin, auth.RoleUser}})
	if err != nil {
		return fmt.Errorf("auth.generate_key: %w", err)
	}
	fmt.Fprintf(e.stderr(), "switchyard: generated admin API key %q (shown this once; only its hash is kept):\n\n    %s\n\n", "admin", secret)
	log.Info().Str("key_name", "admin").Msg("admin key generated (auth.generate_key)")
	return nil
}

// ConvlogPath is the conversation log's file for cfg:
// conversation_log.path, else the workspace's
// (workspace.Layout.ConversationLog).
func ConvlogPath(cfg *config.Config, getenv func(string) string) (string, error) {
	if cfg.ConversationLog.Path != "" {
		return cfg.ConversationLog.Path, nil
	}
	return workspace.Resolve(getenv).ConversationLog()
}

// openConvlog opens the conversation log when cfg turns it on; stop
// writes what is queued and closes it.
func openConvlog(cfg *config.Config, e Env, log zerolog.Logger) (*convlog.Log, func(), error) {
	c := cfg.ConversationLog
	if !c.Enabled {
		return nil, func() {}, nil
	}
	path, err := ConvlogPath(cfg, e.getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("conversation log: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("conversation log: %w", err)
	}
	l, err := convlog.Open(convlog.Options{Path: path, MaxSizeMB: c.MaxSizeMB, MaxBackups: c.MaxBackups, Redact: c.Redact})
	if err != nil {
		return nil, nil, err
	}
	log.Info().Str("path", path).Str("redact", c.Redact).Msg("conversation log on")
	return l, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			log.Warn().Err(err).Msg("conversation log: not all entries written")
		}
		if n := l.Dropped(); n > 0 {
			log.Warn().Uint64("dropped", n).Msg("conversation log: entries dropped (queue full)")
		}
	}, nil
}
