package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/daemon"
	"github.com/switchyard-router/switchyard/workspace"
)

// stopMargin is added to server.shutdown_grace for how long stop waits
// for the server to exit.
const stopMargin = 10 * time.Second

// daemonFiles are the background server's files in e's workspace.
func daemonFiles(e env) (daemon.Files, error) {
	l := workspace.Resolve(e.getenv)
	var f daemon.Files
	var err error
	if f.PID, err = l.PIDFile(); err != nil {
		return f, err
	}
	if f.Record, err = l.RecordFile(); err != nil {
		return f, err
	}
	f.Log, err = l.LogFile()
	return f, err
}

// isSwitchyard reports whether argv is a switchyard serving: the
// program's name contains "switchyard" and its first argument is serve.
func isSwitchyard(argv []string) bool {
	return len(argv) > 1 && strings.Contains(filepath.Base(argv[0]), "switchyard") && argv[1] == "serve"
}

// startFlags are start's (and restart's) flags: serve's, and the wait.
type startFlags struct {
	cf     configFlags
	listen string
	wait   time.Duration
}

func (s *startFlags) register(cmd *cobra.Command) {
	s.cf.register(cmd)
	cmd.Flags().StringVar(&s.listen, "listen", "", "address to listen on (overrides the config's listen)")
	cmd.Flags().DurationVar(&s.wait, "wait", 60*time.Second, "how long to wait for the server to answer GET /healthz")
}

func startCmd(e env) *cobra.Command {
	var sf startFlags
	cmd := &cobra.Command{
		Use:   "start [--config F] [--listen A] [--wait D]",
		Short: "Run the router in the background (pid file and log in the state directory)",
		Long: "start runs `switchyard serve` in the background, detached from the terminal,\n" +
			"with its output appended to a log file, and waits until it answers GET /healthz.\n" +
			"The pid file, the log and a record of the server are kept in\n" +
			"$XDG_STATE_HOME/switchyard (~/.local/state/switchyard), or in the workspace.\n" +
			"It refuses to start a second server; a pid file left by a crash is replaced.\n" +
			"If the server exits or does not answer within --wait, start prints the end of\n" +
			"its log and fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return startServer(cmd, e, &sf) },
	}
	sf.register(cmd)
	return cmd
}

