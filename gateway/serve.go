package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/console"
	"github.com/switchyard-router/switchyard/heapfloor"
	"github.com/switchyard-router/switchyard/metrics"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/tracing"
)

// Serve runs the gateway on cfg (loaded and validated from the config
// file) until ctx is done, then drains in-flight requests (streams
// included) for the configured grace period. While it runs, it reloads
// the config when its file changes, on a signal on hup, and on POST
// /admin/reload.
func (g *Gateway) Serve(ctx context.Context, cfg *config.Config, hup <-chan os.Signal) error {
	log := g.log
	start := time.Now()
	// GOGC in the environment is an operator's own choice of policy.
	if g.env.getenv("GOGC") == "" && cfg.Server.MinHeapBytes > 0 {
		floor := heapfloor.Start(cfg.Server.MinHeapBytes)
		defer floor.Stop()
	}
	stopShared, err := g.openShared(ctx, cfg)
	if err != nil {
		return err
	}
	// Runs last: the usage writer and the limiter are done with it.
	defer stopShared()
	store, writer, stopUsage, err := openUsage(ctx, cfg, g.env, log)
	if err != nil {
		return err
	}
	// Runs after g.close, once the server has drained: every request's
	// row is queued by then, and the queue is flushed.
	defer stopUsage()
	g.usage, g.usageStore = writer, store
	if store != nil {
		// Budgets hold across restarts: today's and this month's spend.
		now := time.Now().UTC()
		y, m, d := now.Date()
		day, err1 := store.SpendByKey(ctx, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
		month, err2 := store.SpendByKey(ctx, time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("usage store: read spend: %w", err)
		}
		g.limits.Spent(day, month)
		if g.env.Shared != nil {
			if err := g.env.Shared.Limits().SeedSpend(ctx, now, day, month); err != nil {
				log.Warn().Err(err).Msg("shared state: budgets' spend not seeded")
			}
		}
	}
	conv, stopConv, err := openConvlog(cfg, g.env, log)
	if err != nil {
		return err
	}
	defer stopConv()
	g.conversations = conv
	stopKeys, err := g.openKeys(ctx, store, cfg, log)
	if err != nil {
		return err
	}
	defer stopKeys()
	tc := cfg.Tracing
	headers := map[string]string{}
	for h, name := range tc.HeadersEnv {
		if v := g.env.getenv(name); v != "" {
			headers[h] = v
		}
	}
	stopTracing, err := tracing.Setup(ctx, tracing.Options{Enabled: tc.Enabled, Protocol: tc.Protocol, Endpoint: tc.Endpoint,
		Insecure: tc.Insecure, SampleRatio: tc.SampleRatio, Headers: headers})
	if err != nil {
		return err
	}
	// Runs after the server has drained: the last requests' spans are
	// flushed.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn().Err(err).Msg("tracing: spans not flushed")
		}
	}()
	if tc.Enabled {
		log.Info().Str("protocol", tc.Protocol).Str("endpoint", tc.Endpoint).Float64("sample_ratio", tc.SampleRatio).Msg("tracing on")
	}
	if cfg.Console.Enabled {
		g.feed = console.NewFeed()
	}
	if cfg.Metrics.Enabled {
		g.env.Metrics = metrics.New(g.snapshot)
		g.metricsOwn = cfg.Metrics.Listen != ""
	}
	rt, err := g.start(ctx, cfg)
	if err != nil {
		return err
	}
	// Runs last, once the server has drained: no request can still hold
	// an embedder.
	defer g.close()
	srv := proxy.NewServer(log, rt.Proxy)
	g.srv = srv
	rctx, stopReloads := context.WithCancel(ctx)
	reloads := make(chan struct{})
	go func() {
		defer close(reloads)
		g.run(rctx, hup)
	}()
	// Reloads stop when serve returns, before g.close runs.
	defer func() {
		stopReloads()
		<-reloads
	}()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		// No ReadTimeout or WriteTimeout: they would cut long streams. The
		// proxy bounds the body's read and each write itself
		// (server.read_timeout, server.write_timeout), and the upstream
		// bounds end a stream that brings nothing.
		ErrorLog: nil,
	}
	var ms *http.Server
	if g.metricsOwn {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics.listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", g.env.Metrics.Handler())
		mux.Handle("GET /healthz", srv.Probes())
		mux.Handle("GET /readyz", srv.Probes())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout, IdleTimeout: cfg.Server.IdleTimeout}
		go ms.Serve(mln)
		defer ms.Close()
		log.Info().Str("addr", mln.Addr().String()).Msg("metrics listening")
	}
	log.Info().Str("addr", ln.Addr().String()).Strs("routes", rt.Router.Routes()).
		Str("embedder", rt.Embedder.ID()).Float64("startup_ms", millis(time.Since(start))).Msg("listening")
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Not ready from here on: load balancers stop sending new requests
	// while those in flight finish.
	srv.Drain()
	log.Info().Int64("grace_ms", cfg.Server.ShutdownGrace.Milliseconds()).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("grace period over; closing remaining connections")
		hs.Close()
	}
	<-served
	return nil
}

// millis is d in milliseconds, to the microsecond, for log fields named
// *_ms.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
