package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/proxy"
)

// configFlags are shared by the commands that read the config.
type configFlags struct {
	path   string
	models string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "config", "", "config file (default $SWITCHYARD_CONFIG, else $XDG_CONFIG_HOME/switchyard/config.yaml)")
	cmd.Flags().StringVar(&f.models, "models", "", "models directory for the local embedder")
}

func (f *configFlags) resolve(e env) (string, error) {
	if f.path != "" {
		return f.path, nil
	}
	return config.DefaultPath(e.getenv)
}

// load reads and validates the config; flags the user set override it.
func (f *configFlags) load(cmd *cobra.Command, e env) (*config.Config, string, error) {
	path, err := f.resolve(e)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path, e.environ, cmd.Flags())
	if err != nil {
		return nil, path, err
	}
	return cfg, path, nil
}

func serveCmd(e env) *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the router (OpenAI-compatible API)",
		Long: "serve routes POST /v1/chat/completions requests that name no model (or\n" +
			"\"auto\") to the best-matching route's provider chain. With no config file\n" +
			"it writes a commented example to the default path and serves that.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := cf.resolve(e)
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				if err := config.WriteExample(path); err != nil {
					return fmt.Errorf("write an example config: %w", err)
				}
				fmt.Fprintf(e.stderr, "switchyard: no config found; wrote a commented example to %s (edit it, then restart)\n", path)
			}
			cfg, _, err := cf.load(cmd, e)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log.Level, cfg.Log.Format, e.stderr)
			for _, w := range cfg.Warnings(e.getenv) {
				log.Warn().Msg(w)
			}
			e.log = &log
			rl := newReloader(path, cmd.Flags(), e, cf.models, log)
			// SIGHUP reloads the config. Registered here, for serve's
			// lifetime only, so that other commands keep the default.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			return serve(cmd.Context(), cfg, rl, hup, log)
		},
	}
	cf.register(cmd)
	cmd.Flags().String("listen", "", "address to listen on (overrides the config's listen)")
	return cmd
}

// serve runs the server until ctx is done, then drains in-flight requests
// (streams included) for the configured grace period. While it runs, rl
// reloads the config when its file changes, on a signal on hup, and on
// POST /admin/reload.
func serve(ctx context.Context, cfg *config.Config, rl *reloader, hup <-chan os.Signal, log zerolog.Logger) error {
	start := time.Now()
	store, writer, stopUsage, err := openUsage(ctx, cfg, rl.env, log)
	if err != nil {
		return err
	}
	// Runs after rl.close, once the server has drained: every request's
	// row is queued by then, and the queue is flushed.
	defer stopUsage()
	rl.usage, rl.usageStore = writer, store
	if store != nil {
		// Budgets hold across restarts: today's and this month's spend.
		now := time.Now().UTC()
		y, m, d := now.Date()
		day, err1 := store.SpendByKey(ctx, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
		month, err2 := store.SpendByKey(ctx, time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("usage store: read spend: %w", err)
		}
		rl.limits.Spent(day, month)
	}
	conv, stopConv, err := openConvlog(cfg, rl.env, log)
	if err != nil {
		return err
	}
	defer stopConv()
	rl.conversations = conv
	stopKeys, err := openKeys(ctx, rl, store, cfg, log)
	if err != nil {
		return err
	}
	defer stopKeys()
	rt, err := rl.start(ctx, cfg)
	if err != nil {
		return err
	}
	// Runs last, once the server has drained: no request can still hold
	// an embedder.
	defer rl.close()
	srv := proxy.NewServer(log, rt.proxy)
	rl.srv = srv
	rctx, stopReloads := context.WithCancel(ctx)
	reloads := make(chan struct{})
	go func() {
		defer close(reloads)
		rl.run(rctx, hup)
	}()
	// Reloads stop when serve returns, before rl.close runs.
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
	log.Info().Str("addr", ln.Addr().String()).Strs("routes", rt.router.Routes()).
		Str("embedder", rt.embed.ID()).Dur("startup", time.Since(start)).Msg("listening")
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info().Dur("grace", cfg.Server.ShutdownGrace).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("grace period over; closing remaining connections")
		hs.Close()
	}
	<-served
	return nil
}

func newLogger(level, format string, w io.Writer) zerolog.Logger {
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