func startServer(cmd *cobra.Command, e env, sf *startFlags) error {
	f, err := daemonFiles(e)
	if err != nil {
		return err
	}
	if rec, _, err := daemon.Find(f, isSwitchyard); err == nil {
		return fmt.Errorf("switchyard is already running (pid %d, %s); stop it first, or use restart", rec.PID, orDash(rec.URL))
	}
	path, from, err := sf.cf.resolveFrom(e)
	if err != nil {
		return err
	}
	if err := firstRun(e, path, from); err != nil {
		return err
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	explicit := sf.cf.path != ""
	sf.cf.path = path
	cfg, _, err := sf.cf.load(cmd, e)
	if err != nil {
		return err
	}
	if _, port, err := net.SplitHostPort(cfg.Listen); err == nil && port == "0" {
		return fmt.Errorf("start needs a fixed port to find the server at, and listen is %s: set listen or --listen", cfg.Listen)
	}
	url := "http://" + dialable(cfg.Listen)
	if healthz(cmd.Context(), url) == nil {
		return fmt.Errorf("something already answers at %s (a switchyard started another way?); stop it, or start with another --listen", url)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	// The server resolves the config as start did (same environment,
	// same directory), so that its log says what chose the file; only a
	// --config given here is passed on, made absolute.
	args := []string{"serve"}
	if explicit {
		args = append(args, "--config", path)
	}
	if sf.cf.models != "" {
		m, err := filepath.Abs(sf.cf.models)
		if err != nil {
			return err
		}
		args = append(args, "--models", m)
	}
	if sf.listen != "" {
		args = append(args, "--listen", sf.listen)
	}
	rec, err := daemon.Start(cmd.Context(), f, daemon.Spec{
		Path:   exe,
		Args:   args,
		Env:    e.environ(),
		Match:  isSwitchyard,
		Ready:  func(ctx context.Context) error { return healthz(ctx, url) },
		Wait:   sf.wait,
		Record: daemon.Record{URL: url, Log: f.Log, Config: path},
	})
	var running *daemon.RunningError
	if errors.As(err, &running) {
		return fmt.Errorf("switchyard is already running (pid %d); stop it first, or use restart", running.PID)
	}
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintf(e.stdout, "switchyard started: %s (pid %d)\nlog:    %s\nconfig: %s (chosen by %s)\n", rec.URL, rec.PID, rec.Log, rec.Config, from)
	return nil
}

func stopCmd(e env) *cobra.Command {
	var force bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "stop [--force] [--wait D]",
		Short: "Stop the router that start runs in the background",
		Long: "stop sends SIGTERM to the background server and waits for it to exit (its\n" +
			"in-flight requests drain for up to server.shutdown_grace; stop waits that long\n" +
			"plus 10 s, or --wait). With --force it then sends SIGKILL. With no server\n" +
			"running it says so and exits 0, as MAS's `mas stop` does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return stopServer(cmd.Context(), e, wait, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "send SIGKILL if the server has not exited in time")
	cmd.Flags().DurationVar(&wait, "wait", 0, "how long to wait for the server to exit (default server.shutdown_grace + 10s)")
	return cmd
}

func stopServer(ctx context.Context, e env, wait time.Duration, force bool) error {
	f, err := daemonFiles(e)
	if err != nil {
		return err
	}
	if wait <= 0 {
		wait = config.Default().Server.ShutdownGrace + stopMargin
		if rec, _, err := daemon.Find(f, isSwitchyard); err == nil && rec.Config != "" {
			if cfg, err := config.Load(rec.Config, e.environ, nil); err == nil {
				wait = cfg.Server.ShutdownGrace + stopMargin
			}
		}
	}
	rec, err := daemon.Stop(ctx, f, isSwitchyard, wait, force)
	if errors.Is(err, daemon.ErrNotRunning) {
		fmt.Fprintf(e.stdout, "switchyard is not running (no live pid in %s)\n", f.PID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintf(e.stdout, "switchyard stopped (pid %d)\n", rec.PID)
	return nil
}

func restartCmd(e env) *cobra.Command {
	var sf startFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "restart [start's flags] [--force]",
		Short: "Stop the background router if it runs, then start it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := stopServer(cmd.Context(), e, 0, force); err != nil {
				return err
			}
			return startServer(cmd, e, &sf)
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "SIGKILL the old server if it has not exited in time")
	return cmd
}

// serverCmd is Router-Maestro's spelling: server start|stop|restart|status|info.
func serverCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "start, stop, restart, status, info (Router-Maestro's names for the same commands)",
	}
	info := statusCmd(e)
	info.Use = "info"
	cmd.AddCommand(startCmd(e), stopCmd(e), restartCmd(e), statusCmd(e), info)
	return cmd
}

func healthCmd(e env) *cobra.Command {
	var cf configFlags
	var url string
	cmd := &cobra.Command{
		Use:   "health [--url U]",
		Short: "Exit 0 if the server answers GET /healthz (for container health checks)",
		Long: "health asks GET /healthz of the server at --url (default http:// + the\n" +
			"config's listen, else " + defaultStatusURL + ") and exits 0 when it answers\n" +
			"200, 1 otherwise. It needs no shell or curl, so a distroless image can\n" +
			"use it as its HEALTHCHECK.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = defaultStatusURL
				cfg, err := statusConfig(cmd, e, &cf)
				if err != nil {
					return err
				}
				if cfg != nil {
					url = "http://" + dialable(cfg.Listen)
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			if err := healthz(ctx, strings.TrimRight(url, "/")); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "ok")
			return nil
		},
	}
	cmd.Flags().StringVar(&cf.path, "config", "", "config file to take the listen address from")
	cmd.Flags().StringVar(&url, "url", "", "the server's base URL")
	return cmd
}

// healthz is nil when url answers GET /healthz with 200.
func healthz(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("%s/healthz: %w", url, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz: %s", url, res.Status)
	}
	return nil
}
